"""What the `rag` command prints: answers, evaluation tables, failures and calibration curves; the JSON report.

Formatting only: every function takes a result object of the library and returns text (or writes the report).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError
from .evaluation.metrics import RETRIEVAL_DEPTH

if TYPE_CHECKING:
    from .evaluation import Calibration, EvaluationReport


def citation_place(citation) -> str:
    """Where a citation sits for a person: "page 3" (PDF), "§ Installation" (a heading), both, or ""."""
    parts = []
    if getattr(citation, "page", None):
        parts.append(f"page {citation.page}")
    if getattr(citation, "section", None):
        parts.append(f"§ {citation.section}")
    return ", ".join(parts)


def shown_source(citation) -> str:
    """The citation's file as it was named when indexing when that names it from the current folder too, else its
    absolute path (a relative name means nothing from another folder)."""
    if citation.path and os.path.realpath(citation.source) != os.path.realpath(citation.path):
        return citation.path
    return citation.source


def source_notes(answer, update_command: str) -> list[str]:
    """What the user must know about the answer's files: changed since indexing, or gone."""
    notes = [f"{source} changed since it was indexed; run `{update_command}` to update."
             for source in answer.stale_sources]
    notes += [f"Answered from the indexed copy; the file {source} is gone." for source in answer.missing_sources]
    return notes


def format_sources_changed(changed, update_command: str, limit: int = 3) -> str:
    """One warning line for the documents whose files changed or went away since indexing."""
    names = ", ".join(f"{c.source} ({c.state})" for c in changed[:limit])
    more = f" and {len(changed) - limit} more" if len(changed) > limit else ""
    return (f"{plural(len(changed), 'indexed file')} changed since indexing: {names}{more}; run "
            f"`{update_command}` to update.")


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_answer(answer, threshold: float, update_command: str = "rag index DOCS") -> str:
    lines = []
    if answer.outcome == "stale":
        lines.append("The answer is in a file that changed since it was indexed, so it cannot be quoted "
                     f"(confidence {answer.confidence:.2f}).")
        lines.extend(source_notes(answer, update_command))
        return "\n".join(lines)
    if answer.declined:
        lines.append(f"The documents do not answer this question (confidence {answer.confidence:.2f}, "
                     f"below the {threshold:.2f} threshold).")
        if answer.hits:
            lines.append("Closest passages:")
            for hit in answer.hits[:3]:
                snippet = " ".join(hit.text.split())
                lines.append(f"  - {hit.source} [{hit.start}:{hit.end}]: {snippet[:160]}"
                             f"{'…' if len(snippet) > 160 else ''}")
        return "\n".join(lines)
    lines.append(f"Answer (confidence {answer.confidence:.2f}, {answer.mode} retrieval):")
    quote = answer.text.replace("\n", "\n     ")  # a hard-wrapped quote keeps its lines, under the first
    if getattr(answer, "span", None) is not None:
        lines.append(f"  {' '.join(answer.span.text.split())}")
        lines.append(f"  in “{quote}” [1]")
    else:
        lines.append(f"  “{quote}” [1]")
    lines.append("Citations:")
    for n, citation in enumerate(answer.citations, start=1):
        place = citation_place(citation)
        lines.append(f"  [{n}] {shown_source(citation)}, {place + ', ' if place else ''}"
                     f"characters {citation.start}-{citation.end}")
    lines.extend(f"Note: {note}" for note in source_notes(answer, update_command))
    return "\n".join(lines)


_ROWS = (
    ("retrieval", "hit@1"), ("retrieval", "hit@3"), ("retrieval", "hit@5"), ("retrieval", f"mrr@{RETRIEVAL_DEPTH}"),
    ("answers", "exact_match"), ("answers", "f1"), ("answers", "containment"), ("answers", "span_exact_match"),
    ("answers", "span_f1"), ("answers", "citation_accuracy"),
    ("abstention", "unanswerable_declined"), ("abstention", "answerable_declined"),
    ("latency", "p50_s"), ("latency", "p95_s"),
)
_LABELS = {"span_exact_match": "short answer EM", "span_f1": "short answer F1", "exact_match": "exact match", "f1": "token F1", "citation_accuracy": "citation accuracy",
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
    if calibration.heldout is not None:
        h = calibration.heldout
        answerable = h.answered_correctly + h.answered_wrongly + h.answerable_declined
        unanswerable = h.unanswerable_declined + h.unanswerable_answered
        lines.append(f"Away from the questions it was chosen on ({calibration.heldout_method}): answerable answered "
                     f"right {h.answered_correctly} of {answerable}, unanswerable declined {h.unanswerable_declined} "
                     f"of {unanswerable}, correct behaviour {h.correct_behaviour:.3f}; the in-sample figure above is "
                     f"optimistic.")
    else:
        lines.append("The held-out set had no results in this mode: no figure away from the questions the threshold "
                     "was chosen on, so the in-sample figure above is optimistic.")
    if calibration.stored:
        lines.append(f"Stored in the index for {calibration.mode} mode and this reader version; `rag ask` and "
                     "`rag chat` now decline below it.")
    return "\n".join(lines)


def write_report(report: EvaluationReport, path: str | Path) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report to {path} ({exc.strerror}); choose another --json path") from None


def sources_changed_line(index) -> str | None:
    """One line naming the indexed files that changed or went away since indexing (None when all are current, or
    when the index holds more documents than a start-up check should stat)."""
    from .sources import CHECK_SOURCES_UP_TO

    if index.manifest.document_count > CHECK_SOURCES_UP_TO:
        return None
    changed = index.changed_sources()
    return format_sources_changed(changed, index.update_command()) if changed else None
