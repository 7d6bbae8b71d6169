"""Check citations against the source text before anyone sees them.

A citation is shown only if the characters it points at still read as its quote: in the source file when it is
on disk (so an edited file is caught), else in the copy of the document stored in the index. A failed check
drops the citation and logs why; it is never shown. This module does not choose what to cite.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .types import Citation

logger = logging.getLogger(__name__)


class CitationVerifier:
    def __init__(self, stored_text):
        """`stored_text(doc_id)` returns the document text kept in the index."""
        self._stored_text = stored_text
        self._file_cache: dict[str, tuple[tuple[int, int], str]] = {}

    def _source_text(self, source: str) -> str | None:
        path = Path(source)
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._file_cache.get(source)
        if cached and cached[0] == key:
            return cached[1]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            return None
        self._file_cache[source] = (key, text)
        return text

    def verify(self, citation: Citation) -> bool:
        text = self._source_text(citation.source)
        where = citation.source
        if text is None:
            text = self._stored_text(citation.doc_id)
            where = f"the index's copy of {citation.source}"
        ok = 0 <= citation.start < citation.end <= len(text) and text[citation.start : citation.end] == citation.quote
        if not ok:
            logger.warning(
                "dropped a citation of %s [%d:%d]: %s no longer has that text there; rebuild the index with "
                "`rag index` if the file changed",
                citation.source,
                citation.start,
                citation.end,
                where if where != citation.source else os.fspath(citation.source),
            )
        return ok

    def keep_verified(self, citations: list[Citation]) -> list[Citation]:
        return [c for c in citations if self.verify(c)]
