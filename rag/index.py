"""`Index`: build from documents, save and load a folder, retrieve passages and answer questions.

This is where the parts meet: chunking, BM25, embeddings with FAISS, fusion, the reader and citation checks.
Each of those lives in its own module; this one only wires them and validates what users pass in.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import __version__, storage
from .chunking import chunk
from .citations import CitationVerifier
from .config import MAX_QUESTION_CHARS, Config
from .documents import content_hash, load_documents
from .encoding import ENABLE_HINT, Encoder
from .errors import IndexCorruptError, IndexMismatchError, InputError, ModelUnavailableError, RagError
from .fusion import reciprocal_rank_fusion
from .lexical import LexicalIndex, analyze, top_k
from .reader import DEFAULT_DECLINE_THRESHOLD, Candidate, score_candidates, trim_to_clause
from .types import Answer, Citation, Document, Hit

logger = logging.getLogger(__name__)

CANDIDATE_DEPTH = 50  # passages each retriever contributes before fusion


def validate_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question, for example \"Who governed Balkh?\"")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}, so shorten it"
        )
    return question.strip()


def validate_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise InputError(f"k must be a whole number of at least 1 (got {k!r}); for example --k 5")
    return int(k)


def _describe_dense(dense_index) -> str | None:
    if dense_index is None:
        return None
    from .dense import describe

    return describe(dense_index)


class Index:
    """A searchable collection of documents, stored in a folder.

    >>> index = Index.build(["seeds/"], path="my-index")          # doctest: +SKIP
    >>> index.answer("Which province did Muzammil govern before Balkh?").text  # doctest: +SKIP
    """

    def __init__(self, path: Path, manifest: dict, config: Config, dense_index=None, encoder: Encoder | None = None):
        self.path = Path(path)
        self.manifest = manifest
        self.config = config
        self._documents = manifest["documents"]
        self._texts = storage.TextStore(self.path)
        self._passages = storage.load_table(self.path, storage.PASSAGES)
        self._sentences = storage.load_table(self.path, storage.SENTENCES)
        try:
            self._lexical = LexicalIndex.load(self.path)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"the BM25 index in {self.path} is damaged ({exc}); "
                                    f"{storage.rebuild_hint(self.path)}") from None
        self._dense = dense_index
        self._encoder = encoder
        self._dense_error: str | None = None
        self._verifier = CitationVerifier(self._stored_text_by_id)
        self._doc_index_by_id = {d["doc_id"]: i for i, d in enumerate(self._documents)}

    # ----------------------------------------------------------------- building and loading
    @classmethod
    def build(
        cls,
        sources,
        path: str | Path | None = None,
        *,
        model: str | None = None,
        config: Config | None = None,
        show_progress: bool = True,
    ) -> Index:
        """Read files and folders (.txt, .md), index them and save the index folder.

        `model` names a sentence-transformers model or folder ("none" for BM25 only). When the model cannot be
        loaded, the index is built for BM25 alone, with one warning that says how to turn semantic search on.
        """
        if isinstance(sources, (str, Path)):
            sources = [sources]
        config = config or Config.from_env(index_path=path, model=model)
        if path is not None:
            config = replace(config, index_path=Path(path))
        if model is not None:
            config = config.with_model(model)
        documents = load_documents(sources, show_progress=show_progress)
        return cls.from_documents(documents, config=config, show_progress=show_progress)

    @classmethod
    def from_documents(
        cls,
        documents: list[Document],
        config: Config,
        show_progress: bool = True,
        *,
        vectors: np.ndarray | None = None,
        model_name: str | None = None,
    ) -> Index:
        """Index documents already in memory (benchmarks use this for data sets that are not files).

        `vectors` (one unit vector per passage, in passage order) with `model_name` skip the encoder: the
        vectors were computed elsewhere with that model, which queries will load by name.
        """
        from array import array

        started = time.perf_counter()
        if not documents:
            raise InputError("there are no documents to index; give at least one non-empty document")
        if (vectors is None) != (model_name is None):
            raise InputError("precomputed vectors need the name of the model that made them; pass both "
                             "vectors= and model_name=, or neither")
        # Flat int64 arrays, not lists of tuples: at a million passages the tuples alone take gigabytes.
        doc_rows, passage_rows, sentence_rows, passage_texts = [], array("q"), array("q"), []
        for doc_index, document in enumerate(documents):
            sentences, passages = chunk(document.text, config.chunk_chars, config.chunk_overlap)
            base = len(sentence_rows) // 3
            for start, end in sentences:
                sentence_rows.extend((doc_index, start, end))
            for p in passages:
                passage_rows.extend((doc_index, p.start, p.end, base + p.first_sentence, base + p.last_sentence))
                passage_texts.append(document.text[p.start : p.end])
            doc_rows.append(
                {
                    "doc_id": document.doc_id,
                    "source": document.source,
                    "sha256": content_hash(document.text),
                    "chars": len(document.text),
                    "passages": len(passages),
                }
            )
        if not passage_texts:
            raise InputError("the documents hold no sentences to index; check that they contain text")

        encoder = None
        if vectors is not None:
            if len(vectors) != len(passage_texts):
                raise InputError(f"{len(vectors)} vectors were given for {len(passage_texts)} passages; embed "
                                 f"the passages in the order chunking yields them, one vector each")
            encoder = Encoder(model_name, config.allow_download, config.batch_size)
        elif config.model:
            encoder = Encoder(config.model, config.allow_download, config.batch_size)
            try:
                vectors = encoder.encode_passages(passage_texts, show_progress=show_progress)
            except ModelUnavailableError as exc:
                logger.warning("semantic search is off: %s. Continuing with BM25 only.", exc)
                encoder = None
        lexical = LexicalIndex.build(passage_texts, show_progress=show_progress)
        dense_index = None
        if vectors is not None:
            from .dense import build_index

            dense_index = build_index(vectors, show_progress=show_progress)

        manifest = {
            "format_version": storage.FORMAT_VERSION,
            "package_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": {"name": encoder.model_id, "dimension": int(vectors.shape[1])} if encoder else None,
            "dense_index": _describe_dense(dense_index),
            "chunking": {"max_chars": config.chunk_chars, "overlap_sentences": config.chunk_overlap},
            "counts": {"documents": len(documents), "passages": len(passage_texts),
                       "sentences": len(sentence_rows) // 3},
            "reader": {"decline_threshold": None},
            "documents": doc_rows,
        }

        def write(folder: Path) -> None:
            storage.write_texts(folder, [d.text for d in documents])
            np.save(folder / storage.PASSAGES, np.frombuffer(passage_rows, dtype=np.int64).reshape(-1, 5),
                    allow_pickle=False)
            np.save(folder / storage.SENTENCES, np.frombuffer(sentence_rows, dtype=np.int64).reshape(-1, 3),
                    allow_pickle=False)
            lexical.save(folder)
            if dense_index is not None:
                from .dense import save_index

                save_index(dense_index, folder)
            storage.write_manifest(folder, manifest)

        storage.write_atomically(config.index_path, write)
        logger.info("indexed %d documents, %d passages in %.1fs", len(documents), len(passage_texts),
                    time.perf_counter() - started)
        # The model actually used (none after a fallback) is in the manifest; do not check it against config.
        return cls.load(config.index_path, config=replace(config, model_explicit=False))

    @classmethod
    def load(cls, path: str | Path | None = None, *, model: str | None = None, config: Config | None = None) -> Index:
        """Open an index folder. Passing `model` (or RAG_MODEL) checks that the index was built with it."""
        config = config or Config.from_env(index_path=path, model=model)
        if path is not None:
            config = replace(config, index_path=Path(path))
        if model is not None:
            config = config.with_model(model)
        path = config.index_path
        manifest = storage.read_manifest(path)
        built_with = (manifest.get("model") or {}).get("name")
        # A BM25-only index serves any model setting (dense modes just report why they are off); an index with
        # vectors from one model cannot be searched with another model's queries.
        if config.model_explicit and config.model and built_with:
            wanted = Encoder(config.model).model_id
            if wanted != built_with:
                raise IndexMismatchError(
                    f"index at {path} was built with model {built_with or 'none (BM25 only)'}, not {config.model}; "
                    f"rebuild it with `rag index DOCS --index {path} --model {config.model}`"
                )
        dense_index, encoder = None, None
        if built_with:
            from .dense import load_index

            try:
                dense_index = load_index(path)
            except RuntimeError as exc:
                raise IndexCorruptError(f"{path / 'dense.faiss'} is damaged ({exc}); "
                                        f"{storage.rebuild_hint(path)}") from None
            encoder = Encoder(built_with, config.allow_download, config.batch_size)
        return cls(path, manifest, replace(config, model=built_with), dense_index, encoder)

    # ----------------------------------------------------------------- properties
    @property
    def documents(self) -> list[dict]:
        return list(self._documents)

    def __len__(self) -> int:
        return len(self._passages)

    @property
    def decline_threshold(self) -> float:
        if self.config.decline_threshold is not None:
            return self.config.decline_threshold
        stored = (self.manifest.get("reader") or {}).get("decline_threshold")
        return DEFAULT_DECLINE_THRESHOLD if stored is None else float(stored)

    def set_decline_threshold(self, value: float) -> None:
        """Store a calibrated decline threshold in the index's manifest (atomically)."""
        if not 0 <= value <= 1:
            raise InputError(f"decline threshold {value} is outside [0, 1]")
        manifest = dict(self.manifest, reader={**(self.manifest.get("reader") or {}), "decline_threshold": value})
        storage.replace_manifest(self.path, manifest)
        self.manifest = manifest

    def dense_available(self) -> bool:
        """Whether semantic search can run: the index has vectors and the model loads. Loads the model."""
        if self._dense is None or self._encoder is None:
            return False
        if self._dense_error is None:
            try:
                self._encoder.load()
                return True
            except ModelUnavailableError as exc:
                self._dense_error = str(exc)
                logger.warning("semantic search is off: %s. Continuing with BM25 only.", exc)
        return False

    def unavailable_modes(self) -> dict[str, str]:
        """Modes that cannot run here, with the reason (empty when all can)."""
        if self.dense_available():
            return {}
        if self._dense is None:
            reason = f"this index was built without a semantic model; {ENABLE_HINT}"
        else:
            reason = self._dense_error or "the semantic model did not load"
        return {"dense": reason, "hybrid": reason}

    @property
    def modes(self) -> list[str]:
        return ["lexical"] + (["dense", "hybrid"] if self.dense_available() else [])

    def default_mode(self) -> str:
        if self.config.mode:
            return self.config.mode
        return "hybrid" if self.dense_available() else "lexical"

    def _resolve_mode(self, mode: str | None) -> str:
        mode = mode or self.default_mode()
        if mode not in ("lexical", "dense", "hybrid"):
            raise InputError(f"unknown mode {mode!r}; use lexical, dense or hybrid")
        if mode != "lexical" and not self.dense_available():
            raise ModelUnavailableError(
                f"{mode} retrieval needs a semantic model: {self.unavailable_modes()[mode]}; or use --mode lexical"
            )
        return mode

    # ----------------------------------------------------------------- text access
    def document_text(self, doc_id: str) -> str:
        return self._texts[self._doc_index_by_id[doc_id]]

    def _stored_text_by_id(self, doc_id: str) -> str:
        return self.document_text(doc_id)

    def passage_sentences(self, passage_id: int) -> list[tuple[int, int]]:
        """Character spans of the sentences of a passage, in its document."""
        row = self._passages[passage_id]
        return [(int(s[1]), int(s[2])) for s in self._sentences[int(row[3]) : int(row[4])]]

    def _hit(self, passage_id: int, rank: int, score: float, scores: dict[str, float]) -> Hit:
        doc_index, start, end = (int(x) for x in self._passages[passage_id][:3])
        meta = self._documents[doc_index]
        text = self._texts[doc_index][start:end]
        return Hit(text=text, score=float(score), doc_id=meta["doc_id"], source=meta["source"], start=start,
                   end=end, passage_id=int(passage_id), rank=rank, scores=scores)

    # ----------------------------------------------------------------- retrieval
    def retrieve(self, question: str, k: int = 5, mode: str | None = None) -> list[Hit]:
        """The k passages most relevant to the question, best first.

        mode: "lexical" (BM25), "dense" (embeddings) or "hybrid" (both, fused by reciprocal rank); by default
        hybrid when a semantic model is available, else lexical.
        """
        return self._retrieve(validate_question(question), validate_k(k), self._resolve_mode(mode))[0]

    def _retrieve(self, question: str, k: int, mode: str) -> tuple[list[Hit], np.ndarray | None]:
        """Hits, and the query's embedding when a dense mode made one (the reader reuses it)."""
        depth = max(CANDIDATE_DEPTH, k)
        rankings: dict[str, list[int]] = {}
        bm25_scores = None
        dense_scores: dict[int, float] = {}
        query_vector = None
        if mode in ("lexical", "hybrid"):
            bm25_scores = self._lexical.scores(analyze([question])[0])
            rankings["bm25"] = top_k(bm25_scores, depth).tolist()
        if mode in ("dense", "hybrid"):
            from .dense import search

            query_vector = self._encoder.encode_queries([question])[0]
            ids, sims = search(self._dense, query_vector, depth)
            dense_scores = dict(zip(ids.tolist(), sims.tolist()))
            rankings["dense"] = ids.tolist()

        if mode == "lexical":
            ranked = [(i, float(bm25_scores[i])) for i in rankings["bm25"]]
        elif mode == "dense":
            ranked = list(dense_scores.items())
        else:
            weights = {"bm25": self.config.lexical_weight, "dense": self.config.dense_weight}
            ranked = reciprocal_rank_fusion(rankings, weights, k=self.config.rrf_k)
        ranked = ranked[:k]

        if mode == "hybrid":
            missing = [i for i, _ in ranked if i not in dense_scores]
            if missing:
                from .dense import similarity

                dense_scores.update(zip(missing, similarity(self._dense, query_vector, missing).tolist()))
        hits = []
        for rank, (passage_id, score) in enumerate(ranked, start=1):
            scores = {}
            if bm25_scores is not None:
                scores["bm25"] = float(bm25_scores[passage_id])
            if passage_id in dense_scores:
                scores["dense"] = float(dense_scores[passage_id])
            if mode == "hybrid":
                scores["fused"] = float(score)
            hits.append(self._hit(passage_id, rank, score, scores))
        return hits, query_vector

    # ----------------------------------------------------------------- answering
    def answer(
        self, question: str, k: int = 5, mode: str | None = None, trim: bool = False, threshold: float | None = None
    ) -> Answer:
        """Quote the sentence of the top passages that answers the question, or decline.

        `trim=True` quotes only the clause of that sentence which holds the question's terms. `threshold`
        overrides the decline threshold for this call (0 never declines while anything was retrieved).
        """
        question = validate_question(question)
        mode = self._resolve_mode(mode)
        hits, query_vector = self._retrieve(question, validate_k(k), mode)
        if not hits:
            return Answer(question, None, 0.0, [], hits, mode)
        candidates = self._candidates(hits)
        similarities = None
        if mode != "lexical":
            vectors = self._encoder.encode_sentences([c.text for c in candidates])
            similarities = (vectors @ query_vector).tolist()
        readings = score_candidates(question, candidates, analyze, self._lexical.idf, similarities)
        best = readings[0]
        if best.confidence < (self.decline_threshold if threshold is None else threshold):
            return Answer(question, None, best.confidence, [], hits, mode)
        start, end = (trim_to_clause(best, analyze([question])[0], analyze) if trim else (best.start, best.end))
        doc_index = best.candidate.doc_index
        meta = self._documents[doc_index]
        citation = Citation(source=meta["source"], doc_id=meta["doc_id"], start=start, end=end,
                            quote=self._texts[doc_index][start:end], passage_id=best.candidate.passage_id)
        citations = self._verifier.keep_verified([citation])
        if not citations:
            return Answer(question, None, best.confidence, [], hits, mode)
        return Answer(question, citations[0].quote, best.confidence, citations, hits, mode)

    def _candidates(self, hits: list[Hit]) -> list[Candidate]:
        seen: set[tuple[int, int]] = set()
        candidates = []
        for hit in hits:
            row = self._passages[hit.passage_id]
            doc_index, first, last = int(row[0]), int(row[3]), int(row[4])
            text = self._texts[doc_index]
            for s in range(first, last):
                start, end = (int(x) for x in self._sentences[s][1:])
                if (doc_index, start) in seen:
                    continue
                seen.add((doc_index, start))
                previous = ""
                if s > 0 and int(self._sentences[s - 1][0]) == doc_index:
                    p_start, p_end = (int(x) for x in self._sentences[s - 1][1:])
                    previous = text[p_start:p_end]
                candidates.append(Candidate(hit.rank - 1, hit.passage_id, doc_index, start, end,
                                            text[start:end], previous))
        return candidates


__all__ = ["Index", "RagError"]
