"""The learned reader: shipped weights, features, calibrated confidence, short answers, per-mode thresholds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.evaluation.calibration import cross_validated
from rag.evaluation.reports import QuestionResult
from rag.reader_model import DENSE_FEATURES, MODEL_FEATURES, WEIGHTS_FILE, ReaderModel, base_feature
from rag.spans import ENTITY_FEATURES, SPAN_FEATURES, best_span, question_word_set, span_candidates


def test_weights_file_is_plain_versioned_json_with_both_feature_sets():
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert data["version"].startswith("r2-")
    assert set(data["sets"]) == {"dense", "lexical"}
    for name, entry in data["sets"].items():
        assert set(entry["features"]) <= set(MODEL_FEATURES)
        assert entry["kind"] in ("logistic", "hgb")
        if entry["kind"] == "logistic":
            assert len(entry["coef"]) == len(entry["features"]) == len(entry["mean"]) == len(entry["scale"])
        else:
            assert entry["trees"] and all(max(t["feature"]) < len(entry["features"]) for t in entry["trees"])
    assert not {base_feature(f) for f in data["sets"]["lexical"]["features"]} & set(DENSE_FEATURES)
    assert set(data["span_models"]) == {"entities", "plain"}
    assert data["span_models"]["plain"]["features"] == list(SPAN_FEATURES)
    assert data["span_models"]["entities"]["features"] == list(SPAN_FEATURES + ENTITY_FEATURES)
    for mode in ("lexical", "dense", "hybrid"):
        assert 0 <= data["decline"][mode] <= 1


def test_confidence_is_a_probability_and_grows_with_the_best_score():
    model = ReaderModel.load()
    low = model.confidence(np.array([-3.0, -4.0]), dense=True)
    high = model.confidence(np.array([3.0, -4.0]), dense=True)
    assert 0 <= low < high <= 1


def test_span_candidates_leave_out_question_words_and_stop_words():
    question = "When did the Normans conquer England?"
    sentence = "The Normans conquered England in 1066 under William the Conqueror."
    toks, spans = span_candidates(sentence, question_word_set(question))
    texts = {sentence[toks[i][1] : toks[j][2]] for i, j in spans}
    assert "1066" in texts
    assert "Normans" not in texts and "England" not in texts
    assert not any(t.split()[0].lower() in ("the", "in", "of") for t in texts)


@pytest.mark.parametrize("entities", [False, True])
def test_best_span_for_a_when_question_is_the_year_and_for_a_who_question_the_person(entities):
    scorer = ReaderModel.load().span_scorer(entities)
    sentence = "The Normans conquered England in 1066 under William the Conqueror."
    tagged = [(4, 11, "NORP"), (33, 37, "DATE"), (44, 65, "PERSON")] if entities else None
    start, end, _ = best_span("In what year did the Normans conquer England?", sentence, scorer, None, tagged)
    assert sentence[start:end] == "1066"
    sentence = "The telephone was patented in 1876 by Alexander Graham Bell, who lived in Boston."
    tagged = None
    if entities:
        tagged = [(sentence.index(t), sentence.index(t) + len(t), label)
                  for t, label in (("1876", "DATE"), ("Alexander Graham Bell", "PERSON"), ("Boston", "GPE"))]
    start, end, _ = best_span("Who patented the telephone?", sentence, scorer, None, tagged)
    assert sentence[start:end] == "Alexander Graham Bell"


def test_answer_span_lies_inside_the_citation_and_verifies(lexical_index):
    answer = lexical_index.answer("Who was the Taliban governor of Balkh province when he was killed?",
                                  threshold=0.0)
    assert answer.citations and answer.span is not None
    citation = answer.citations[0]
    assert citation.start <= answer.span.start < answer.span.end <= citation.end
    assert lexical_index.document_text(citation.doc_id)[answer.span.start : answer.span.end] == answer.span.text


def test_rules_reader_still_answers(lexical_index, monkeypatch):
    monkeypatch.setattr(lexical_index.reader, "scorer", "rules")
    answer = lexical_index.answer("How did the governor of Balkh die?", threshold=0.0)
    assert "explosion" in answer.text


def test_threshold_is_stored_per_mode_and_reader_version(tmp_path, seed_docs):
    from rag import Index

    index = Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)
    shipped = index.threshold_for("lexical")
    assert shipped == pytest.approx(index.reader.default_threshold("lexical"))
    index.set_decline_threshold(0.123, "lexical")
    again = Index.load(tmp_path / "idx")
    assert again.threshold_for("lexical") == pytest.approx(0.123)
    assert again.manifest.reader_thresholds["lexical"]["reader"] == again.reader.version
    again.reader.scorer = "rules"  # another reader version: the calibrated value is not its own
    assert again.threshold_for("lexical") != pytest.approx(0.123)


def _result(i, answerable, confidence, right):
    return QuestionResult(id=f"q{i}", question="q", answers=("a",) if answerable else (), answerable=answerable,
                          rank=None, answer="x", would_be_answer="x", confidence=confidence, exact=0.0, f1=0.0,
                          contained=right, would_be_contained=right, citation_correct=None, citation=None,
                          top_passage=None, seconds=0.0, failures=())


def test_cross_validated_calibration_scores_away_from_the_chosen_set():
    rng = np.random.default_rng(0)
    results = [_result(i, True, float(rng.uniform(0.5, 1)), True) for i in range(40)]
    results += [_result(100 + i, False, float(rng.uniform(0, 0.5)), False) for i in range(40)]
    point, how = cross_validated(results)
    assert point.correct_behaviour >= 0.9 and how == "5-fold cross-validation"
    assert point.answered_correctly + point.answered_wrongly + point.answerable_declined == 40  # every question once
    assert point.unanswerable_declined + point.unanswerable_answered == 40
    # a small set is scored leave-one-out, never only in-sample: two answerable and two unanswerable questions
    # with overlapping confidences, so each left-out question meets a threshold chosen without it
    small = [_result(0, True, 0.9, True), _result(1, True, 0.3, True), _result(2, False, 0.4, False),
             _result(3, False, 0.1, False)]
    point, how = cross_validated(small)
    assert how == "leave-one-out cross-validation"
    # in-sample the best threshold gets three of four right; each left out, only q0 and q3 are
    assert (point.answered_correctly, point.unanswerable_declined, point.correct_behaviour) == (1, 1, 0.5)
    assert cross_validated(small[:1]) is None


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from rag.evaluation.plots import plot

    results = [_result(i, i % 2 == 0, i / 20, i % 4 == 0) for i in range(20)]
    drawn = plot(results, 0.5, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert 0 <= drawn["ece"] <= 1
