"""Fusing BM25 and dense retrieval: a convex mix of normalised scores (the default), or reciprocal ranks.

`score_fusion` rescales each retriever's scores over the candidate passages (the union of both retrievers' top
lists), by z-score (default) or min-max, and mixes them with one weight. Unlike rank fusion it keeps *how much* better the
best BM25 passage is than the next: on SQuAD, where questions share rare words with their paragraph, BM25's
margin at the top is strong evidence, and RRF, which sees only ranks, costs hit@1 against BM25 alone while the
score mix gains (benchmarks/tune_fusion.py). `reciprocal_rank_fusion` stays for callers that want ranks only.

This module only combines scores it is given: it neither searches nor knows where the scores come from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

# Chosen on the 20 training articles of SQuAD v1.1 dev (4,862 questions; rag.squad.is_held_out), never on the
# held-out ones, with all-MiniLM-L6-v2 and whole paragraphs, by
#     .venv/bin/python benchmarks/tune_fusion.py
# which scores 630 settings (min-max, z-score and txtai-style mixes at weights 0 to 1 by 0.05, RRF at k 1 to 100,
# each at candidate depths 5 to 100) and takes the best training MRR@10. Training figures of this setting:
# hit@1 0.810, hit@3 0.930, hit@5 0.954, MRR@10 0.873 (BM25 alone 0.780 / 0.896 / 0.934 / 0.845; RRF k=60 equal
# weights 0.732 / 0.893 / 0.932 / 0.819; best RRF, k=1 and dense weight 0.3, 0.785 / 0.921 / 0.951 / 0.857).
# The score mixes are within 0.002 MRR of each other (min-max w=0.40 at depth 20-50: 0.871), and 5-fold
# cross-validation over training articles puts the choice at 0.807 / 0.927 / 0.953 / 0.871 on unseen articles.
NORMALISATION = "zscore"
DENSE_WEIGHT = 0.45  # share of the (normalised) cosine in the mix; BM25 gets the rest
CANDIDATE_DEPTH = 100  # passages each retriever contributes to the candidate union before fusing
NORMALISATIONS = ("minmax", "zscore")


def normalise(scores: Mapping[int, float], method: str = NORMALISATION) -> dict[int, float]:
    """Scores rescaled over the given candidates: "minmax" to [0, 1] (all equal: all 0.5, so the other retriever
    decides), or "zscore" to mean 0 and unit deviation (all equal: all 0).

    >>> normalise({1: 10.0, 2: 5.0, 3: 0.0}, "minmax")
    {1: 1.0, 2: 0.5, 3: 0.0}
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {method!r}; use one of {', '.join(NORMALISATIONS)}")
    if not scores:
        return {}
    values = list(scores.values())
    if method == "minmax":
        low, high = min(values), max(values)
        if high == low:
            return dict.fromkeys(scores, 0.5)
        return {i: (s - low) / (high - low) for i, s in scores.items()}
    mean = sum(values) / len(values)
    deviation = math.sqrt(sum((s - mean) ** 2 for s in values) / len(values))
    if deviation == 0:
        return dict.fromkeys(scores, 0.0)
    return {i: (s - mean) / deviation for i, s in scores.items()}


def score_fusion(
    lexical: Mapping[int, float],
    dense: Mapping[int, float],
    dense_weight: float = DENSE_WEIGHT,
    normalisation: str = NORMALISATION,
) -> list[tuple[int, float]]:
    """Fuse two retrievers' raw scores: (1 - w) * norm(bm25) + w * norm(cosine), best first (ties by id); norm is
    z-score by default (see the constants above), or "minmax".

    Give both retrievers' scores for the same candidates (the union of their top lists), so each is normalised
    over the same set; an id that one mapping lacks gets that retriever's lowest normalised score, as if it had
    ranked last. w = 0 ranks by BM25 alone, w = 1 by cosine alone.

    >>> score_fusion({1: 12.0, 2: 3.0, 3: 0.0}, {1: 0.30, 2: 0.70, 3: 0.50}, dense_weight=0.35, normalisation="minmax")[0][0]
    1
    """
    if not 0.0 <= dense_weight <= 1.0 or math.isnan(dense_weight):
        raise ValueError(f"dense_weight {dense_weight} is outside [0, 1]; 0 is BM25 alone, 1 is dense alone")
    lexical_norm = normalise(lexical, normalisation)
    dense_norm = normalise(dense, normalisation)
    lexical_floor = min(lexical_norm.values(), default=0.0)
    dense_floor = min(dense_norm.values(), default=0.0)
    fused = {
        i: (1.0 - dense_weight) * lexical_norm.get(i, lexical_floor) + dense_weight * dense_norm.get(i, dense_floor)
        for i in lexical_norm.keys() | dense_norm.keys()
    }
    # Ties broken by id so results are deterministic.
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked id lists (Cormack et al., 2009): score(id) = sum over lists of weight / (k + rank), rank
    starting at 1. It uses ranks, not raw scores, so BM25's unbounded scores need no normalising.

    >>> reciprocal_rank_fusion({"a": [1, 2], "b": [2, 3]}, {"a": 1.0, "b": 1.0}, k=60)[0][0]
    2
    """
    fused: dict[int, float] = {}
    for name, ids in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ids, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    # Ties broken by id so results are deterministic.
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
