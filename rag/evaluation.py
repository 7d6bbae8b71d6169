"""Score an index against a question set: retrieval, answers, citations, abstention and latency, per mode.

A question set is JSONL, one object per line:
    {"id": "q1", "question": "Which province did Muzammil govern before Balkh?", "answers": ["Nangarhar"],
     "evidence": "he became the governor of Nangarhar in the east of the country"}
`answers` lists acceptable answers (an empty list: the documents do not answer it); `id` and `evidence` (verbatim
text of a document that supports the answer) are optional; other keys are ignored.

Metrics, each mode side by side:
  retrieval   hit@1/3/5 and MRR@10 over answerable questions. A passage is relevant when it overlaps the
              evidence's characters in its document (so evidence spanning two passages counts in either), or,
              without evidence, when it contains a gold answer; a benchmark may instead name the gold documents.
  answers     exact match and token F1 (SQuAD normalisation, best over gold answers), containment (a gold answer
              appears in the quoted answer) and citation accuracy (of answered questions, the share whose cited
              quote contains a gold answer or overlaps the evidence); declined questions score 0.
  abstention  the share of unanswerable questions declined, and of answerable questions wrongly declined.
  latency     seconds per `Index.answer` call (retrieval included), p50 and p95.
`calibrate` then picks the decline threshold that maximises correct behaviour and stores it in the index.

This module only calls `Index.retrieve` and `Index.answer`: it neither builds indexes nor changes how they rank
or read, and it knows no benchmark's file format (see `rag.squad`).
"""

from __future__ import annotations

import json
import logging
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .config import MAX_QUESTION_CHARS, MODES
from .errors import InputError, ModelUnavailableError
from .index import validate_k

logger = logging.getLogger(__name__)

RETRIEVAL_DEPTH = 10  # MRR@10 needs ten passages whatever k the reader gets
HIT_AT = (1, 3, 5)
CURVE_THRESHOLDS = tuple(i / 10 for i in range(11))
ALL_MODES = "all"


# --------------------------------------------------------------------------- question sets
@dataclass(frozen=True)
class Question:
    """One question of a set. `doc_ids`, when given, are the documents that hold the answer (benchmarks)."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str | None = None
    doc_ids: tuple[str, ...] = ()
    line: int | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_question(obj, line: int) -> Question:
    """A `Question` from one decoded JSONL object; ValueError says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f'"question" is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}')
    if "answers" not in obj:
        raise ValueError('"answers" is missing; give a list of answers, or [] when the documents do not answer it')
    answers = obj["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError('"answers" must be a list of non-empty strings ([] when the documents do not answer it)')
    evidence = obj.get("evidence")
    if evidence is not None and (not isinstance(evidence, str) or not evidence.strip()):
        raise ValueError('"evidence" must be a non-empty string when given')
    qid = obj.get("id", f"line-{line}")
    if not isinstance(qid, (str, int)) or isinstance(qid, bool):
        raise ValueError('"id" must be a string or a number when given')
    return Question(id=str(qid), question=question.strip(), answers=tuple(answers), evidence=evidence, line=line)


def load_questions(path: str | Path, strict: bool = False) -> tuple[list[Question], list[LineProblem]]:
    """Questions of a JSONL file, and the malformed lines that were skipped (an InputError instead with strict)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"question set not found: {path}; give the path of a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL") from None
    questions, problems = [], []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            questions.append(parse_question(json.loads(text), number))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            problem = LineProblem(number, str(exc))
            if strict:
                raise InputError(f"{path}: {problem}; fix the line or drop --strict to skip it") from None
            logger.warning("%s: skipped %s", path, problem)
            problems.append(problem)
    if not questions:
        raise InputError(f"{path} holds no usable questions; each line needs a JSON object with "
                         '"question" and "answers"')
    return questions, problems


# --------------------------------------------------------------------------- SQuAD answer metrics
# The normalisation of the official SQuAD v1.1 evaluation script, so EM/F1 compare with published figures.
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch).startswith("P")


def normalize_answer(text: str, unicode_punctuation: bool = False) -> str:
    """Lower case, no ASCII punctuation, no articles, single spaces (SQuAD v1.1).

    `unicode_punctuation` also drops curly quotes, dashes and the like, which the official script keeps.
    """
    drop = _is_punctuation if unicode_punctuation else _PUNCTUATION.__contains__
    text = "".join(ch for ch in text.lower() if not drop(ch))
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    if prediction is None or not golds:
        return 0.0
    normalized = normalize_answer(prediction)
    return float(any(normalized == normalize_answer(g) for g in golds))


def token_f1(prediction: str | None, golds: Sequence[str]) -> float:
    if prediction is None or not golds:
        return 0.0
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        wanted = normalize_answer(gold).split()
        common = sum((Counter(predicted) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(predicted), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str | None, golds: Sequence[str]) -> bool:
    """Whether a gold answer appears in the text as whole words, both normalised.

    Unicode punctuation is dropped too: a quote that reads ‘Internal Tension’ must still contain the answer.
    """
    if not text:
        return False
    haystack = f" {normalize_answer(text, True)} "
    return any(n and f" {n} " in haystack for n in (normalize_answer(g, True) for g in golds))


# --------------------------------------------------------------------------- per-question results
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

    @property
    def declined(self) -> bool:
        return self.answer is None


class _EvidenceLocator:
    """Character spans of a question's evidence in a document, found once per (document, evidence)."""

    def __init__(self, index):
        self._index = index
        self._cache: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def spans(self, doc_id: str, evidence: str) -> list[tuple[int, int]]:
        key = (doc_id, evidence)
        if key not in self._cache:
            text = self._index.document_text(doc_id)
            spans = [(m.start(), m.start() + len(evidence)) for m in re.finditer(re.escape(evidence), text)]
            if not spans:
                # Evidence copied from a rendered page may differ in spacing or case; match it loosely.
                loose = r"\s+".join(re.escape(w) for w in evidence.split())
                spans = [m.span() for m in re.finditer(loose, text, re.IGNORECASE)]
            self._cache[key] = spans
        return self._cache[key]

    def overlaps(self, doc_id: str, start: int, end: int, evidence: str) -> bool:
        return any(start < e and s < end for s, e in self.spans(doc_id, evidence))


def _relevant(question: Question, hit, locator: _EvidenceLocator) -> bool:
    if question.doc_ids:
        return hit.doc_id in question.doc_ids
    if question.evidence:
        return locator.overlaps(hit.doc_id, hit.start, hit.end, question.evidence)
    return contains_answer(hit.text, question.answers)


def _citation_correct(question: Question, citation, locator: _EvidenceLocator) -> bool:
    if question.doc_ids and citation.doc_id not in question.doc_ids:
        return False
    if contains_answer(citation.quote, question.answers):
        return True
    return bool(question.evidence) and locator.overlaps(citation.doc_id, citation.start, citation.end,
                                                        question.evidence)


def _evaluate_question(index, question: Question, mode: str, k: int, threshold: float,
                       locator: _EvidenceLocator) -> QuestionResult:
    hits = index.retrieve(question.question, k=max(k, RETRIEVAL_DEPTH), mode=mode)
    rank = None
    if question.answerable:
        rank = next((h.rank for h in hits if _relevant(question, h, locator)), None)
    started = time.perf_counter()
    # Threshold 0 never declines on confidence, so one call gives the would-be answer for calibration; the
    # reader declines exactly when confidence < threshold, so the real decision follows from the confidence.
    reading = index.answer(question.question, k=k, mode=mode, threshold=0.0)
    seconds = time.perf_counter() - started
    would_be = reading.text
    answer = would_be if would_be is not None and reading.confidence >= threshold else None
    citation = reading.citations[0] if answer is not None and reading.citations else None
    contained = question.answerable and contains_answer(answer, question.answers)
    citation_ok = None
    if citation is not None and question.answerable:
        citation_ok = _citation_correct(question, citation, locator)
    failures = []
    if question.answerable:
        if rank is None or rank > k:
            failures.append(f"no relevant passage in the top {k}")
        if answer is None:
            failures.append(f"declined (confidence {reading.confidence:.2f} < {threshold:.2f})")
        elif not contained:
            failures.append("the answer does not contain a gold answer")
        if citation_ok is False:
            failures.append("the citation neither contains a gold answer nor overlaps the evidence")
    elif answer is not None:
        failures.append(f"answered a question the documents do not answer (confidence {reading.confidence:.2f})")
    top = reading.hits[0] if reading.hits else None
    return QuestionResult(
        id=question.id,
        question=question.question,
        answers=question.answers,
        answerable=question.answerable,
        rank=rank,
        answer=answer,
        would_be_answer=would_be,
        confidence=float(reading.confidence),
        exact=exact_match(answer, question.answers),
        f1=token_f1(answer, question.answers),
        contained=contained,
        would_be_contained=question.answerable and contains_answer(would_be, question.answers),
        citation_correct=citation_ok,
        citation=None if citation is None else {"source": citation.source, "start": citation.start,
                                                "end": citation.end},
        top_passage=None if top is None else {"source": top.source, "start": top.start, "end": top.end,
                                              "text": top.text},
        seconds=seconds,
        failures=tuple(failures),
    )


# --------------------------------------------------------------------------- aggregates
def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def retrieval_metrics(ranks: Sequence[int | None], depth: int = RETRIEVAL_DEPTH) -> dict[str, float | None]:
    """hit@1/3/5 and MRR@depth from the rank of each question's first relevant passage (None: not found)."""
    metrics: dict[str, float | None] = {f"hit@{n}": _mean(r is not None and r <= n for r in ranks) for n in HIT_AT}
    metrics[f"mrr@{depth}"] = _mean(1 / r if r is not None and r <= depth else 0.0 for r in ranks)
    return metrics


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
def _modes(index, mode: str | None) -> list[str]:
    if mode is None:
        return [index.default_mode()]
    if mode == ALL_MODES:
        return list(MODES)
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use one of {', '.join(MODES)} or {ALL_MODES}")
    return [mode]


def evaluate(
    questions: str | Path | Sequence[Question],
    index=None,
    *,
    mode: str | None = None,
    k: int = 5,
    strict: bool = False,
    show_progress: bool = False,
) -> EvaluationReport:
    """Score `index` (default: the default index) on a question set (a JSONL path or `Question`s).

    `mode` is lexical, dense, hybrid, "all" (modes that cannot run are reported with the reason) or None for the
    index's default mode. Retrieval metrics use the top 10 passages, the reader the top `k`.

    >>> report = rag.evaluate("seeds/questions.jsonl", mode="lexical")   # doctest: +SKIP
    >>> report.modes["lexical"].retrieval["hit@1"]                        # doctest: +SKIP
    """
    k = validate_k(k)
    if index is None:
        from .api import default_index

        index = default_index(show_progress=show_progress)
    problems: list[LineProblem] = []
    if isinstance(questions, (str, Path)):
        source = str(questions)
        questions, problems = load_questions(questions, strict=strict)
    else:
        source = "<questions>"
        questions = list(questions)
        if not questions:
            raise InputError("there are no questions to evaluate; give at least one")
    wanted = _modes(index, mode)
    unavailable = index.unavailable_modes()
    if all(m in unavailable for m in wanted):
        raise ModelUnavailableError(f"{wanted[0]} evaluation needs a semantic model: {unavailable[wanted[0]]}; "
                                    f"or use --mode lexical")
    threshold = index.decline_threshold
    locator = _EvidenceLocator(index)
    reports: dict[str, ModeReport] = {}
    for name in wanted:
        if name in unavailable:
            reports[name] = ModeReport(name, available=False, reason=unavailable[name])
            continue
        from tqdm.auto import tqdm

        results = [
            _evaluate_question(index, q, name, k, threshold, locator)
            for q in tqdm(questions, desc=f"Evaluating {name}", unit="question", disable=not show_progress)
        ]
        reports[name] = summarize(name, results)
    answerable = sum(q.answerable for q in questions)
    return EvaluationReport(source=source, k=k, depth=max(k, RETRIEVAL_DEPTH), decline_threshold=threshold,
                            questions=len(questions), answerable=answerable,
                            unanswerable=len(questions) - answerable, modes=reports, problems=tuple(problems))


# --------------------------------------------------------------------------- calibration
def _point(results: Sequence[QuestionResult], threshold: float) -> CalibrationPoint:
    counts = Counter()
    for r in results:
        answered = r.would_be_answer is not None and r.confidence >= threshold
        if r.answerable:
            counts["right" if answered and r.would_be_contained else "wrong" if answered else "declined"] += 1
        else:
            counts["u_answered" if answered else "u_declined"] += 1
    return CalibrationPoint(
        threshold=threshold,
        answered_correctly=counts["right"],
        answered_wrongly=counts["wrong"],
        answerable_declined=counts["declined"],
        unanswerable_declined=counts["u_declined"],
        unanswerable_answered=counts["u_answered"],
        correct_behaviour=(counts["right"] + counts["u_declined"]) / max(1, len(results)),
    )


def choose_threshold(results: Sequence[QuestionResult]) -> float:
    """The decline threshold with the most correct behaviour on these results.

    Only thresholds between two observed confidences differ, so each gap is tried at its midpoint; ties go to the
    widest gap, which leaves the most margin for questions not in the set.
    """
    confidences = sorted({r.confidence for r in results if r.would_be_answer is not None})
    options = [(0.0, confidences[0] if confidences else 1.0)]  # (threshold, margin)
    bounds = confidences + ([1.0] if not confidences or confidences[-1] < 1.0 else [])
    for low, high in zip(bounds, bounds[1:]):
        middle = (low + high) / 2
        rounded = round(middle, 3)
        options.append((rounded if low < rounded <= high else middle, high - low))
    return max(options, key=lambda o: (_point(results, o[0]).correct_behaviour, o[1], -o[0]))[0]


def calibrate(report: EvaluationReport, index, mode: str | None = None, store: bool = True) -> Calibration:
    """Choose the decline threshold on the report's answers in `mode` (default: the index's) and store it."""
    mode = mode or index.default_mode()
    mode_report = report.modes.get(mode)
    if mode_report is None or not mode_report.available:
        raise InputError(f"the report has no {mode} results to calibrate on; evaluate with --mode {mode}")
    results = mode_report.results
    if not any(r.answerable for r in results) or all(r.answerable for r in results):
        logger.warning("the question set needs both answerable and unanswerable questions for calibration to "
                       "weigh answering against declining; add some of the kind it lacks")
    threshold = choose_threshold(results)
    curve = tuple(_point(results, t) for t in sorted(set(CURVE_THRESHOLDS) | {threshold}))
    previous = index.decline_threshold
    if store:
        index.set_decline_threshold(threshold)
    return Calibration(mode=mode, threshold=threshold, previous=previous, best=_point(results, threshold),
                       curve=curve, stored=store)


# --------------------------------------------------------------------------- reports
_ROWS = (
    ("retrieval", "hit@1"), ("retrieval", "hit@3"), ("retrieval", "hit@5"), ("retrieval", f"mrr@{RETRIEVAL_DEPTH}"),
    ("answers", "exact_match"), ("answers", "f1"), ("answers", "containment"), ("answers", "citation_accuracy"),
    ("abstention", "unanswerable_declined"), ("abstention", "answerable_declined"),
    ("latency", "p50_s"), ("latency", "p95_s"),
)
_LABELS = {"exact_match": "exact match", "f1": "token F1", "citation_accuracy": "citation accuracy",
           "unanswerable_declined": "unanswerable declined", "answerable_declined": "answerable declined (wrong)",
           "p50_s": "p50 per question", "p95_s": "p95 per question"}


def _cell(group: str, value) -> str:
    if value is None:
        return "n/a"
    if group == "latency":
        return f"{value * 1000:.1f} ms"
    return f"{value:.3f}"


def format_table(report: EvaluationReport) -> str:
    """The metrics of every mode side by side, then the reasons for modes that could not run."""
    names = list(report.modes)
    lines = [
        f"{report.questions} questions ({report.answerable} answerable, {report.unanswerable} unanswerable) from "
        f"{report.source}; reader k={report.k}, retrieval depth {report.depth}, decline threshold "
        f"{report.decline_threshold:.3f}",
        "",
        f"{'':12}{'metric':30}" + "".join(f"{n:>13}" for n in names),
    ]
    previous_group = None
    for group, key in _ROWS:
        cells = []
        for name in names:
            mode = report.modes[name]
            cells.append(_cell(group, getattr(mode, group).get(key)) if mode.available else "unavailable")
        label = group if group != previous_group else ""
        previous_group = group
        lines.append(f"{label:12}{_LABELS.get(key, key):30}" + "".join(f"{c:>13}" for c in cells))
    for name in names:
        if not report.modes[name].available:
            lines.append(f"{name} unavailable: {report.modes[name].reason}")
    if report.problems:
        lines.append(f"Skipped {len(report.problems)} malformed line(s): "
                     + "; ".join(str(p) for p in report.problems))
    return "\n".join(lines)


def format_failures(report: EvaluationReport, limit: int | None = 50) -> str:
    """The questions each mode got wrong, with what it returned."""
    lines = []
    for name, mode in report.modes.items():
        failures = mode.failures
        if not mode.available or not failures:
            continue
        lines.append(f"Failed questions ({name}): {len(failures)} of {len(mode.results)}")
        for result in failures[:limit]:
            lines.append(f"  [{result.id}] {result.question}")
            gold = " | ".join(result.answers) if result.answers else "(none: the documents do not answer it)"
            lines.append(f"      gold: {gold}")
            returned = (f"“{_shorten(result.answer)}”" if result.answer is not None
                        else f"declined (confidence {result.confidence:.2f})")
            lines.append(f"      returned: {returned}")
            if result.answerable:
                lines.append(f"      first relevant passage: {'not in the top ' + str(report.depth) if result.rank is None else 'rank ' + str(result.rank)}")
            lines.append(f"      why: {'; '.join(result.failures)}")
        if limit is not None and len(failures) > limit:
            lines.append(f"  ... and {len(failures) - limit} more (all are in the --json report)")
    return "\n".join(lines)


def _shorten(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_calibration(calibration: Calibration) -> str:
    lines = [
        f"Calibration on {calibration.mode} answers: decline threshold {calibration.threshold:.3f} "
        f"(was {calibration.previous:.3f}), correct behaviour {calibration.best.correct_behaviour:.3f}",
        f"{'threshold':>9}  {'answered right':>14}  {'answered wrong':>14}  {'wrongly declined':>16}  "
        f"{'unanswerable declined':>21}  {'correct behaviour':>17}",
    ]
    for p in calibration.curve:
        marker = "  <- chosen" if p.threshold == calibration.threshold else ""
        lines.append(f"{p.threshold:>9.3f}  {p.answered_correctly:>14}  {p.answered_wrongly:>14}  "
                     f"{p.answerable_declined:>16}  {p.unanswerable_declined:>10} of {p.unanswerable_declined + p.unanswerable_answered:<7}  "
                     f"{p.correct_behaviour:>17.3f}{marker}")
    if calibration.stored:
        lines.append("Stored in the index; `rag ask` and `rag chat` now decline below it.")
    return "\n".join(lines)


def write_report(report: EvaluationReport, path: str | Path) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report to {path} ({exc.strerror}); choose another --json path") from None


def run_cli(args, index) -> int:
    """`rag eval`: evaluate, print the table and the failures, write --json, and --calibrate if asked."""
    mode = args.mode
    report = evaluate(args.questions, index, mode=mode, k=args.k, strict=args.strict,
                      show_progress=sys.stderr.isatty())
    if args.calibrate:
        from dataclasses import replace

        single = mode if mode in MODES else None
        report = replace(report, calibration=calibrate(report, index, mode=single))
    print(format_table(report))
    failures = format_failures(report)
    if failures:
        print()
        print(failures)
    if report.calibration is not None:
        print()
        print(format_calibration(report.calibration))
    if args.json:
        write_report(report, args.json)
        print(f"\nWrote the full report to {args.json}")
    return 0
