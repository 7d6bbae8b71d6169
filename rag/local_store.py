"""`LocalStore`: the `Store` contract over an index folder (FAISS and bm25s files, `.npy` tables, texts).

`LocalStore.save` writes a freshly built index atomically (see `storage.py` for the layout) and `LocalStore.open`
memory-maps it back, checking its manifest and that its parts load. Searching is delegated to `lexical.py`
(bm25s) and `dense.py` (FAISS). This module neither chunks, embeds nor ranks: building is `builder.py`, mode
choice and fusion are `retrieval.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import index_folder, integrity, storage
from .errors import RagError
from .lexical import LexicalIndex, top_k
from .manifest import DocumentRecord, Manifest
from .store import PassageRow, SentenceRow
from .types import Document


@dataclass(frozen=True)
class BuiltIndex:
    """Everything a build produced, in memory, ready to be saved."""

    manifest: Manifest
    texts: list[str]
    passage_rows: np.ndarray  # int64 (n, 5): document, start, end, first sentence, last sentence (exclusive)
    sentence_rows: np.ndarray  # int64 (n, 3): document, start, end
    lexical: LexicalIndex
    dense: object | None  # a FAISS index, or None without a model
    sentence_vectors: np.ndarray | None = None  # float16 (sentences, dimension), embedded like passages
    layouts: list[dict | None] | None = None  # per document: PDF page starts, section headings (storage.LAYOUT)
    entities: np.ndarray | None = None  # int32 (n, 4): document, start, end, label code; None when not tagged
    # A folder where the build already wrote parts in their final format (texts of a sync, sentence vectors, BM25):
    # a save links them instead of writing them again. Removed by whoever made it (index_folder.scratch_folder).
    scratch: Path | None = None


class LocalStore:
    """An index folder opened read-only (the decline threshold is the one thing it rewrites)."""

    def __init__(self, path: Path, manifest: Manifest, dense_index=None):
        self.path = Path(path)
        self._manifest = manifest
        self._texts = storage.TextStore(self.path)
        self._passages = storage.load_table(self.path, storage.PASSAGES)
        self._sentences = storage.load_table(self.path, storage.SENTENCES)
        try:
            self._lexical = LexicalIndex.load(self.path)
        except (OSError, ValueError, KeyError) as exc:
            raise integrity.damaged(self.path, manifest, f"bm25: {exc}") from None
        if self._lexical.size != manifest.passages:
            raise integrity.damaged(self.path, manifest, f"bm25: {self._lexical.size} passages, the manifest "
                                                       f"records {manifest.passages}")
        if dense_index is not None and dense_index.ntotal != manifest.passages:
            raise integrity.damaged(self.path, manifest, f"dense.faiss: {dense_index.ntotal} vectors for "
                                                       f"{manifest.passages} passages")
        self._dense = dense_index
        self._layouts: list | None = None
        self._layouts_read = False
        self._sentence_vectors = None
        if (self.path / storage.SENTENCE_VECTORS).exists():
            self._sentence_vectors = storage.load_table(self.path, storage.SENTENCE_VECTORS)
            if self._sentence_vectors.shape[0] != len(self._sentences):
                raise integrity.damaged(self.path, manifest, f"{storage.SENTENCE_VECTORS}: "
                                      f"{self._sentence_vectors.shape[0]} vectors for {len(self._sentences)} sentences")

        self._entities = None
        if (self.path / storage.ENTITIES).exists():
            self._entities = storage.load_table(self.path, storage.ENTITIES)

    @classmethod
    def open(cls, path: str | Path) -> LocalStore:
        path = Path(path)
        manifest = storage.read_manifest(path)
        integrity.check_files(path, manifest)
        dense_index = None
        if manifest.model is not None:
            from .dense import load_index

            try:
                dense_index = load_index(path)
            except RuntimeError as exc:
                what = "missing" if not (path / "dense.faiss").exists() else str(exc).strip().splitlines()[-1]
                raise integrity.damaged(path, manifest, f"dense.faiss: {what}") from None
            manifest.check_dense(path, int(dense_index.d))
        return cls(path, manifest, dense_index)

    @staticmethod
    def save(path: str | Path, built: BuiltIndex) -> None:
        """Write `built` as the index folder at `path`, atomically (the previous index stays until the swap)."""

        def written(folder: Path, name: str) -> bool:
            """Link `name` from the build's scratch folder if the build wrote it there."""
            if built.scratch is None or not (built.scratch / name).exists():
                return False
            index_folder.link_tree(built.scratch / name, folder / name)
            return True

        def write(folder: Path) -> None:
            if not (written(folder, storage.TEXTS) and written(folder, storage.TEXT_OFFSETS)):
                storage.write_texts(folder, built.texts)
            np.save(folder / storage.PASSAGES, built.passage_rows, allow_pickle=False)
            np.save(folder / storage.SENTENCES, built.sentence_rows, allow_pickle=False)
            built.lexical.save(folder)
            if built.sentence_vectors is not None and not written(folder, storage.SENTENCE_VECTORS):
                np.save(folder / storage.SENTENCE_VECTORS, built.sentence_vectors, allow_pickle=False)
            if built.entities is not None:
                np.save(folder / storage.ENTITIES, built.entities, allow_pickle=False)
            if built.layouts is not None:
                storage.write_layout(folder, built.layouts)
            if built.dense is not None:
                from .dense import save_index

                save_index(built.dense, folder)
            storage.write_manifest(folder, replace(built.manifest, files=integrity.describe_files(folder)))

        index_folder.write_atomically(Path(path), write)

    # ----------------------------------------------------------------- the Store contract
    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def document(self, doc_index: int) -> DocumentRecord:
        return self._manifest.documents[doc_index]

    def document_position(self, doc_id: str) -> int:
        return self._manifest.documents.position(doc_id)

    def text(self, doc_index: int) -> str:
        return self._texts[doc_index]

    def raw_text(self, doc_index: int) -> bytes:
        """The document's text as stored (UTF-8), for copying into a new index without decoding it."""
        return self._texts.raw(doc_index)

    def release_texts(self) -> None:
        """Drop the texts' pages read so far from the resident set (after a pass over all of them)."""
        self._texts.release()

    def document_layout(self, doc_index: int) -> tuple[tuple[int, ...], tuple[tuple[int, str], ...]]:
        """The document's PDF page starts and (offset, title) section headings; empty for plain text and for
        indexes written before layouts were recorded."""
        if not self._layouts_read:
            self._layouts = storage.read_layout(self.path, self._manifest.document_count)
            self._layouts_read = True
        entry = self._layouts[doc_index] if self._layouts else None
        if not entry:
            return (), ()
        return (tuple(entry.get("pages") or ()),
                tuple((int(o), str(t)) for o, t in entry.get("sections") or ()))

    def passage_count(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: int) -> PassageRow:
        return PassageRow(*(int(x) for x in self._passages[passage_id]))

    def sentence(self, sentence_id: int) -> SentenceRow:
        return SentenceRow(*(int(x) for x in self._sentences[sentence_id]))

    def lexical_search(self, terms: list[str], depth: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self._lexical.scores(terms)
        ids = top_k(scores, depth)
        return ids, scores[ids]

    def lexical_scores(self, terms: list[str], passage_ids: Sequence[int]) -> np.ndarray:
        return self._lexical.scores(terms)[np.asarray(passage_ids, dtype=np.int64)]

    def idf(self, term: str) -> float:
        return self._lexical.idf(term)

    def has_vectors(self) -> bool:
        return self._dense is not None

    def dense_search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        from .dense import search

        return search(self._dense, query, depth)

    def dense_similarity(self, query: np.ndarray, passage_ids: Sequence[int]) -> np.ndarray:
        from .dense import similarity

        return similarity(self._dense, query, list(passage_ids))

    def sentence_vectors(self, sentence_ids: Sequence[int]) -> np.ndarray | None:
        if self._sentence_vectors is None or not len(sentence_ids):
            return None
        return self._sentence_vectors[np.asarray(sentence_ids, dtype=np.int64)]

    def entities(self, doc_index: int, start: int, end: int) -> list[tuple[int, int, str]] | None:
        if self._entities is None:
            return None
        from .entity_tagger import in_range

        return in_range(self._entities, doc_index, start, end)

    def set_decline_threshold(self, value: float, mode: str | None = None, reader: str | None = None) -> None:
        manifest = self._manifest.with_decline_threshold(value, mode, reader)
        storage.replace_manifest(self.path, manifest)
        self._manifest = manifest

    def add_documents(self, documents: Sequence[Document]) -> None:
        raise RagError(f"the index at {self.path} takes documents through a sync (it needs an encoder): put the "
                       f"files in a folder and run `rag index DOCS --index {self.path}`, or `Index.sync`")

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        raise RagError(f"the index at {self.path} drops documents through a sync: delete the files and run "
                       f"`rag index DOCS --index {self.path}`, or `Index.sync`")
