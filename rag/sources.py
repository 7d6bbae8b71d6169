"""Whether each indexed document's file still holds what was indexed: current, changed, missing, or not a file.

A stat that matches the size and modification time recorded at indexing means current; otherwise the file is
read and its sha256 compared with the manifest's, so touching a file without changing it is not a change. PDF,
HTML and DOCX files are extracted again (`extractors`), and it is their extracted text that is hashed and cited. Files
read for that are kept in a cache bounded by bytes (least recently used first out), which the citation checks
share. It also stamps a freshly built manifest with each file's size and modification time (`_with_source_stats`).
This module neither decides what to cite nor prints.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from .documents import SUFFIXES, content_hash
from .extractors import EXTRACTED_SUFFIXES, Unreadable, extract
from .manifest import DocumentRecord, DocumentTable, Manifest

CURRENT, CHANGED, MISSING, NOT_A_FILE = "current", "changed", "missing", "not a file"
CACHE_BYTES = 32 * 2**20

# Start-up checks stat every indexed file; above this many documents they are skipped (each answer still checks
# its own file). A stat costs about 10 us, so 10,000 files keep the check near 0.1 s.
CHECK_SOURCES_UP_TO = 10_000


@dataclass(frozen=True)
class SourceState:
    source: str
    state: str  # CURRENT, CHANGED, MISSING or NOT_A_FILE


class SourceFiles:
    """The files behind an index's documents, checked against the manifest on demand (thread-safe)."""

    def __init__(self, manifest: Manifest, cache_bytes: int = CACHE_BYTES):
        self._manifest = manifest
        self._cache_bytes = cache_bytes
        self._texts: OrderedDict[int, tuple[tuple[int, int], str]] = OrderedDict()
        self._cached = 0
        self._states: dict[int, tuple[tuple[int, int] | None, str]] = {}
        self._lock = threading.Lock()

    def path(self, doc_index: int) -> Path:
        return self._manifest.source_path(self._manifest.documents[doc_index])

    def _was_file(self, record: DocumentRecord) -> bool:
        # Indexes written before stats were recorded: a source named like a document file was one.
        return record.bytes is not None or Path(record.source).suffix.lower() in SUFFIXES

    def state(self, doc_index: int) -> str:
        """CURRENT, CHANGED, MISSING (the file is gone) or NOT_A_FILE (the document never came from one)."""
        record = self._manifest.documents[doc_index]
        try:
            stat = os.stat(self.path(doc_index))
        except OSError:
            return MISSING if self._was_file(record) else NOT_A_FILE
        key = (stat.st_size, stat.st_mtime_ns)
        if record.bytes is not None and key == (record.bytes, record.mtime_ns):
            return CURRENT
        with self._lock:
            known = self._states.get(doc_index)
        if known and known[0] == key:
            return known[1]
        text = self.text(doc_index)
        state = MISSING if text is None else CURRENT if content_hash(text) == record.sha256 else CHANGED
        with self._lock:
            self._states[doc_index] = (key, state)
        return state

    def text(self, doc_index: int) -> str | None:
        """The file's text as it is now (read the way documents are read), or None when it cannot be read."""
        path = self.path(doc_index)
        try:
            stat = os.stat(path)
        except OSError:
            return None
        key = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._texts.get(doc_index)
            if cached and cached[0] == key:
                self._texts.move_to_end(doc_index)
                return cached[1]
        try:
            if path.suffix.lower() in EXTRACTED_SUFFIXES:
                text = extract(path).text
            else:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError, Unreadable):
            return None
        with self._lock:
            old = self._texts.pop(doc_index, None)
            if old:
                self._cached -= len(old[1])
            if len(text) <= self._cache_bytes:
                self._texts[doc_index] = (key, text)
                self._cached += len(text)
            while self._cached > self._cache_bytes:
                _, (_, dropped) = self._texts.popitem(last=False)
                self._cached -= len(dropped)
        return text

    @property
    def cached_chars(self) -> int:
        return self._cached

    def changed(self) -> list[SourceState]:
        """Every document whose file changed or is gone since indexing (stats all files; hashes only those whose
        stat differs from the record)."""
        found = []
        for doc_index, record in enumerate(self._manifest.documents):
            state = self.state(doc_index)
            if state in (CHANGED, MISSING):
                found.append(SourceState(record.source, state))
        return found


def stat_record(path: str | os.PathLike) -> dict:
    """The `bytes` and `mtime_ns` a document row records for a file (empty when it is not one)."""
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _with_source_stats(manifest: Manifest) -> Manifest:
    """The manifest with each file's size and modification time, and the folder relative sources are under."""
    rows = [row | stat_record(row["source"]) for row in manifest.documents.to_list()]
    return replace(manifest, documents=DocumentTable(rows), source_root=os.getcwd())
