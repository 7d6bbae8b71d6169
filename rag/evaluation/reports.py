"""The results of an evaluation: per question, per mode (with its summary metrics), calibration, the whole run.

Typed, frozen records and `summarize`, which turns one mode's per-question results into its metrics. This
module neither runs questions nor prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from .metrics import _mean, _percentile, retrieval_metrics
from .questions import LineProblem


@dataclass(frozen=True)
class QuestionResult:
    """What one mode did with one question. `answer` is None when declined at the index's threshold;
    `would_be_answer` is what it would have said at threshold 0 (used by calibration)."""

    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    rank: int | None  # rank of the first relevant passage within the retrieval depth
    answer: str | None
    would_be_answer: str | None
    confidence: float
    exact: float
    f1: float
    contained: bool
    would_be_contained: bool
    citation_correct: bool | None  # None when nothing was cited
    citation: dict | None
    top_passage: dict | None
    seconds: float
    failures: tuple[str, ...]
    span: str | None = None  # the short answer shown with the quote, when answered
    span_exact: float = 0.0
    span_f1: float = 0.0
    would_be_span: str | None = None  # the short answer at threshold 0

    @property
    def declined(self) -> bool:
        return self.answer is None


@dataclass(frozen=True)
class ModeReport:
    mode: str
    available: bool
    reason: str | None = None
    retrieval: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)
    abstention: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)
    results: tuple[QuestionResult, ...] = ()

    @property
    def failures(self) -> list[QuestionResult]:
        return [r for r in self.results if r.failures]


def summarize(mode: str, results: Sequence[QuestionResult]) -> ModeReport:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if r.citation_correct is not None]
    seconds = [r.seconds for r in results]
    return ModeReport(
        mode=mode,
        available=True,
        retrieval=retrieval_metrics([r.rank for r in answerable]),
        answers={
            "exact_match": _mean(r.exact for r in answerable),
            "f1": _mean(r.f1 for r in answerable),
            "containment": _mean(r.contained for r in answerable),
            "would_be_containment": _mean(r.would_be_contained for r in answerable),
            "span_exact_match": _mean(r.span_exact for r in answerable),
            "span_f1": _mean(r.span_f1 for r in answerable),
            "citation_accuracy": _mean(bool(r.citation_correct) for r in answered),
            "answered": len([r for r in answerable if not r.declined]),
        },
        abstention={
            "unanswerable_declined": _mean(r.declined for r in unanswerable),
            "answerable_declined": _mean(r.declined for r in answerable),
        },
        latency={"p50_s": _percentile(seconds, 50), "p95_s": _percentile(seconds, 95), "mean_s": _mean(seconds)},
        results=tuple(results),
    )


@dataclass(frozen=True)
class CalibrationPoint:
    threshold: float
    answered_correctly: int  # answerable questions answered with a gold answer contained
    answered_wrongly: int  # answerable questions answered without one
    answerable_declined: int
    unanswerable_declined: int
    unanswerable_answered: int
    correct_behaviour: float  # (answered correctly + unanswerable declined) / all questions


@dataclass(frozen=True)
class Calibration:
    mode: str
    threshold: float
    previous: float
    best: CalibrationPoint
    curve: tuple[CalibrationPoint, ...]
    stored: bool
    # Correct behaviour away from the questions the threshold was chosen on (the figure to report), and how; with
    # its counts (answered right, unanswerable declined, ...) in `heldout`.
    heldout_correct_behaviour: float | None = None
    heldout_method: str = ""
    heldout: CalibrationPoint | None = None


@dataclass(frozen=True)
class EvaluationReport:
    source: str
    k: int
    depth: int
    decline_threshold: float
    questions: int
    answerable: int
    unanswerable: int
    modes: dict[str, ModeReport]
    problems: tuple[LineProblem, ...] = ()
    calibration: Calibration | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name, mode in self.modes.items():
            for result, row in zip(mode.results, data["modes"][name]["results"]):
                row["declined"] = result.declined
        return data


# --------------------------------------------------------------------------- evaluation
