"""Reciprocal-rank fusion of ranked lists (Cormack et al., 2009), with a weight per list.

RRF uses ranks, not raw scores, so BM25's unbounded scores and cosine similarities need no normalising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of weight / (k + rank), rank starting at 1.

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
