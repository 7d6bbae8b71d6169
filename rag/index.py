"""`Index`: the handle users hold. It wires a store, a retriever, a reader and citation checks together.

    index = Index.build(["docs/"], path="my-index")     # or Index.load("my-index")
    index.retrieve("question", k=5, mode="hybrid")
    index.answer("question")

Each part lives in its own module: building in `builder.py`, the folder in `local_store.py`, ranking in
`retrieval.py`, reading in `reader.py`, checking citations in `citations.py`, the manifest in `manifest.py`. This
module only validates what users pass in, opens the parts and passes results between them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .citations import CitationVerifier
from .sources import CHANGED, MISSING, SourceFiles, SourceState, _with_source_stats
from .config import Config
from .encoding import Encoder
from .errors import InputError, ModelUnavailableError, RagError
from .local_store import LocalStore
from .locations import is_milvus, milvus_target, open_store
from .manifest import DocumentRecord, Manifest
from .reader import DEFAULT_DECLINE_THRESHOLD, Reader
from .retrieval import Retriever
from .types import Answer, Citation, Document, Hit, Span
from .validation import validate_k, validate_question

logger = logging.getLogger(__name__)


def _config(config: Config | None, path, model: str | None) -> Config:
    config = config or Config.from_env(index_path=path, model=model)
    if path is not None:
        config = replace(config, index_path=Path(path))
    if model is not None:
        config = config.with_model(model)
    return config


class Index:
    """A searchable collection of documents, stored in a folder.

    >>> index = Index.build(["docs/"], path="my-index")      # doctest: +SKIP
    >>> index.answer("What does the report recommend?").text  # doctest: +SKIP
    """

    def __init__(self, store: LocalStore, config: Config, encoder: Encoder | None = None):
        self.store = store
        self.path = store.path
        self.config = config
        self.encoder = encoder
        self.retriever = Retriever(store, encoder, config)
        self.reader = Reader(store, encoder, scorer=config.reader)
        self.sources = SourceFiles(store.manifest)
        self._verifier = CitationVerifier(self.sources, store.text, lambda i: store.document(i).sha256)

    # ----------------------------------------------------------------- building and loading
    @classmethod
    def build(cls, sources, path: str | Path | None = None, *, model: str | None = None,
              config: Config | None = None, show_progress: bool = True) -> Index:
        """Read files and folders (.txt, .md, .pdf, .html, .docx), index them and save the index folder.

        `model` names a sentence-transformers model or folder ("none" for BM25 only; by default the bundled
        all-MiniLM-L6-v2). A named model that cannot be loaded raises `ModelUnavailableError`; when the default
        cannot, the index is built for BM25 alone, with one warning that says how to turn semantic search on.
        """
        from .documents import load_documents

        from .index_folder import check_target

        if isinstance(sources, (str, Path)):
            sources = [sources]
        config = _config(config, path, model)
        if not is_milvus(config.index_path):
            check_target(config.index_path, sources)  # before reading anything: a refusal must be quick
            own = Path(config.index_path) / "documents"  # added through the chat (storage.DOCUMENTS): kept indexed
            if own.is_dir() and any(own.iterdir()) and not any(Path(s).resolve() == own.resolve() for s in sources):
                sources = [*sources, own]
        documents = load_documents(sources, show_progress=show_progress)
        return cls.from_documents(documents, config=config, show_progress=show_progress)

    @classmethod
    def from_documents(cls, documents: list[Document], config: Config, show_progress: bool = True, *,
                       vectors: np.ndarray | None = None, model_name: str | None = None) -> Index:
        """Index documents already in memory (benchmarks use this for data sets that are not files).

        `vectors` (one unit vector per passage, in passage order) with `model_name` skip the encoder: the
        vectors were computed elsewhere with that model, which queries will load by name.
        """
        from .builder import build_index
        from .index_folder import build_lock, check_target, scratch_folder

        started = time.perf_counter()
        if is_milvus(config.index_path):
            from .milvus_store import MilvusStore

            # Milvus keeps no entity table (yet), so none is tagged: its reader uses the short-answer model without
            built = build_index(documents, replace(config, entities=False), show_progress, vectors=vectors,
                                model_name=model_name)
            built = replace(built, manifest=_with_source_stats(built.manifest))
            MilvusStore.save(milvus_target(config), built, show_progress=show_progress)
            return cls.load(config.index_path, config=replace(config, model_explicit=False))
        check_target(config.index_path)
        with build_lock(config.index_path), scratch_folder(config.index_path) as scratch:
            built = build_index(documents, config, show_progress, vectors=vectors, model_name=model_name,
                                scratch=scratch)
            built = replace(built, manifest=_with_source_stats(built.manifest))
            LocalStore.save(config.index_path, built)
        logger.info("indexed %d documents, %d passages in %.1fs", len(documents), built.manifest.passages,
                    time.perf_counter() - started)
        # The model actually used (none after a fallback) is in the manifest; do not check it against config.
        return cls.load(config.index_path, config=replace(config, model_explicit=False))

    @classmethod
    def load(cls, path: str | Path | None = None, *, model: str | None = None, config: Config | None = None) -> Index:
        """Open an index folder. Passing `model` (or RAG_MODEL) checks that the index was built with it."""
        config = _config(config, path, model)
        store = open_store(config)
        manifest = store.manifest
        wanted = Encoder(config.model).model_id if config.model_explicit and config.model else None
        manifest.check(store.path, wanted, named_as=config.model)  # store.path: a Milvus one names its collection
        encoder = None
        if manifest.model is not None:
            encoder = Encoder(manifest.model.name, config.allow_download, config.batch_size)
            if manifest.model.weights_sha256:
                try:
                    weights = encoder.weights_sha256()  # stamped in the cache: no 90 MB hash per question
                except ModelUnavailableError:
                    weights = None  # the model is gone: dense modes say so when asked for, lexical still works
                manifest.check_weights(store.path, weights)
        return cls(store, replace(config, model=manifest.model_name), encoder)

    def sync(self, paths=None, *, show_progress: bool = False):
        """Bring the index up to date with the files under `paths`: new files added, changed ones re-read,
        vanished ones removed, unchanged ones neither read nor embedded (see `rag.sync`). `paths=None` syncs the
        index's own `documents/` folder only. Returns a `SyncReport`; this handle then serves the new index."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if is_milvus(self.path):  # changed in place, document by document (no folder to swap)
            from .milvus_sync import sync_milvus

            report = sync_milvus(self, paths, show_progress)
        else:
            from .sync import sync_index

            report = sync_index(self, paths, show_progress=show_progress)
        fresh = Index.load(self.path, config=replace(self.config, model_explicit=False))
        self.__init__(fresh.store, fresh.config, fresh.encoder or self.encoder)
        return report

    # ----------------------------------------------------------------- what it holds
    @property
    def manifest(self) -> Manifest:
        return self.store.manifest

    @property
    def documents(self) -> list[DocumentRecord]:
        return list(self.manifest.documents)

    def __len__(self) -> int:
        return self.store.passage_count()

    def document_text(self, doc_id: str) -> str:
        return self.store.text(self.store.document_position(doc_id))

    def source_path(self, document: DocumentRecord) -> Path:
        """The file a document was read from, resolved against the folder the index was built in."""
        return self.manifest.source_path(document)

    def changed_sources(self) -> list[SourceState]:
        """Documents whose file changed or is gone since indexing: one stat per file, a hash only where the stat
        differs from the record."""
        return self.sources.changed()

    def update_command(self) -> str:
        """The command that re-indexes these documents into this folder."""
        return self.manifest.rebuild_command(self.path)

    def place(self, doc_index: int, offset: int) -> tuple[int | None, str | None]:
        """The 1-based PDF page and the section heading character `offset` of a document sits in (None when the
        document has no pages or headings, or the store records none)."""
        from .extractors import page_at, section_at

        layout = getattr(self.store, "document_layout", None)
        if layout is None:
            return None, None
        pages, sections = layout(doc_index)
        return page_at(pages, offset), section_at(sections, offset)

    def passage_sentences(self, passage_id: int) -> list[tuple[int, int]]:
        """Character spans of the sentences of a passage, in its document."""
        row = self.store.passage(passage_id)
        return [(s.start, s.end) for s in map(self.store.sentence, range(row.first_sentence, row.last_sentence))]

    # ----------------------------------------------------------------- reader settings
    @property
    def decline_threshold(self) -> float:
        """The decline threshold of the default mode (see `threshold_for`)."""
        return self.threshold_for(self.default_mode())

    def threshold_for(self, mode: str) -> float:
        """The setting, else the threshold calibrated in this index for this mode, reader and model, else the
        reader's shipped one for the mode (chosen on SQuAD training articles), else the legacy one."""
        if self.config.decline_threshold is not None:
            return self.config.decline_threshold
        stored = self.manifest.reader_threshold(mode, self.reader.version)
        if stored is not None:
            return stored
        if self.reader.scorer == "learned":
            return self.reader.default_threshold(mode)
        stored = self.manifest.decline_threshold
        return DEFAULT_DECLINE_THRESHOLD if stored is None else float(stored)

    def set_decline_threshold(self, value: float, mode: str | None = None) -> None:
        """Store a calibrated decline threshold in the index's manifest (atomically), for `mode` (default: the
        default mode) and this reader's version and model."""
        if not 0 <= value <= 1:
            raise InputError(f"decline threshold {value} is outside [0, 1]")
        self.store.set_decline_threshold(value, mode or self.default_mode(), self.reader.version)

    # ----------------------------------------------------------------- modes
    def dense_available(self) -> bool:
        """Whether semantic search can run: the index has vectors and the model loads. Loads the model."""
        return self.retriever.dense_available()

    def unavailable_modes(self) -> dict[str, str]:
        """Modes that cannot run here, with the reason (empty when all can)."""
        return self.retriever.unavailable_modes()

    @property
    def modes(self) -> list[str]:
        return self.retriever.modes()

    def default_mode(self) -> str:
        return self.retriever.default_mode()

    # ----------------------------------------------------------------- questions
    def retrieve(self, question: str, k: int = 5, mode: str | None = None) -> list[Hit]:
        """The k passages most relevant to the question, best first.

        mode: "lexical" (BM25), "dense" (embeddings) or "hybrid" (both, fused by rag.fusion); by default
        hybrid when a semantic model is available, else lexical.
        """
        question, k = validate_question(question), validate_k(k)
        return self.retriever.retrieve(question, k, self.retriever.resolve_mode(mode))[0]

    def answer(self, question: str, k: int = 5, mode: str | None = None, trim: bool = False,
               threshold: float | None = None) -> Answer:
        """Quote the sentence of the top passages that answers the question, or decline.

        `trim=True` quotes only the clause of that sentence which holds the question's terms. `threshold`
        overrides the decline threshold for this call (0 never declines while anything was retrieved).
        """
        question = validate_question(question)
        mode = self.retriever.resolve_mode(mode)
        hits, query_vector = self.retriever.retrieve(question, validate_k(k), mode)
        threshold = self.threshold_for(mode) if threshold is None else threshold
        verdict = self.reader.read(question, hits, query_vector, threshold, trim=trim)
        if verdict is None:
            return Answer(question, None, 0.0, [], hits, mode)
        if not verdict.accepted:
            return Answer(question, None, verdict.confidence, [], hits, mode)
        document = self.store.document(verdict.doc_index)
        page, section = self.place(verdict.doc_index, verdict.start)
        citation = Citation(source=document.source, doc_id=document.doc_id, start=verdict.start, end=verdict.end,
                            quote=self.store.text(verdict.doc_index)[verdict.start : verdict.end],
                            passage_id=verdict.reading.candidate.passage_id, page=page, section=section,
                            path=str(self.manifest.source_path(document).absolute()))
        check = self._verifier.check(citation, verdict.doc_index)
        stale = (document.source,) if check.state == CHANGED else ()
        if not check.ok:
            return Answer(question, None, verdict.confidence, [], hits, mode, stale_sources=stale)
        missing = (document.source,) if check.state == MISSING else ()
        span = None
        if verdict.span is not None and citation.start <= verdict.span[0] < verdict.span[1] <= citation.end:
            a, b = verdict.span
            span = Span(citation.quote[a - citation.start : b - citation.start], a, b)
        return Answer(question, citation.quote, verdict.confidence, [citation], hits, mode, stale_sources=stale,
                      missing_sources=missing, span=span)


__all__ = ["Index", "RagError"]
