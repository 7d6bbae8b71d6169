"""Fusion of BM25 and dense scores: the score mix the product uses by default, and reciprocal ranks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag import fusion
from rag.fusion import normalise, reciprocal_rank_fusion, score_fusion

scores = st.dictionaries(st.integers(0, 50), st.floats(-100, 100, allow_nan=False), min_size=1, max_size=20)


def test_minmax_maps_candidates_onto_zero_to_one():
    assert normalise({7: 12.0, 8: 3.0, 9: 6.0}, "minmax") == {7: 1.0, 8: 0.0, 9: pytest.approx(1 / 3)}
    # All equal: nothing to tell them apart, so they sit in the middle and the other retriever decides.
    assert normalise({1: 4.0, 2: 4.0}, "minmax") == {1: 0.5, 2: 0.5}
    assert normalise({}, "minmax") == {}


def test_zscore_centres_and_scales():
    out = normalise({1: 1.0, 2: 3.0}, "zscore")
    assert out == {1: pytest.approx(-1.0), 2: pytest.approx(1.0)}
    assert normalise({1: 2.0, 2: 2.0}, "zscore") == {1: 0.0, 2: 0.0}
    with pytest.raises(ValueError, match="normalisation"):
        normalise({1: 1.0}, "softmax")


def test_the_score_mix_keeps_a_strong_bm25_margin_that_rank_fusion_loses():
    # Passage 1 wins BM25 by a mile and is dense's second; passage 2 wins dense by a hair and is BM25's second.
    lexical = {1: 20.0, 2: 4.0, 3: 3.5}
    dense = {1: 0.60, 2: 0.61, 3: 0.20}
    assert score_fusion(lexical, dense, dense_weight=0.35, normalisation="minmax")[0][0] == 1
    # Rank fusion sees two ties (1st + 2nd each) and falls back on ids; it cannot prefer passage 1 for its margin.
    rrf = reciprocal_rank_fusion({"bm25": [1, 2, 3], "dense": [2, 1, 3]}, {"bm25": 1.0, "dense": 1.0})
    assert rrf[0][1] == rrf[1][1]


@pytest.mark.parametrize("normalisation", ["minmax", "zscore"])
def test_the_weight_moves_the_ranking_from_bm25_to_dense(normalisation):
    lexical = {1: 10.0, 2: 6.0, 3: 0.0}
    dense = {1: 0.1, 2: 0.5, 3: 0.9}
    assert [i for i, _ in score_fusion(lexical, dense, 0.0, normalisation)] == [1, 2, 3]
    assert [i for i, _ in score_fusion(lexical, dense, 1.0, normalisation)] == [3, 2, 1]


def test_the_exact_minmax_mix():
    lexical = {1: 10.0, 2: 6.0, 3: 0.0}
    dense = {1: 0.1, 2: 0.5, 3: 0.9}
    # 1 -> 0.5 * 1 + 0.5 * 0, 2 -> 0.5 * 0.6 + 0.5 * 0.5, 3 -> 0.5 * 0 + 0.5 * 1.
    assert score_fusion(lexical, dense, 0.5, "minmax") == [(2, pytest.approx(0.55)), (1, 0.5), (3, 0.5)]


def test_the_exact_zscore_mix_which_is_the_default():
    assert fusion.NORMALISATION == "zscore"
    # BM25 {4, 0} -> z {+1, -1}; cosine {0.2, 0.6} -> z {-1, +1}; at w = 0.45: 0.55 - 0.45 and -0.55 + 0.45.
    fused = score_fusion({1: 4.0, 2: 0.0}, {1: 0.2, 2: 0.6}, dense_weight=0.45)
    assert [i for i, _ in fused] == [1, 2]
    assert [s for _, s in fused] == [pytest.approx(0.1), pytest.approx(-0.1)]
    # At w = 0.55 the same candidates swap: the weight, not the raw scale, decides.
    assert [i for i, _ in score_fusion({1: 4.0, 2: 0.0}, {1: 0.2, 2: 0.6}, dense_weight=0.55)] == [2, 1]


def test_an_id_one_retriever_lacks_counts_as_its_lowest():
    fused = dict(score_fusion({1: 5.0, 2: 1.0}, {2: 0.9, 3: 0.4}, dense_weight=0.5, normalisation="minmax"))
    assert fused == {1: 0.5, 2: 0.5, 3: 0.0}
    fused = dict(score_fusion({1: 5.0, 2: 1.0}, {2: 0.9, 3: 0.4}, dense_weight=0.5))  # z-scores: +1 and -1
    assert fused == {1: pytest.approx(0.0), 2: pytest.approx(0.0), 3: pytest.approx(-1.0)}


def test_ties_go_to_the_smaller_id_and_bad_weights_are_refused():
    assert score_fusion({5: 1.0, 4: 1.0}, {5: 0.3, 4: 0.3}, 0.5, "minmax") == [(4, 0.5), (5, 0.5)]
    for weight in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="dense_weight"):
            score_fusion({1: 1.0}, {1: 1.0}, dense_weight=weight)


def test_the_committed_setting_is_a_valid_one():
    assert fusion.NORMALISATION in fusion.NORMALISATIONS
    assert 0.0 < fusion.DENSE_WEIGHT < 1.0  # a real mix: neither retriever alone
    assert fusion.CANDIDATE_DEPTH >= 10  # MRR@10 needs ten passages


@given(scores, scores, st.floats(0, 1))
def test_fused_scores_are_a_convex_mix_of_minmax_scores(lexical, dense, weight):
    fused = score_fusion(lexical, dense, dense_weight=weight, normalisation="minmax")
    assert {i for i, _ in fused} == lexical.keys() | dense.keys()
    assert all(-1e-9 <= s <= 1 + 1e-9 for _, s in fused)
    assert [s for _, s in fused] == sorted((s for _, s in fused), reverse=True)


bm25_like = st.dictionaries(st.integers(0, 50), st.integers(0, 400).map(lambda n: n / 10), min_size=1, max_size=20)


@given(bm25_like, st.floats(0.01, 100), st.floats(-50, 50), st.sampled_from(["minmax", "zscore"]))
def test_fusion_ignores_the_scale_of_bm25_scores(lexical, scale, shift, normalisation):
    dense = {i: (i % 7) / 7 for i in lexical}
    rescaled = {i: s * scale + shift for i, s in lexical.items()}
    before = [i for i, _ in score_fusion(lexical, dense, 0.45, normalisation)]
    after = [i for i, _ in score_fusion(rescaled, dense, 0.45, normalisation)]
    assert before == after or _near_ties(lexical, dense, normalisation)


def _near_ties(lexical, dense, normalisation) -> bool:
    values = sorted(s for _, s in score_fusion(lexical, dense, 0.45, normalisation))
    return any(b - a < 1e-6 for a, b in zip(values, values[1:]))


def test_reciprocal_rank_fusion_weights_and_k():
    fused = reciprocal_rank_fusion({"a": [1, 2], "b": [2, 3]}, {"a": 1.0, "b": 1.0}, k=60)
    assert fused[0] == (2, pytest.approx(1 / 62 + 1 / 61))
    assert [i for i, _ in fused] == [2, 1, 3]
    # Weighting list b to zero leaves list a's order.
    assert [i for i, _ in reciprocal_rank_fusion({"a": [1, 2], "b": [2, 3]}, {"a": 1.0, "b": 0.0})][:2] == [1, 2]
