"""The cross reader (the bundled encoder with the shipped LoRA adapters, exported to ONNX) and how the reader uses
it: its second stage picks the sentence, its span is the short answer, and without it the reader falls back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag import cross_reader
from rag.cross_reader import CrossReader, adapters_version, default_cross_reader
from rag.onnx_encoder import OnnxUnavailableError
from rag.reader_model import default_model

SEED = Path(__file__).resolve().parent.parent / "seeds"
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"
ANSWERING = ("In addition to possible secret meetings and encounters, Majid Sadeghi Dolatabadi, the acting consul "
             "of the Islamic Republic in Jalalabad, Afghanistan, met with him last year when Muzammil was the "
             "governor of Nangarhar.")
UNRELATED = "The river floods every spring, and the farmers plant rice when the water recedes."


@pytest.fixture(scope="module")
def reader() -> CrossReader:
    found = default_cross_reader()
    assert found is not None, "rag/cross_reader.npz is missing"
    return found


def test_the_shipped_weights_were_fitted_with_the_shipped_adapters():
    assert default_model().cross_version == adapters_version()


def test_it_finds_the_short_answer_inside_the_sentence_that_answers(reader):
    right, unrelated = reader.read(QUESTION, [ANSWERING, UNRELATED])
    assert ANSWERING[right.start : right.end] == "Majid Sadeghi Dolatabadi"
    assert right.score > 0 > unrelated.score


def test_a_changed_detail_lowers_its_score(reader):
    asked, swapped = reader.read(QUESTION, [ANSWERING]), reader.read(
        "Who was the acting consul of the Islamic Republic in Kandahar?", [ANSWERING])
    assert swapped[0].score < asked[0].score


def test_a_question_longer_than_the_reader_reads_is_cut_not_refused(reader):
    long = QUESTION + " " + "Please answer as precisely as you can, with the name in full." * 20  # about 300 tokens
    (reading,) = reader.read(long, [ANSWERING])
    assert 0 <= reading.start < reading.end <= len(ANSWERING)
    # a sentence too long to read whole with the question is still cut, and its answer (near the start) found
    (cut,) = reader.read(QUESTION, [ANSWERING + " And then" * 200])
    assert ANSWERING[cut.start : cut.end] == "Majid Sadeghi Dolatabadi"


def test_the_export_is_made_once_and_reused(tmp_path, monkeypatch):
    first = CrossReader(cache_dir=tmp_path)
    first.load()
    assert len(list((tmp_path / "onnx").glob("reader-*/model.onnx"))) == 1

    def refuse(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(cross_reader, "export", refuse)
    again = CrossReader(cache_dir=tmp_path)
    assert again.read(QUESTION, [ANSWERING])[0].score == pytest.approx(first.read(QUESTION, [ANSWERING])[0].score)


def test_the_index_answer_quotes_the_cross_readers_span(lexical_index):
    answer = lexical_index.answer(QUESTION)
    assert answer.span is not None and answer.span.text == "Majid Sadeghi Dolatabadi"
    assert lexical_index.reader.cross_reader is not None
    assert not lexical_index.reader.version.endswith("first-stage")


def test_without_the_cross_reader_the_first_stage_answers_alone(lexical_index, monkeypatch, caplog):
    from rag.reader import Reader

    def fail(*args):
        raise OnnxUnavailableError("export failed: test")

    monkeypatch.setattr(CrossReader, "load", lambda self: fail())
    reader = Reader(lexical_index.store, lexical_index.retriever.encoder)
    with caplog.at_level(logging.WARNING, logger="rag.reader"):
        assert reader.cross_reader is None
    assert "cross reader is unavailable" in caplog.text
    assert reader.version == f"{default_model().version}-first-stage"
    hits, qv = lexical_index.retriever.retrieve(QUESTION, 5, "lexical")
    verdict = reader.read(QUESTION, hits, qv, threshold=0.0)
    assert verdict.accepted and "Majid Sadeghi Dolatabadi" in lexical_index.store.text(verdict.doc_index)[
        verdict.start : verdict.end]


@pytest.mark.parametrize("below, reads", [(float("inf"), 5), (float("-inf"), 2)])
def test_it_reads_further_only_when_unsure_after_the_first_reads(lexical_index, monkeypatch, below, reads):
    """Below the shipped threshold on the second stage's best logit the reader reads the first stage's best five
    and rescores them with the second stage fitted for five; above it, it stops at the first two."""
    from rag.reader import Reader

    reader = Reader(lexical_index.store, lexical_index.retriever.encoder)
    shipped = reader.model.cross_more(False)
    assert shipped is not None and shipped["reads"] > reader.model.cross_top(False)
    monkeypatch.setattr(reader.model, "cross_more", lambda dense: {"below": below, "reads": 5})
    read, rescored = [], []
    real_read, real_stage2 = CrossReader.read, type(reader.model).stage2_scores
    monkeypatch.setattr(CrossReader, "read", lambda self, q, s: read.append(len(s)) or real_read(self, q, s))
    monkeypatch.setattr(type(reader.model), "stage2_scores",
                        lambda self, x, dense, more=False: rescored.append((len(x), more)) or real_stage2(
                            self, x, dense, more))
    hits, qv = lexical_index.retriever.retrieve(QUESTION, 5, "lexical")
    verdict = reader.read(QUESTION, hits, qv, threshold=0.0)
    assert sum(read) == reads
    assert rescored[-1] == (reads, reads > 2)
    assert "Majid Sadeghi Dolatabadi" in lexical_index.store.text(verdict.doc_index)[verdict.start : verdict.end]


def test_the_second_stage_sees_the_short_answer_and_whether_it_repeats_the_question():
    from rag.second_stage import STAGE2_FEATURES, stage2_features

    x = stage2_features([1.0, 0.5], [2.0, 3.0], ["Jalalabad", "Majid Sadeghi Dolatabadi"], QUESTION)
    cols = dict(zip(STAGE2_FEATURES, x.T))
    assert cols["span_in_question"].tolist() == [1.0, 0.0]
    assert cols["span_chars"].tolist() == [9.0, 24.0]
    assert cols["cross_gap"].tolist() == [-1.0, 0.0] and cols["cross_rank"].tolist() == [0.5, 1.0]
    assert cols["logit_gap"].tolist() == [0.0, -0.5]
