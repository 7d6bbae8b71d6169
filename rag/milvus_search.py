"""Searching a Milvus index: lexical (BM25 inside Milvus) and dense search, scores of given passages, vectors.

Lexical analysis. By default (`analyser="rag"`) the BM25 input is the passage's terms as `rag.lexical.analyze`
makes them (stop words out, Snowball-stemmed), joined by spaces and split again by Milvus's whitespace tokenizer:
Milvus computes BM25 (k1 1.5, b 0.75, as bm25s) over exactly our terms, so lexical scores match the local index
and the reader's idf means the same. `analyser="english"` gives Milvus the raw passage text and its built-in
English analyser (standard tokenizer, lower-case, Snowball stemmer, Lucene's 33 stop words); it is kept for
comparison (benchmarks/milvus_compare.py, docs/scale-out.md), and queries then go to Milvus as raw text
(`lexical_search_text`).

`MilvusSearch` is a mixin of `MilvusStore`: it uses the store's client, target, manifest and position tables
(`_passages`, `_passage_base`, `_sentences`, `_sentence_base`, `_records`, `_terms`, `_df`, `_count`) and maps hits
from Milvus back to positions. It deliberately neither opens, builds nor changes an index (`milvus_store.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .lexical import analyze
from .milvus_schema import BM25_PARAMS, passage_key

RESCORE_DEPTH = 4  # candidates fetched per passage wanted when Milvus Lite's BM25 is scored again (`_rescored`)


class MilvusSearch:
    """The search half of `MilvusStore`'s `Store` contract."""

    # ----------------------------------------------------------------- positions and keys
    def _position(self, doc_id: str, number: int) -> int | None:
        try:
            doc_index = self._manifest.documents.position(doc_id)
        except KeyError:
            return None  # an entity of a document whose record is not written (an interrupted sync)
        return int(self._passage_base[doc_index]) + int(number)

    def _key(self, passage_id: int) -> int:
        doc_index = int(self._passages[passage_id][0])
        return passage_key(self._records[doc_index]["doc_id"], passage_id - int(self._passage_base[doc_index]))

    @staticmethod
    def _score(distance) -> float:
        return float(distance)

    def _hits(self, result) -> tuple[np.ndarray, np.ndarray]:
        found = []
        for hit in result[0] if result else []:
            entity = hit["entity"]
            position = self._position(entity["doc_id"], entity["passage_no"])
            if position is not None:
                found.append((position, self._score(hit["distance"])))
        found.sort(key=lambda x: (-x[1], x[0]))  # best first, ties by position as the local store
        return (np.asarray([f[0] for f in found], dtype=np.int64), np.asarray([f[1] for f in found], dtype=np.float32))

    # ----------------------------------------------------------------- lexical search
    def _lexical_query(self, terms: list[str]) -> str:
        return " ".join(terms)

    def lexical_search(self, terms: list[str], depth: int) -> tuple[np.ndarray, np.ndarray]:
        query = self._lexical_query(terms)
        if not query.strip():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not self._rescored():
            return self._bm25(query, depth)
        ids, _ = self._bm25(query, min(RESCORE_DEPTH * depth, 16_384))  # 16,384: Milvus's largest limit
        scores = self.lexical_scores(terms, ids)
        order = np.lexsort((ids, -scores))[:depth]
        keep = scores[order] > 0
        return ids[order][keep], scores[order][keep]

    def _rescored(self) -> bool:
        """Whether BM25 from Milvus needs scoring again with collection-wide statistics: in Milvus Lite (3.2) each
        segment scores with its own document count, frequencies and average length, so documents added or removed
        after the build (a new segment) are scored against themselves alone (docs/scale-out.md, "BM25 in Milvus
        Lite"). A server keeps collection-wide statistics; a fresh build is flushed once."""
        return (not self.target.is_server and self.analyser_mode == "rag"
                and bool(self._base.get("milvus", {}).get("changed")))

    def lexical_search_text(self, question: str, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 for a raw question: analysed by our analyser (analyser "rag") or by Milvus's ("english")."""
        if self.analyser_mode == "rag":
            return self.lexical_search(analyze([question])[0], depth)
        return self._bm25(question, depth) if question.strip() else self.lexical_search([], depth)

    def _bm25(self, query: str, depth: int, filter: str = "") -> tuple[np.ndarray, np.ndarray]:
        result = self._client.search(self.target.collection, data=[query], anns_field="sparse", limit=depth,
                                     filter=filter, output_fields=["doc_id", "passage_no"],
                                     search_params={"metric_type": "BM25"})
        ids, scores = self._hits(result)
        # Milvus Lite reports BM25 scores negated (a server, as they are), and with Lucene's (k1 + 1) factor, which
        # bm25s leaves out: divided by it, scores equal the local index's.
        scores = np.abs(scores) / (BM25_PARAMS["bm25_k1"] + 1)
        order = np.lexsort((ids, -scores))
        ids, scores = ids[order], scores[order]
        keep = scores > 0
        return ids[keep], scores[keep]

    def lexical_scores(self, terms: list[str], passage_ids: Sequence[int]) -> np.ndarray:
        """BM25 of given passages, computed here from their stored terms, Milvus's document frequencies and the
        average length, by the formula Milvus and bm25s share (a search filtered to these passages would not do:
        Milvus Lite then takes the average length over the filtered passages only)."""
        passage_ids = [int(i) for i in passage_ids]
        out = np.zeros(len(passage_ids), dtype=np.float32)
        if not passage_ids or not terms:
            return out
        if self.analyser_mode != "rag":
            return self._scores_of(self._lexical_query(terms), passage_ids)
        keys = [self._key(i) for i in passage_ids]
        stored = {int(r["pk"]): r["lexical"].split() for r in
                  self._client.get(self.target.collection, ids=keys, output_fields=["lexical"])}
        k1, b = BM25_PARAMS["bm25_k1"], BM25_PARAMS["bm25_b"]
        average = self._average_length()
        idf = {t: self.idf(t) for t in set(terms)}
        for j, key in enumerate(keys):
            words = stored.get(key, [])
            norm = k1 * (1 - b + b * len(words) / average)
            counts = {t: words.count(t) for t in idf}
            out[j] = sum(idf[t] * c / (c + norm) for t in terms if (c := counts[t]))  # bm25s's scale
        return out

    def _average_length(self) -> float:
        return max(self._terms / max(self.passage_count(), 1), 1e-9)

    def lexical_scores_text(self, question: str, passage_ids: Sequence[int]) -> np.ndarray:
        if self.analyser_mode == "rag":
            return self.lexical_scores(analyze([question])[0], passage_ids)
        return self._scores_of(question, passage_ids)

    def _scores_of(self, query: str, passage_ids: Sequence[int]) -> np.ndarray:
        passage_ids = [int(i) for i in passage_ids]
        out = np.zeros(len(passage_ids), dtype=np.float32)
        if not passage_ids or not query.strip():
            return out
        keys = [self._key(i) for i in passage_ids]
        ids, scores = self._bm25(query, len(keys), filter=f"pk in {keys}")
        found = dict(zip(ids.tolist(), scores.tolist()))
        return np.asarray([found.get(i, 0.0) for i in passage_ids], dtype=np.float32)

    def idf(self, term: str) -> float:
        """BM25's idf of one of our analysed terms, with its document frequency counted by Milvus (TEXT_MATCH)."""
        import math

        df = self._df.get(term)
        if df is None:
            if re.fullmatch(r"\w+", term):
                df = self._count(self.target.collection, f"TEXT_MATCH(lexical, '{term}')")
            else:
                df = 0
            self._df[term] = df
        size = self.passage_count()
        return math.log(1 + (size - df + 0.5) / (df + 0.5))

    # ----------------------------------------------------------------- dense search
    def has_vectors(self) -> bool:
        return self._manifest.model is not None

    def dense_search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        result = self._client.search(self.target.collection, data=[np.asarray(query, dtype=np.float32).tolist()],
                                     anns_field="dense", limit=depth, output_fields=["doc_id", "passage_no"],
                                     search_params={"metric_type": "IP"})
        return self._hits(result)

    def dense_similarity(self, query: np.ndarray, passage_ids: Sequence[int]) -> np.ndarray:
        passage_ids = [int(i) for i in passage_ids]
        if not passage_ids:
            return np.zeros(0, dtype=np.float32)
        keys = [self._key(i) for i in passage_ids]
        rows = self._client.get(self.target.collection, ids=keys, output_fields=["dense"])
        vectors = {int(r["pk"]): r["dense"] for r in rows}
        matrix = np.asarray([vectors[k] for k in keys], dtype=np.float32)
        return matrix @ np.asarray(query, dtype=np.float32)

    def sentence_vectors(self, sentence_ids: Sequence[int]) -> np.ndarray | None:
        if self._manifest.model is None or not len(sentence_ids) or not self._base.get("milvus", {}).get("sentences"):
            return None
        keys = []
        for s in sentence_ids:
            doc_index = int(self._sentences[int(s)][0])
            keys.append(f"s:{self._records[doc_index]['doc_id']}:{int(s) - int(self._sentence_base[doc_index])}")
        rows = self._client.get(self.target.docs_collection, ids=keys, output_fields=["vector"])
        vectors = {r["pk"]: r["vector"] for r in rows}
        if len(vectors) != len(set(keys)):
            return None  # some are missing: the reader embeds the candidates itself
        return np.asarray([vectors[k] for k in keys], dtype=np.float32)

    def entities(self, doc_index: int, start: int, end: int) -> None:
        """No entity table in Milvus yet: the reader uses its short-answer model fitted without entity types."""
        return None
