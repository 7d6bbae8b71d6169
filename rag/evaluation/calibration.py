"""Calibrated abstention: choose the decline threshold that maximises correct behaviour on evaluated answers.

Each question is answered once at threshold 0 (see `runner.py`); thresholds are then swept offline. The chosen
one can be stored in the index. This module neither runs questions nor prints.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

from ..errors import InputError
from .reports import Calibration, CalibrationPoint, EvaluationReport, QuestionResult

logger = logging.getLogger(__name__)

CURVE_THRESHOLDS = tuple(i / 10 for i in range(11))
CV_FOLDS = 5


def _tally(scored: Iterable[tuple[QuestionResult, float]], threshold: float) -> CalibrationPoint:
    """Counts of what each question does at its own threshold; `threshold` is the one the point reports."""
    counts = Counter()
    n = 0
    for r, at in scored:
        n += 1
        answered = r.would_be_answer is not None and r.confidence >= at
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
        correct_behaviour=(counts["right"] + counts["u_declined"]) / max(1, n),
    )


def _point(results: Sequence[QuestionResult], threshold: float) -> CalibrationPoint:
    return _tally(((r, threshold) for r in results), threshold)


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


def cross_validated(results: Sequence[QuestionResult], folds: int = CV_FOLDS,
                    chosen: float | None = None) -> tuple[CalibrationPoint, str] | None:
    """What thresholds chosen without the questions they are scored on do, and how it was measured: the questions
    are split into `folds` parts (by a hash of their id), each part scored at the threshold chosen on the others;
    under 2 * `folds` questions, each question is scored at the threshold chosen on all the others (leave-one-out).
    The point's counts add up over the parts; its threshold is the one chosen on all the questions (`chosen`, when
    the caller has it), whose behaviour they estimate. None for fewer than two questions."""
    import hashlib

    if len(results) < 2:
        return None
    if len(results) < 2 * folds:
        folds, how = len(results), "leave-one-out cross-validation"
        part = list(range(len(results)))
    else:
        how = f"{folds}-fold cross-validation"
        part = [int(hashlib.sha1(r.id.encode()).hexdigest(), 16) % folds for r in results]
    scored = []  # each question with the threshold chosen without its part
    for f in range(folds):
        train = [r for r, p in zip(results, part) if p != f]
        test = [r for r, p in zip(results, part) if p == f]
        if test:
            at = choose_threshold(train)
            scored += [(r, at) for r in test]
    return _tally(scored, choose_threshold(results) if chosen is None else chosen), how


def calibrate(report: EvaluationReport, index, mode: str | None = None, store: bool = True,
              heldout: EvaluationReport | None = None) -> Calibration:
    """Choose the decline threshold on the report's answers in `mode` (default: the index's) and store it."""
    mode = mode or index.default_mode()
    mode_report = report.modes.get(mode)
    if mode_report is None or not mode_report.available:
        raise InputError(f"the report has no {mode} results to calibrate on; evaluate with --mode {mode}")
    results = mode_report.results
    if len(results) < 2 and heldout is None:
        raise InputError("calibration needs at least two questions, so that its figure is measured on questions "
                         "the threshold was not chosen on; add questions to the set or pass --heldout")
    if not any(r.answerable for r in results) or all(r.answerable for r in results):
        logger.warning("the question set needs both answerable and unanswerable questions for calibration to "
                       "weigh answering against declining; add some of the kind it lacks")
    threshold = choose_threshold(results)
    curve = tuple(_point(results, t) for t in sorted(set(CURVE_THRESHOLDS) | {threshold}))
    previous = index.threshold_for(mode)
    if store:
        index.set_decline_threshold(threshold, mode)
    if heldout is not None and heldout.modes.get(mode) is not None and heldout.modes[mode].available:
        # Scored on a second set the threshold was not chosen on.
        estimate, how = _point(heldout.modes[mode].results, threshold), "held-out set"
    else:
        estimate, how = cross_validated(results, chosen=threshold) or (None, "")
    return Calibration(mode=mode, threshold=threshold, previous=previous, best=_point(results, threshold),
                       curve=curve, stored=store, heldout=estimate, heldout_method=how,
                       heldout_correct_behaviour=None if estimate is None else estimate.correct_behaviour)

