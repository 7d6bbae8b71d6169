"""The metrics of an evaluation: SQuAD v1.1 answer normalisation, exact match, token F1, containment, hit@k, MRR.

Pure functions of predictions and gold answers (or of ranks); they know nothing of indexes or question files.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

RETRIEVAL_DEPTH = 10  # MRR@10 needs ten passages whatever k the reader gets
HIT_AT = (1, 3, 5)


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

