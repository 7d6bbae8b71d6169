"""Run a question set against an index, mode by mode, and summarise what each mode did.

Metrics, each mode side by side:
  retrieval   hit@1/3/5 and MRR@10 over answerable questions. A passage is relevant when it overlaps the
              evidence's characters in its document (so evidence spanning two passages counts in either), or,
              without evidence, when it contains a gold answer; a benchmark may instead name the gold documents.
  answers     exact match and token F1 (SQuAD normalisation, best over gold answers), containment (a gold answer
              appears in the quoted answer) and citation accuracy (of answered questions, the share whose cited
              quote contains a gold answer or overlaps the evidence); declined questions score 0.
  abstention  the share of unanswerable questions declined, and of answerable questions wrongly declined.
  latency     seconds per `Index.answer` call (retrieval included), p50 and p95.

This module only calls `Index.retrieve` and `Index.answer`: it neither builds indexes nor changes how they rank
or read, it knows no benchmark's file format (see `rag.squad`), and it prints nothing (see `rag.cli_format`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from ..config import MODES
from ..errors import InputError, ModelUnavailableError
from ..validation import validate_k
from .metrics import RETRIEVAL_DEPTH, contains_answer, exact_match, token_f1
from .questions import LineProblem, Question, load_questions
from .reports import EvaluationReport, ModeReport, QuestionResult, summarize

ALL_MODES = "all"


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
    span = reading.span.text if answer is not None and reading.span is not None else None
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
        span=span,
        span_exact=exact_match(span, question.answers) if question.answerable else 0.0,
        span_f1=token_f1(span, question.answers) if question.answerable else 0.0,
        would_be_span=reading.span.text if reading.span is not None else None,
    )


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
    thresholds = {name: index.threshold_for(name) for name in wanted if name not in unavailable}
    locator = _EvidenceLocator(index)
    reports: dict[str, ModeReport] = {}
    for name in wanted:
        if name in unavailable:
            reports[name] = ModeReport(name, available=False, reason=unavailable[name])
            continue
        from tqdm.auto import tqdm

        results = [
            _evaluate_question(index, q, name, k, thresholds[name], locator)
            for q in tqdm(questions, desc=f"Evaluating {name}", unit="question", disable=not show_progress)
        ]
        reports[name] = summarize(name, results)
    answerable = sum(q.answerable for q in questions)
    return EvaluationReport(source=source, k=k, depth=max(k, RETRIEVAL_DEPTH), decline_threshold=threshold,
                            questions=len(questions), answerable=answerable,
                            unanswerable=len(questions) - answerable, modes=reports, problems=tuple(problems))

