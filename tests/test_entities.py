"""Named entities tagged at indexing (spaCy NER, pinned files), stored with the index, used by short answers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag import Index, entity_tagger
from rag.errors import ModelUnavailableError
from rag.model_files import FileHashes
from rag.spans import ENTITY_FEATURES, entity_features, span_candidates, question_word_set
from rag.trees import Scorer, export


def test_the_tagger_files_match_their_pinned_hashes_and_a_changed_file_is_refused(tmp_path):
    folder = entity_tagger.model_folder()
    entity_tagger.verify(folder, FileHashes(tmp_path / "cache"))
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    with open(copy / "ner" / "model", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ModelUnavailableError, match="ner/model does not match the pinned sha256"):
        entity_tagger.verify(copy, FileHashes(tmp_path / "cache"))


def test_windows_group_whole_sentences_of_one_document():
    rows = np.array([[0, 0, 10], [0, 11, 20], [1, 0, 5], [1, 6, 6000], [1, 6001, 6010]])
    assert entity_tagger.windows(rows) == [(0, 0, 20), (1, 0, 5), (1, 6, 6000), (1, 6001, 6010)]


@pytest.fixture(scope="module")
def tagged_index(tmp_path_factory):
    docs = tmp_path_factory.mktemp("docs")
    (docs / "a.txt").write_text("Marie Curie was born in Warsaw in 1867. She moved to Paris in 1891.\n")
    (docs / "b.txt").write_text("The Eiffel Tower opened in March 1889. Gustave Eiffel's company built it.\n")
    path = tmp_path_factory.mktemp("idx") / "index"
    return Index.build([docs], path=path, model="none", show_progress=False), docs, path


def test_entities_are_stored_at_indexing_in_document_offsets(tagged_index):
    index, _, _ = tagged_index
    doc = index.store.document_position(next(d.doc_id for d in index.documents if d.source.endswith("a.txt")))
    text = index.store.text(doc)
    found = {(text[s:e], label) for s, e, label in index.store.entities(doc, 0, len(text))}
    assert ("Marie Curie", "PERSON") in found
    assert ("Warsaw", "GPE") in found and ("1867", "DATE") in found
    assert ("Marie Curie", "NOUN_CHUNK") in found  # noun chunks from the parser, in the same table
    first_sentence = index.store.entities(doc, 0, text.index(".") + 1)
    assert all(e <= text.index(".") + 1 for _, e, _ in first_sentence)
    assert ("Paris", "GPE") not in {(text[s:e], label) for s, e, label in first_sentence}


def test_a_sync_tags_only_new_documents_and_keeps_the_others(tagged_index, tmp_path, monkeypatch):
    _, docs, path = tagged_index
    work = tmp_path / "docs"
    shutil.copytree(docs, work)
    target = tmp_path / "index"
    Index.build([work], path=target, model="none", show_progress=False)
    (work / "b.txt").unlink()
    (work / "c.txt").write_text("Ada Lovelace wrote about the Analytical Engine in 1843.\n")
    tagged = []
    real = entity_tagger.tag
    monkeypatch.setattr(entity_tagger, "tag", lambda texts, rows, **kw: tagged.append(len(rows)) or real(texts, rows, **kw))
    index = Index.load(target)
    index.sync([work], show_progress=False)
    assert tagged == [1]  # the one sentence of c.txt
    again = Index.load(target)
    texts = {d.source.rsplit("/", 1)[-1]: again.store.document_position(d.doc_id) for d in again.documents}
    a = again.store.entities(texts["a.txt"], 0, 10_000)
    c = again.store.entities(texts["c.txt"], 0, 10_000)
    assert any(label == "PERSON" for *_, label in a)
    c_text = again.store.text(texts["c.txt"])
    assert ("Ada Lovelace", "PERSON") in {(c_text[s:e], label) for s, e, label in c}
    assert "b.txt" not in texts


def test_no_entities_flag_indexes_without_them_and_the_reader_still_answers(tmp_path, tagged_index, capsys):
    from rag.cli import main

    _, docs, _ = tagged_index
    assert main(["index", str(docs), "--index", str(tmp_path / "plain"), "--model", "none", "--no-entities",
                 "--no-progress"]) == 0
    assert not (tmp_path / "plain" / "entities.npy").exists()
    index = Index.load(tmp_path / "plain")
    assert index.store.entities(0, 0, 100) is None
    answer = index.answer("When was Marie Curie born?", threshold=0.0)
    assert answer.citations and "1867" in answer.text


def test_entity_columns_say_how_a_span_lines_up_with_an_entity():
    sentence = "Marie Curie was born in Warsaw in 1867."
    question = "Who was born in Warsaw?"
    toks, spans = span_candidates(sentence, question_word_set(question))
    rows = entity_features(question, toks, spans, [(0, 11, "PERSON"), (34, 38, "DATE")])
    col = {f: n for n, f in enumerate(ENTITY_FEATURES)}
    by_text = {sentence[toks[i][1] : toks[j][2]]: rows[n] for n, (i, j) in enumerate(spans)}
    assert by_text["Marie Curie"][col["ent_exact"]] == 1 and by_text["Marie Curie"][col["label_PERSON"]] == 1
    assert by_text["Marie"][col["ent_inside"]] == 1
    assert by_text["1867"][col["label_DATE"]] == 1
    assert all(r[col["wh_who"]] == 1 for r in rows)
    chunked = entity_features(question, toks, spans, [(0, 11, "NOUN_CHUNK")])
    by_text = {sentence[toks[i][1] : toks[j][2]]: chunked[n] for n, (i, j) in enumerate(spans)}
    assert by_text["Marie Curie"][col["np_exact"]] == 1 and by_text["Marie Curie"][col["ent_none"]] == 1
    assert by_text["Marie"][col["np_inside"]] == 1 and by_text["1867"][col["np_exact"]] == 0


def test_exported_trees_score_exactly_as_scikit_learn_does():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6))
    y = (x[:, 0] * x[:, 1] + x[:, 2] > 0.2).astype(int)
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(x, y)
    entry = json.loads(json.dumps({"features": list("abcdef"), **export(model)}))
    test = rng.normal(size=(300, 6))
    np.testing.assert_allclose(Scorer(entry).logits(test), model.decision_function(test), atol=1e-4)


def test_no_entities_on_an_index_that_has_them_rebuilds_it_with_a_note(tmp_path, tagged_index, capsys):
    from rag.cli import main

    _, docs, _ = tagged_index
    target = tmp_path / "idx"
    assert main(["index", str(docs), "--index", str(target), "--model", "none", "--no-progress"]) == 0
    assert (target / "entities.npy").exists()
    capsys.readouterr()
    assert main(["index", str(docs), "--index", str(target), "--model", "none", "--no-entities",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "rebuilding the index" in err and "without named entities (--no-entities)" in err
    assert not (target / "entities.npy").exists()
    assert Index.load(target).store.entities(0, 0, 100) is None
