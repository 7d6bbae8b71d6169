"""`Retriever`: ranks a store's passages for a question, lexically (BM25), densely (embeddings) or both fused.

It decides which modes can run (dense ones need vectors in the store and a model that loads), takes each
retriever's top passages (`CANDIDATE_DEPTH`; `rag.fusion.CANDIDATE_DEPTH` for score fusion), fuses them in hybrid
mode (by default a convex mix of normalised BM25 and cosine over the union of both lists, `rag.fusion`), and
returns typed `Hit`s with every retriever's score. It works on any `Store`. It neither reads answers nor verifies citations.
"""

from __future__ import annotations

import logging

import numpy as np

from .config import MODES, Config
from .encoding import ENABLE_HINT, Encoder
from .errors import InputError, ModelUnavailableError
from . import fusion
from .fusion import reciprocal_rank_fusion, score_fusion
from .lexical import analyze
from .store import Store
from .types import Hit

logger = logging.getLogger(__name__)

CANDIDATE_DEPTH = 50  # passages each retriever contributes before rank fusion (score fusion: fusion.CANDIDATE_DEPTH)


class Retriever:
    def __init__(self, store: Store, encoder: Encoder | None, config: Config):
        self.store = store
        self.encoder = encoder
        self.config = config
        self._dense_error: str | None = None

    # ----------------------------------------------------------------- modes
    def dense_available(self) -> bool:
        """Whether semantic search can run: the store has vectors and the model loads. Loads the model."""
        if not self.store.has_vectors() or self.encoder is None:
            return False
        if self._dense_error is None:
            try:
                self.encoder.load()
                return True
            except ModelUnavailableError as exc:
                self._dense_error = str(exc)
                logger.warning("semantic search is off: %s. Continuing with BM25 only.", exc)
        return False

    def unavailable_modes(self) -> dict[str, str]:
        """Modes that cannot run here, with the reason (empty when all can)."""
        if self.dense_available():
            return {}
        if not self.store.has_vectors():
            reason = f"this index was built without a semantic model; {ENABLE_HINT}"
        else:
            reason = self._dense_error or "the semantic model did not load"
        return {"dense": reason, "hybrid": reason}

    def modes(self) -> list[str]:
        return ["lexical"] + (["dense", "hybrid"] if self.dense_available() else [])

    def default_mode(self) -> str:
        if self.config.mode:
            return self.config.mode
        return "hybrid" if self.dense_available() else "lexical"

    def resolve_mode(self, mode: str | None) -> str:
        mode = mode or self.default_mode()
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; use lexical, dense or hybrid")
        if mode != "lexical" and not self.dense_available():
            raise ModelUnavailableError(
                f"{mode} retrieval needs a semantic model: {self.unavailable_modes()[mode]}; or use --mode lexical"
            )
        return mode

    # ----------------------------------------------------------------- ranking
    def retrieve(self, question: str, k: int, mode: str) -> tuple[list[Hit], np.ndarray | None]:
        """Hits best first, and the query's embedding when a dense mode made one (the reader reuses it).

        `question`, `k` and `mode` are already validated and resolved.
        """
        scored = mode == "hybrid" and self.config.fusion == "score"
        depth = max(fusion.CANDIDATE_DEPTH if scored else CANDIDATE_DEPTH, k)
        rankings: dict[str, list[int]] = {}
        lexical_scores: dict[int, float] = {}
        dense_scores: dict[int, float] = {}
        terms = analyze([question])[0] if mode != "dense" else []
        query_vector = None
        if mode in ("lexical", "hybrid"):
            # A store that analyses text itself (Milvus with its own analyser) takes the question as written.
            search_text = getattr(self.store, "lexical_search_text", None)
            ids, scores = search_text(question, depth) if search_text else self.store.lexical_search(terms, depth)
            lexical_scores = dict(zip(ids.tolist(), scores.tolist()))
            rankings["bm25"] = ids.tolist()
        if mode in ("dense", "hybrid"):
            query_vector = self.encoder.encode_queries([question])[0]
            ids, sims = self.store.dense_search(query_vector, depth)
            dense_scores = dict(zip(ids.tolist(), sims.tolist()))
            rankings["dense"] = ids.tolist()

        if scored:
            # Both scores of every candidate, so each retriever is normalised over the same union.
            union = set(lexical_scores) | set(dense_scores)
            self._fill_scores(terms, query_vector, lexical_scores, dense_scores, union)
            ranked = score_fusion(lexical_scores, dense_scores, self.config.fusion_weight, fusion.NORMALISATION)
        elif mode == "lexical":
            ranked = list(lexical_scores.items())
        elif mode == "dense":
            ranked = list(dense_scores.items())
        else:
            weights = {"bm25": self.config.lexical_weight, "dense": self.config.dense_weight}
            ranked = reciprocal_rank_fusion(rankings, weights, k=self.config.rrf_k)
        ranked = ranked[:k]

        if mode == "hybrid" and not scored:
            # Fill in each retriever's score of the passages only the other one found, for the score table.
            self._fill_scores(terms, query_vector, lexical_scores, dense_scores, [i for i, _ in ranked])
        hits = []
        for rank, (passage_id, score) in enumerate(ranked, start=1):
            scores = {}
            if mode != "dense":
                scores["bm25"] = float(lexical_scores[passage_id])
            if passage_id in dense_scores:
                scores["dense"] = float(dense_scores[passage_id])
            if mode == "hybrid":
                scores["fused"] = float(score)
            hits.append(self._hit(passage_id, rank, score, scores))
        return hits, query_vector

    def _fill_scores(self, terms, query_vector, lexical_scores: dict[int, float], dense_scores: dict[int, float],
                     ids) -> None:
        """Add each retriever's score of the `ids` that only the other retriever returned."""
        missing = [i for i in ids if i not in dense_scores]
        if missing:
            dense_scores.update(zip(missing, self.store.dense_similarity(query_vector, missing).tolist()))
        missing = [i for i in ids if i not in lexical_scores]
        if missing:
            lexical_scores.update(zip(missing, self.store.lexical_scores(terms, missing).tolist()))

    def _hit(self, passage_id: int, rank: int, score: float, scores: dict[str, float]) -> Hit:
        row = self.store.passage(passage_id)
        document = self.store.document(row.doc_index)
        text = self.store.text(row.doc_index)[row.start : row.end]
        return Hit(text=text, score=float(score), doc_id=document.doc_id, source=document.source, start=row.start,
                   end=row.end, passage_id=int(passage_id), rank=rank, scores=scores)
