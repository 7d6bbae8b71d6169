"""The Milvus store against Milvus Lite: the Store contract, answers equal to the local index's, adding and removing
documents, and the one-line errors for a missing, damaged or mismatched collection and an unreachable server.

Skipped (with the reason) where milvus-lite is not installed; `make test` installs it (the `milvus` extra).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'rag[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install 'rag[milvus]')")

import rag  # noqa: E402
from rag.cli import main  # noqa: E402
from rag.milvus_store import MilvusStore, MilvusTarget, MilvusUnavailableError, passage_key  # noqa: E402
from rag.types import Document  # noqa: E402
from test_store_contract import StoreContract  # noqa: E402

QUESTION = "Which province did Muzammil govern?"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def milvus_file(tmp_path_factory):
    return tmp_path_factory.mktemp("milvus") / "rag.db"


@pytest.fixture(scope="module")
def milvus_index(milvus_file, seed_docs, tiny_model):
    """The seed article in Milvus Lite, with the same tiny model as the local `dense_index`."""
    return rag.Index.build([seed_docs], path=f"milvus:{milvus_file}", model=str(tiny_model), show_progress=False)


class TestMilvusStore(StoreContract):
    @pytest.fixture
    def store(self, milvus_index):
        return milvus_index.store


def test_uri_survives_path_and_names_its_collection(milvus_file):
    from pathlib import Path

    target = MilvusTarget.parse(Path("milvus:http://localhost:19530"), "docs_2")
    assert target.uri == "http://localhost:19530" and target.is_server and target.docs_collection == "docs_2_docs"
    assert MilvusTarget.parse(f"milvus:{milvus_file}").collection == "rag"
    with pytest.raises(rag.RagError, match="collection name"):
        MilvusTarget.parse("milvus:x.db", "no-dashes")


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_answers_equal_the_local_index(milvus_index, dense_index, mode):
    here, there = milvus_index.answer(QUESTION, mode=mode, threshold=0), dense_index.answer(QUESTION, mode=mode,
                                                                                            threshold=0)
    assert [h.passage_id for h in here.hits] == [h.passage_id for h in there.hits]
    assert np.allclose([h.score for h in here.hits], [h.score for h in there.hits], atol=1e-4)
    assert here.text == there.text and here.text is not None


def test_hybrid_answer_cites_a_verified_span(milvus_index, seed_text):
    answer = milvus_index.answer(QUESTION, mode="hybrid", threshold=0)
    citation = answer.citations[0]
    assert citation.quote == seed_text[citation.start:citation.end] == answer.text
    assert citation.doc_id == milvus_index.documents[0].doc_id


def test_decline_threshold_is_stored_in_the_collection(milvus_index, milvus_file):
    milvus_index.set_decline_threshold(0.37)
    again = rag.Index.load(f"milvus:{milvus_file}")
    assert again.decline_threshold == 0.37


def _other_document() -> Document:
    from rag.documents import doc_id_for

    text = ("The Zorblatt glacier lies north of the valley. Its ice moved eleven metres last winter, "
            "surveyors from the mountain institute reported.\n\nThe village below takes water from it.")
    return Document(doc_id_for(text), "extra/zorblatt.txt", text)


def test_documents_are_added_and_removed_in_place(milvus_file, seed_docs, tiny_model):
    index = rag.Index.build([seed_docs], path=f"milvus:{milvus_file}", model=str(tiny_model), show_progress=False,
                            config=rag.Config(collection="changes"))
    store, before = index.store, index.store.passage_count()
    extra = _other_document()
    store.add_documents([extra])
    store.add_documents([extra])  # again: replaced, not doubled (a re-run sync)
    assert store.manifest.document_count == 2 and store.passage_count() > before
    reopened = rag.Index.load(f"milvus:{milvus_file}", config=rag.Config(collection="changes"))
    assert reopened.store.passage_count() == store.passage_count()
    hits = reopened.retrieve("How far did the Zorblatt glacier move?", k=5, mode="lexical")
    # First, and scored with the whole collection's statistics (Milvus Lite alone would score the added document
    # against its own segment: 0.35 instead of 5.03, third; docs/scale-out.md "BM25 in Milvus Lite").
    assert hits[0].doc_id == extra.doc_id and "eleven metres" in hits[0].text
    from rag.lexical import analyze

    terms = analyze(["How far did the Zorblatt glacier move?"])[0]
    assert np.allclose([h.score for h in hits], reopened.store.lexical_scores(terms, [h.passage_id for h in hits]),
                       atol=1e-4)
    vectors = reopened.store.sentence_vectors([reopened.store.passage(store.passage_count() - 1).first_sentence])
    assert vectors is not None and vectors.shape == (1, store.manifest.model.dimension)
    reopened.store.remove_documents([extra.doc_id])
    assert reopened.store.passage_count() == before and reopened.store.manifest.document_count == 1
    ids, _ = reopened.store.lexical_search(["zorblatt"], 5)
    assert len(ids) == 0


def test_keys_come_from_the_document_and_passage_number():
    assert passage_key("fc1bd614ca82a2d6", 3) == passage_key("fc1bd614ca82a2d6", 0) + 3
    assert passage_key("fc1bd614ca82a2d6", 0) != passage_key("0c1bd614ca82a2d6", 0)
    assert 0 < passage_key("ffffffffffffffff", 2**20 - 1) < 2**63


def test_a_missing_collection_says_how_to_build_it(milvus_file):
    with pytest.raises(rag.IndexNotFoundError, match="no collection 'absent'.*rag index DOCS --index milvus:.* "
                                                     "--collection absent"):
        rag.Index.load(f"milvus:{milvus_file}", config=rag.Config(collection="absent"))


def test_asking_a_milvus_lite_file_that_is_not_there_creates_nothing(tmp_path, capsys):
    from rag.cli import main

    where = tmp_path / "none.db"
    assert main(["ask", "Who?", "--index", f"milvus:{where}"]) == 2
    assert "no Milvus Lite index at" in capsys.readouterr().err and not where.exists()


def _lexical_collection(milvus_file, seed_docs, name):
    config = rag.Config(collection=name, model=None)
    rag.Index.build([seed_docs], path=f"milvus:{milvus_file}", config=config, show_progress=False)
    target = MilvusTarget.parse(f"milvus:{milvus_file}", name)
    from rag.milvus_store import _client

    return target, _client(target)


def test_a_collection_without_manifest_is_reported_incomplete(milvus_file, seed_docs):
    target, client = _lexical_collection(milvus_file, seed_docs, "no_manifest")
    client.delete(target.docs_collection, filter='pk == "manifest"')
    with pytest.raises(rag.IndexCorruptError, match="no manifest.*rebuild it with"):
        MilvusStore.open(target)


def test_a_collection_missing_passages_is_reported_damaged(milvus_file, seed_docs):
    target, client = _lexical_collection(milvus_file, seed_docs, "lost_rows")
    store = MilvusStore.open(target)
    doc_id = store.document(0).doc_id
    client.delete(target.collection, ids=[passage_key(doc_id, 0)])
    with pytest.raises(rag.IndexCorruptError, match="holds .* passages, its documents record"):
        MilvusStore.open(target)


def test_a_collection_with_another_dimension_is_refused(milvus_file, seed_docs, tiny_model):
    name = "other_dim"
    rag.Index.build([seed_docs], path=f"milvus:{milvus_file}", model=str(tiny_model), show_progress=False,
                    config=rag.Config(collection=name))
    target = MilvusTarget.parse(f"milvus:{milvus_file}", name)
    from rag.milvus_store import _client

    client = _client(target)
    base = json.loads(client.query(target.docs_collection, filter='pk == "manifest"', output_fields=["payload"])[0]
                      ["payload"])
    base["model"]["dimension"] += 1
    client.upsert(target.docs_collection, [{"pk": "manifest", "kind": "manifest", "doc_id": "", "part": 0,
                                            "payload": json.dumps(base),
                                            "vector": [0.0] * (base["model"]["dimension"] - 1)}])
    with pytest.raises(rag.IndexMismatchError, match="dimensional vectors but its manifest records"):
        MilvusStore.open(target)


def test_a_collection_built_with_another_model_is_refused(milvus_index, milvus_file):
    with pytest.raises(rag.IndexMismatchError, match="was built with model"):
        rag.Index.load(f"milvus:{milvus_file}", model="none-such-model")


def test_an_unreachable_server_is_one_line_with_what_to_check():
    target = MilvusTarget.parse("milvus:http://127.0.0.1:9", "rag")
    with pytest.raises(MilvusUnavailableError, match=r"cannot reach the Milvus server at http://127.0.0.1:9 .*"
                                                     r"check that it is running") as error:
        MilvusStore.open(target)
    assert "\n" not in str(error.value)


def test_cli_indexes_and_answers_from_milvus(tmp_path, seed_docs, capsys):
    where = f"milvus:{tmp_path / 'cli.db'}"
    assert main(["index", str(seed_docs), "--index", where, "--collection", "cli", "--model", "none",
                 "--no-progress"]) == 0
    assert "at milvus:" in capsys.readouterr().out
    assert main(["ask", QUESTION, "--index", where, "--collection", "cli"]) == 0
    out = capsys.readouterr().out
    assert "Balkh" in out
    questions = ROOT / "seeds" / "questions.jsonl"
    assert main(["eval", str(questions), "--index", where, "--collection", "cli", "--mode", "lexical"]) == 0
    assert "lexical" in capsys.readouterr().out
    assert main(["ask", QUESTION, "--index", where, "--collection", "missing"]) != 0
    assert "no collection 'missing'" in capsys.readouterr().err


def test_sentence_vectors_can_be_left_out(milvus_file, seed_docs, tiny_model, monkeypatch, dense_index):
    monkeypatch.setenv("RAG_MILVUS_SENTENCE_VECTORS", "0")
    index = rag.Index.build([seed_docs], path=f"milvus:{milvus_file}", model=str(tiny_model), show_progress=False,
                            config=rag.Config(collection="no_sentences"))
    assert index.store.sentence_vectors([0, 1]) is None
    here, there = index.answer(QUESTION, mode="hybrid", threshold=0), dense_index.answer(QUESTION, mode="hybrid",
                                                                                        threshold=0)
    assert here.text == there.text  # the reader embeds its candidates instead


def test_an_interrupted_add_is_invisible_and_runs_again(milvus_file, seed_docs):
    target, client = _lexical_collection(milvus_file, seed_docs, "killed_sync")
    extra = _other_document()
    # What a sync killed before the document's record was written leaves: its passages only.
    client.upsert(target.collection, [{"pk": passage_key(extra.doc_id, 0), "doc_id": extra.doc_id, "passage_no": 0,
                                       "start": 0, "end": 10, "first_sentence": 0, "last_sentence": 1,
                                       "text": extra.text[:10], "lexical": "zorblatt glacier"}])
    store = MilvusStore.open(target)
    assert len(store.lexical_search(["zorblatt"], 5)[0]) == 0 and store.manifest.document_count == 1
    store.add_documents([extra])  # run again
    ids, _ = store.lexical_search(["zorblatt"], 5)
    assert len(ids) == 1 and store.document(store.passage(int(ids[0])).doc_index).doc_id == extra.doc_id
    assert MilvusStore.open(target).passage_count() == store.passage_count()
