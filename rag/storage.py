"""Files of a local index folder: the manifest file, document texts and row tables.

Layout (all safe formats, nothing pickled):
  manifest.json             format and package versions, model and dimension, chunking, documents with hashes,
                            reader settings (the calibrated decline threshold)
  texts.bin, text_offsets.npy   every document's UTF-8 text back to back, and where each starts (bytes)
  passages.npy              int64 rows: document, start, end, first sentence, last sentence (exclusive)
  sentences.npy             int64 rows: document, start, end (characters of that document)
  layout.json               per document (aligned with the manifest's rows): PDF page starts and section headings
                            as character offsets, null where a document has neither; absent in older indexes
  sentence_vectors.npy      float16 unit vectors of the sentences, for the reader (absent without a model)
  bm25/, document_frequency.npy   the bm25s index (see lexical.py)
  dense.faiss               FAISS's own format (see dense.py), absent without a model

A save writes a temporary sibling folder and renames it into place (see `index_folder.py`, which also holds which
folders a build may replace and the build lock), so an interrupted save leaves the previous index as it was;
`recover` here puts it back. Arrays are memory-mapped on load, which keeps loading fast at a million passages.
This module holds the file formats only: what the manifest means is `manifest.py`, the damage checks at load are
`integrity.py`, searching the files is `local_store.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import IndexCorruptError, IndexNotFoundError
from .manifest import Manifest, rebuild_hint
from .residency import release_array

MANIFEST = "manifest.json"
TEXTS = "texts.bin"
TEXT_OFFSETS = "text_offsets.npy"
PASSAGES = "passages.npy"
SENTENCES = "sentences.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
ENTITIES = "entities.npy"  # int32 (n, 4): document, start, end, label code (rag.entity_tagger)
LAYOUT = "layout.json"
# Documents added through the chat live in the index folder itself; every save carries them over (hard links,
# so a save killed midway leaves them where they were). They are not index files: the manifest does not list them.
DOCUMENTS = "documents"
# What an index folder may hold (a damaged index holds only these, so it may be rebuilt in place).
INDEX_FILES = frozenset({MANIFEST, MANIFEST + ".tmp", TEXTS, TEXT_OFFSETS, PASSAGES, SENTENCES, "bm25",
                         "document_frequency.npy", "dense.faiss", SENTENCE_VECTORS, ENTITIES, LAYOUT, DOCUMENTS})


def recover(path: Path) -> None:
    """Put back a previous index if a save was interrupted between its two renames."""
    if path.exists():
        return
    retired = sorted((p for p in path.parent.glob(f".{path.name}.old-*") if p.is_dir()),
                     key=lambda p: p.stat().st_mtime)
    if retired and (retired[-1] / MANIFEST).exists():
        os.rename(retired[-1], path)


def write_texts(folder: Path, texts) -> None:
    writer = TextWriter(folder)
    for text in texts:
        writer.add(text.encode("utf-8"))
    writer.close()


class TextWriter:
    """Writes texts.bin and text_offsets.npy a document at a time (UTF-8 bytes in, nothing held but the offsets)."""

    def __init__(self, folder: Path):
        self._folder = folder
        self._handle = open(folder / TEXTS, "wb")
        self._offsets = [0]

    def add(self, data: bytes) -> None:
        self._handle.write(data)
        self._offsets.append(self._offsets[-1] + len(data))

    def close(self) -> None:
        self._handle.close()
        np.save(self._folder / TEXT_OFFSETS, np.array(self._offsets, dtype=np.int64), allow_pickle=False)


class TextStore:
    """Memory-mapped document texts, decoded one document at a time."""

    def __init__(self, folder: Path):
        self._offsets = np.load(folder / TEXT_OFFSETS, mmap_mode="r", allow_pickle=False)
        size = int(self._offsets[-1])
        self._blob = np.memmap(folder / TEXTS, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        self._cache: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def release(self) -> None:
        """Drop the pages read so far from the resident set (see `residency`): a pass over every text, as a sync
        makes, would otherwise keep all of them counted."""
        release_array(self._blob)

    def raw(self, doc_index: int) -> bytes:
        """The document's UTF-8 bytes as stored."""
        if not 0 <= doc_index < len(self):
            raise IndexError(f"document {doc_index} of {len(self)}")
        start, end = int(self._offsets[doc_index]), int(self._offsets[doc_index + 1])
        return bytes(self._blob[start:end])

    def __getitem__(self, doc_index: int) -> str:
        text = self._cache.get(doc_index)
        if text is None:
            text = self.raw(doc_index).decode("utf-8")
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[doc_index] = text
        return text


def write_layout(folder: Path, layouts: list[dict | None]) -> None:
    """Each document's {"pages": [...], "sections": [[offset, title], ...]} or None; nothing when all are None."""
    if any(layouts):
        (folder / LAYOUT).write_text(json.dumps(layouts, ensure_ascii=False, separators=(",", ":")),
                                     encoding="utf-8")


def read_layout(folder: Path, documents: int) -> list[dict | None] | None:
    """The layout table, or None for an index without one; raises IndexCorruptError when it does not fit."""
    try:
        data = json.loads((folder / LAYOUT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{folder / LAYOUT} is damaged ({exc}); {rebuild_hint(folder)}") from None
    if not isinstance(data, list) or len(data) != documents:
        raise IndexCorruptError(f"{folder / LAYOUT} does not list one entry per document; {rebuild_hint(folder)}")
    return data


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")


def replace_manifest(folder: Path, manifest: Manifest) -> None:
    """Rewrite the manifest of an existing index in one rename, so a crash leaves the old or the new one."""
    staging = folder / (MANIFEST + ".tmp")
    staging.write_text(json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    with open(staging, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging, folder / MANIFEST)


def read_manifest(path: Path) -> Manifest:
    path = Path(path)
    recover(path)
    if path.exists() and not path.is_dir():
        raise IndexNotFoundError(f"{path} is a file, not an index folder; name the index's folder with --index DIR")
    if not path.is_dir():
        raise IndexNotFoundError(f"no index at {path}; build one with `rag index DOCS --index {path}`")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} has no {MANIFEST}, so it is not an index; {rebuild_hint(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path / MANIFEST} is damaged ({exc}); {rebuild_hint(path)}") from None
    return Manifest.from_dict(manifest, path)


def load_table(path: Path, name: str) -> np.ndarray:
    try:
        return np.load(path / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path / name} is missing or damaged ({exc}); {rebuild_hint(path)}") from None
