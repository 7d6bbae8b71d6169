"""Score an index against a question set: retrieval, answers, citations, abstention and latency, per mode.

    report = rag.evaluate("questions.jsonl", index, mode="all", k=5)
    report.modes["lexical"].retrieval["hit@1"]

The parts: `questions` (the JSONL format), `metrics` (SQuAD normalisation, EM, F1, hit@k, MRR), `runner`
(answering the set mode by mode, summaries), `calibration` (choosing the decline threshold). What the terminal
shows is `rag.cli_format`.
"""

from .calibration import CURVE_THRESHOLDS, Calibration, CalibrationPoint, calibrate, choose_threshold
from .metrics import (
    HIT_AT,
    RETRIEVAL_DEPTH,
    contains_answer,
    exact_match,
    normalize_answer,
    retrieval_metrics,
    token_f1,
)
from .questions import LineProblem, Question, load_questions, parse_question
from .reports import EvaluationReport, ModeReport, QuestionResult, summarize
from .runner import ALL_MODES, evaluate

__all__ = [
    "ALL_MODES", "CURVE_THRESHOLDS", "HIT_AT", "RETRIEVAL_DEPTH", "Calibration", "CalibrationPoint",
    "EvaluationReport", "LineProblem", "ModeReport", "Question", "QuestionResult", "calibrate", "choose_threshold",
    "contains_answer", "evaluate", "exact_match", "load_questions", "normalize_answer", "parse_question",
    "retrieval_metrics", "summarize", "token_f1",
]
