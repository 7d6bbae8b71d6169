"""The reader's second stage: features of the first stage's best candidates once the cross reader has read them.

The first stage's best few candidates are each read with the question by the cross reader (rag/cross_reader.py)
and rescored from both readings. How many are read, when to read further, and which of these columns the
logistic uses are chosen on training articles by scripts/train_reader.py; the weights file stores them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .scoring import _WORDS

STAGE2_FEATURES = ("logit", "logit_gap", "cross", "cross_gap", "cross_rank", "span_chars", "span_in_question")
# The cross reader's short answer in the sentence: used when they help out of fold (train_reader.py chooses).
SHORT_ANSWER_FEATURES = ("span_chars", "span_in_question")


def stage2_features(logits: np.ndarray, cross: np.ndarray, spans: Sequence[str], question: str) -> np.ndarray:
    """One row per candidate read (STAGE2_FEATURES): its first-stage logit (and gap to the best), its cross-reader
    score (and gap to the best read, and rank among those read), and the cross reader's short answer in it (`spans`,
    its text): its length in characters and the share of its words the question has (an answer that repeats the
    question seldom answers it)."""
    logits, cross = np.asarray(logits, dtype=np.float64), np.asarray(cross, dtype=np.float64)
    ranks = np.empty(len(cross))
    ranks[np.argsort(-cross, kind="stable")] = np.arange(len(cross))
    asked = {w.lower() for w in _WORDS.findall(question)}
    said = [{w.lower() for w in _WORDS.findall(span)} for span in spans]
    return np.column_stack([logits, logits - logits.max(), cross, cross - cross.max(), 1.0 / (1.0 + ranks),
                            [float(len(span)) for span in spans],
                            [len(w & asked) / max(1, len(w)) for w in said]])
