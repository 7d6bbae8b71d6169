"""`rag eval` and `rag.evaluate`: known figures on a tiny question set, malformed lines, reports, modes,
calibration, the SQuAD adapter and benchmark on a synthetic file, and the CLI in-process."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import rag
from rag.documents import doc_id_for
from rag.evaluation import (
    Question,
    QuestionResult,
    calibrate,
    choose_threshold,
    contains_answer,
    evaluate,
    exact_match,
    load_questions,
    normalize_answer,
    retrieval_metrics,
    token_f1,
)
from rag.types import Hit

ROOT = Path(__file__).resolve().parent.parent

TINY = [
    {"id": "consul", "question": "Who was the acting consul of the Islamic Republic in Jalalabad?",
     "answers": ["Majid Sadeghi Dolatabadi"],
     "evidence": "Majid Sadeghi Dolatabadi, the acting consul of the Islamic Republic in Jalalabad"},
    {"id": "maqbool", "question": "By what other name was Abu Omar Maqbool known?",
     "answers": ["Shahidullah Shahid"]},
    {"id": "six", "question": "How many Taliban leaders pledged allegiance to ISIS in October 2014?",
     "answers": ["six"], "comment": "other keys are ignored"},
    {"id": "france", "question": "What is the capital of France?", "answers": []},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture
def tiny_set(tmp_path) -> Path:
    return write_jsonl(tmp_path / "tiny.jsonl", TINY)


# ------------------------------------------------------------------ metrics
def test_squad_normalisation_and_answer_metrics():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert exact_match("the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert exact_match(None, ["Denver Broncos"]) == 0.0
    assert token_f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    assert token_f1("Carolina", ["Denver Broncos"]) == 0.0
    assert contains_answer("He governed Nangarhar, in the east.", ["nangarhar"])
    assert not contains_answer("He governed Nangarharia.", ["Nangarhar"])  # whole words only
    assert contains_answer("headline ‘The Assassination: Internal Tension,’ said", ["Internal Tension"])


def test_retrieval_metrics_from_ranks():
    metrics = retrieval_metrics([1, 2, None, 7])
    assert metrics == {"hit@1": 0.25, "hit@3": 0.5, "hit@5": 0.5, "mrr@10": pytest.approx((1 + 0.5 + 1 / 7) / 4)}


# ------------------------------------------------------------------ known answers on the seed article
def test_tiny_set_known_figures(lexical_index, tiny_set):
    report = evaluate(tiny_set, lexical_index, mode="lexical")
    assert (report.questions, report.answerable, report.unanswerable) == (4, 3, 1)
    lexical = report.modes["lexical"]
    ranks = {r.id: r.rank for r in lexical.results}
    assert ranks["maqbool"] == 1 and ranks["six"] == 1 and ranks["france"] is None
    assert 1 <= ranks["consul"] <= 5
    assert lexical.retrieval["hit@5"] == 1.0 and lexical.retrieval["hit@1"] == 1.0
    assert lexical.answers["containment"] == 1.0
    assert lexical.answers["citation_accuracy"] == 1.0
    assert lexical.abstention == {"unanswerable_declined": 1.0, "answerable_declined": 0.0}
    assert lexical.latency["p50_s"] > 0 and lexical.latency["p95_s"] >= lexical.latency["p50_s"]
    assert lexical.failures == []


def test_evidence_overlapping_a_passage_counts_as_a_hit(lexical_index, seed_text):
    from rag.evaluation.runner import _EvidenceLocator, _relevant

    evidence = "he became the governor of Nangarhar in the east of the country"
    start = seed_text.index(evidence)
    question = Question("q", "Which province?", ("Nangarhar",), evidence)
    doc_id = lexical_index.documents[0].doc_id
    locator = _EvidenceLocator(lexical_index)

    def hit(a, b):
        return Hit(seed_text[a:b], 1.0, doc_id, "seed", a, b, 0, 1)

    assert _relevant(question, hit(start + 20, start + 200), locator)  # holds only the evidence's tail
    assert _relevant(question, hit(start - 100, start + 5), locator)  # holds only its head
    assert not _relevant(question, hit(0, start - 10), locator)


def test_declined_answerable_and_answered_unanswerable_are_listed_as_failures(lexical_index, tmp_path):
    from rag.cli_format import format_failures

    rows = [{"id": "wrong", "question": "Who is the Taliban government's spokesperson?", "answers": []},
            {"id": "missing", "question": "What is the capital of France?", "answers": ["Paris"]}]
    report = evaluate(write_jsonl(tmp_path / "q.jsonl", rows), lexical_index, mode="lexical")
    lexical = report.modes["lexical"]
    assert lexical.abstention == {"unanswerable_declined": 0.0, "answerable_declined": 1.0}
    text = format_failures(report)
    assert "[wrong]" in text and "answered a question the documents do not answer" in text
    assert "[missing]" in text and "declined" in text and "gold: Paris" in text


# ------------------------------------------------------------------ question-set files
def test_malformed_lines_are_reported_with_line_numbers_and_skipped(tmp_path, caplog):
    path = write_jsonl(tmp_path / "bad.jsonl", [
        TINY[0],
        "{not json",
        {"question": "No answers key"},
        "",
        {"question": "  ", "answers": []},
        {"question": "Answers not a list?", "answers": "Nangarhar"},
        TINY[3],
    ])
    questions, problems = load_questions(path)
    assert [q.id for q in questions] == ["consul", "france"]
    assert [p.line for p in problems] == [2, 3, 5, 6]
    assert '"answers" is missing' in str(problems[1])
    assert "line 2" in caplog.text
    with pytest.raises(rag.InputError, match="line 2"):
        load_questions(path, strict=True)


def test_missing_or_empty_question_file_names_the_fix(tmp_path):
    with pytest.raises(rag.InputError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(rag.InputError, match="no usable questions"):
        load_questions(write_jsonl(tmp_path / "empty.jsonl", ["{}"]))


# ------------------------------------------------------------------ modes
def test_mode_all_reports_unavailable_modes_with_the_reason(lexical_index, tiny_set):
    from rag.cli_format import format_table

    report = evaluate(tiny_set, lexical_index, mode="all")
    assert list(report.modes) == ["lexical", "dense", "hybrid"]
    reasons = lexical_index.unavailable_modes()
    for mode in ("dense", "hybrid"):
        assert not report.modes[mode].available and report.modes[mode].reason == reasons[mode]
    table = format_table(report)
    assert "unavailable" in table and reasons["dense"] in table


def test_a_single_unavailable_mode_is_an_error(lexical_index, tiny_set):
    with pytest.raises(rag.ModelUnavailableError, match="--mode lexical"):
        evaluate(tiny_set, lexical_index, mode="dense")


def test_dense_and_hybrid_run_with_a_model(dense_index, tiny_set):
    report = evaluate(tiny_set, dense_index, mode="all")
    for mode in ("lexical", "dense", "hybrid"):
        result = report.modes[mode]
        assert result.available and len(result.results) == 4
        assert 0 <= result.retrieval["mrr@10"] <= 1 and 0 <= result.answers["containment"] <= 1


# ------------------------------------------------------------------ calibration
def _result(answerable: bool, confidence: float, correct: bool) -> QuestionResult:
    return QuestionResult("q", "q?", ("a",) if answerable else (), answerable, None, "x", "x", confidence,
                          0.0, 0.0, correct, correct, None, None, None, 0.0, ())


def test_choose_threshold_separates_right_answers_from_unanswerable():
    results = [_result(True, 0.9, True), _result(True, 0.7, True), _result(True, 0.2, False),
               _result(False, 0.5, False), _result(False, 0.1, False)]
    threshold = choose_threshold(results)
    assert 0.5 < threshold <= 0.7  # declines both unanswerable ones and keeps both right answers
    assert choose_threshold([_result(True, 0.3, True), _result(True, 0.6, True)]) == 0.0


def test_calibrate_stores_a_threshold_that_load_sees(tmp_path, seed_docs, tiny_set):
    index = rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)
    report = evaluate(tiny_set, index, mode="lexical")
    calibration = calibrate(report, index)
    assert calibration.mode == "lexical" and calibration.stored
    assert calibration.best.correct_behaviour == 1.0  # this set can be told apart perfectly
    assert [p.threshold for p in calibration.curve] == sorted(p.threshold for p in calibration.curve)
    assert rag.Index.load(tmp_path / "idx").decline_threshold == pytest.approx(calibration.threshold)


def test_cli_calibrate_prints_the_curve_and_stores(tmp_path, seed_docs, tiny_set, capsys):
    from rag.cli import main

    rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)
    assert main(["eval", str(tiny_set), "--index", str(tmp_path / "idx"), "--calibrate"]) == 0
    out = capsys.readouterr().out
    assert "Calibration on lexical answers" in out and "<- chosen" in out
    # never only in-sample: the figure away from the questions it was chosen on, with its split
    assert "Away from the questions it was chosen on (" in out and "unanswerable declined" in out.split("Away")[1]
    reader = json.loads((tmp_path / "idx" / "manifest.json").read_text())["reader"]
    stored = reader["thresholds"]["lexical"]["threshold"]  # per mode, with the reader version it was chosen for
    assert reader["thresholds"]["lexical"]["reader"] == rag.Index.load(tmp_path / "idx").reader.version
    assert stored is not None and f"decline threshold {stored:.3f}" in out


# ------------------------------------------------------------------ the CLI
def test_cli_prints_the_table_and_writes_the_json_report(lexical_index, tiny_set, tmp_path, capsys):
    from rag.cli import main

    report_path = tmp_path / "out" / "report.json"
    code = main(["eval", str(tiny_set), "--index", str(lexical_index.path), "--json", str(report_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "hit@1" in out and "containment" in out and "unavailable" in out
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["questions"] == 4 and data["modes"]["dense"]["available"] is False
    rows = {r["id"]: r for r in data["modes"]["lexical"]["results"]}
    assert rows["france"]["declined"] is True and rows["six"]["contained"] is True


def test_cli_plot_makes_its_folder_and_says_where_it_drew(lexical_index, tiny_set, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from rag.cli import main

    assert main(["eval", str(tiny_set), "--index", str(lexical_index.path), "--plot", str(tmp_path / "new" / "x")]) == 0
    assert (tmp_path / "new" / "x.png").stat().st_size > 0
    assert f"Drew {tmp_path / 'new' / 'x.png'}:" in capsys.readouterr().out
    (tmp_path / "taken").mkdir()
    assert main(["eval", str(tiny_set), "--index", str(lexical_index.path), "--plot", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err and not (tmp_path / "taken.png").exists()


def test_cli_heldout_without_calibrate_is_refused(lexical_index, tiny_set, capsys):
    from rag.cli import main

    assert main(["eval", str(tiny_set), "--index", str(lexical_index.path), "--heldout", str(tiny_set)]) == 2
    assert "add --calibrate" in capsys.readouterr().err


def test_cli_strict_turns_a_malformed_line_into_one_error_line(lexical_index, tmp_path, capsys):
    from rag.cli import main

    path = write_jsonl(tmp_path / "bad.jsonl", [TINY[0], "{oops"])
    assert main(["eval", str(path), "--index", str(lexical_index.path), "--strict"]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main(["eval", str(path), "--index", str(lexical_index.path), "--mode", "lexical"]) == 0
    assert "Skipped 1 malformed line(s): line 2" in capsys.readouterr().out


# ------------------------------------------------------------------ SQuAD adapter and benchmark
SQUAD = {
    "version": "1.1",
    "data": [
        {"title": "Rivers", "paragraphs": [
            {"context": "The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.",
             "qas": [{"id": "r1", "question": "Into which sea does the Nile flow?",
                      "answers": [{"answer_start": 65, "text": "Mediterranean Sea"},
                                  {"answer_start": 65, "text": "Mediterranean Sea"}]}]},
            {"context": "The Amazon carries more water than any other river. Its basin covers much of Brazil.",
             "qas": [{"id": "r2", "question": "Which country holds much of the Amazon basin?",
                      "answers": [{"answer_start": 77, "text": "Brazil"}]}]},
        ]},
        {"title": "Mountains", "paragraphs": [
            {"context": "Mount Kilimanjaro is the highest mountain in Tanzania. It was first climbed in 1889.",
             "qas": [{"id": "m1", "question": "When was Kilimanjaro first climbed?",
                      "answers": [{"answer_start": 79, "text": "1889"}]}]},
        ]},
    ],
}


@pytest.fixture
def squad_file(tmp_path) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def test_squad_adapter_turns_paragraphs_into_documents_and_questions(squad_file):
    from rag.squad import load_squad

    documents, questions = load_squad(squad_file)
    assert [d.source for d in documents] == ["squad-dev/Rivers/0", "squad-dev/Rivers/1", "squad-dev/Mountains/0"]
    assert all(d.doc_id == doc_id_for(d.text) for d in documents)
    assert [q.id for q in questions] == ["r1", "r2", "m1"]
    assert questions[0].answers == ("Mediterranean Sea",)  # duplicates folded
    assert [q.doc_ids for q in questions] == [(d.doc_id,) for d in documents]


def test_squad_questions_evaluate_against_their_paragraphs(squad_file, tmp_path):
    from rag.squad import load_squad

    documents, questions = load_squad(squad_file)
    config = rag.Config.from_env(index_path=tmp_path / "squad-idx", model="none")
    index = rag.Index.from_documents(documents, config=config, show_progress=False)
    lexical = evaluate(questions, index, mode="lexical", k=3).modes["lexical"]
    assert lexical.retrieval["hit@1"] == 1.0
    # what the reader quotes at threshold 0 (whether it would decline is the decline model's business)
    assert lexical.answers["would_be_containment"] == 1.0 and lexical.answers["citation_accuracy"] == 1.0


def test_squad_adapter_rejects_other_files(tmp_path):
    from rag.squad import load_squad

    path = tmp_path / "other.json"
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(rag.InputError, match="SQuAD"):
        load_squad(path)


def _benchmark():
    spec = importlib.util.spec_from_file_location("squad_benchmark", ROOT / "benchmarks" / "squad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_squad_benchmark_runs_on_a_synthetic_file_and_skips_when_absent(squad_file, tmp_path, capsys):
    benchmark = _benchmark()
    assert benchmark.main([str(tmp_path / "absent.json")]) == 0
    assert "skipping" in capsys.readouterr().out
    report = tmp_path / "squad-report.json"
    assert benchmark.main([str(squad_file), "--no-progress", "--model", "none", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "bm25s plain" in out and "rag lexical" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["questions"] == 3 and set(data["baseline"]) == {"hit@1", "hit@3", "hit@5", "mrr@10"}
