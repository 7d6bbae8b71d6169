"""The `Store` contract, as one test class any store runs by providing a `store` fixture (the local folder today).

Also the manifest's round trip and its load-time checks, and the one way of opening or building an index.
"""

from __future__ import annotations

import numpy as np
import pytest

import rag
from rag.lexical import analyze
from rag.manifest import ANALYSER, Manifest
from rag.store import Store


class StoreContract:
    """Subclasses provide `store` (a `Store` over the seed article, with vectors) and `seed_text`."""

    def test_is_a_store(self, store):
        assert isinstance(store, Store)

    def test_documents_read_back_their_text(self, store, seed_text):
        document = store.document(0)
        assert store.document_position(document.doc_id) == 0
        assert store.text(0) == seed_text
        assert document.chars == len(seed_text) and document.passages > 0

    def test_passages_are_made_of_their_sentences(self, store):
        for passage_id in range(store.passage_count()):
            row = store.passage(passage_id)
            sentences = [store.sentence(s) for s in range(row.first_sentence, row.last_sentence)]
            assert sentences and sentences[0].start == row.start and sentences[-1].end == row.end
            assert all(s.doc_index == row.doc_index for s in sentences)

    def test_lexical_search_is_best_first_and_agrees_with_scores(self, store):
        terms = analyze(["Which province did Muzammil govern?"])[0]
        ids, scores = store.lexical_search(terms, 5)
        assert len(ids) == 5 and (np.diff(scores) <= 0).all() and (scores > 0).all()
        assert np.allclose(store.lexical_scores(terms, ids.tolist()), scores)
        text = " ".join(store.text(0)[store.passage(i).start:store.passage(i).end] for i in ids[:1])
        assert "Muzammil" in text

    def test_dense_search_gives_cosines_best_first(self, store):
        query = np.random.default_rng(0).normal(size=store.manifest.model.dimension).astype(np.float32)
        query /= np.linalg.norm(query)
        ids, sims = store.dense_search(query, 4)
        assert (np.diff(sims) <= 1e-6).all() and (np.abs(sims) <= 1 + 1e-5).all()
        assert np.allclose(store.dense_similarity(query, ids.tolist()), sims, atol=1e-5)

    def test_manifest_is_typed_and_counts_what_is_stored(self, store):
        manifest = store.manifest
        assert isinstance(manifest, Manifest)
        assert manifest.passages == store.passage_count() and manifest.document_count == 1
        assert manifest.analyser == ANALYSER


class TestLocalStore(StoreContract):
    @pytest.fixture
    def store(self, dense_index):
        return dense_index.store


def test_manifest_round_trips_through_its_dict(dense_index, tmp_path):
    manifest = dense_index.manifest
    again = Manifest.from_dict(manifest.to_dict(), tmp_path)
    assert again.to_dict() == manifest.to_dict()
    assert again.with_decline_threshold(0.3).decline_threshold == 0.3


@pytest.mark.parametrize("damage, error", [
    (lambda d: d.pop("documents"), rag.IndexCorruptError),
    (lambda d: d.update(format_version=99), rag.IndexMismatchError),
    (lambda d: d.update(chunking={}), rag.IndexCorruptError),
])
def test_manifest_refuses_what_it_cannot_read(lexical_index, tmp_path, damage, error):
    data = lexical_index.manifest.to_dict()
    damage(data)
    with pytest.raises(error, match="rag index"):
        Manifest.from_dict(data, tmp_path)


def test_manifest_check_refuses_another_analyser_or_model(dense_index, tmp_path):
    manifest = dense_index.manifest
    with pytest.raises(rag.IndexMismatchError, match="--model other"):
        manifest.check(tmp_path, "/elsewhere/other", named_as="other")
    from dataclasses import replace

    with pytest.raises(rag.IndexMismatchError, match="analyser"):
        replace(manifest, analyser="whitespace-v0").check(tmp_path)
    manifest.check(tmp_path, manifest.model.name)  # the same model is fine


def test_open_index_builds_once_then_opens(tmp_path, seed_docs):
    from rag.api import open_index

    config = rag.Config(index_path=tmp_path / "idx", model=None)
    heard = []
    first = open_index(config, [seed_docs], show_progress=False, notify=heard.append)
    assert len(heard) == 1 and "building it from" in heard[0] and len(first) > 0
    second = open_index(config, [seed_docs], show_progress=False, notify=heard.append)
    assert len(heard) == 1 and len(second) == len(first)
    with pytest.raises(rag.IndexNotFoundError):
        open_index(rag.Config(index_path=tmp_path / "missing", model=None), build_missing=False)


def test_chat_examples_come_from_the_question_set_beside_the_documents(tmp_path, seed_docs, seed_text):
    import json
    import shutil

    from ui.app import example_questions

    docs = tmp_path / "docs"
    shutil.copytree(seed_docs, docs)
    rows = [{"question": "Unanswerable one?", "answers": []},
            {"question": "Who claimed the attack?", "answers": ["ISIS-K"]}]
    (docs / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    assert example_questions(index) == ["Who claimed the attack?"]
    (docs / "questions.jsonl").unlink()
    first_line = seed_text.strip().splitlines()[0].strip("# ").strip()
    assert example_questions(index) == [f"What does the document say about {first_line[:80]}?"]
