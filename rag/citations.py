"""Check citations against the source text before anyone sees them.

A citation is shown only if the characters it points at read as its quote in the source file as it is now.
When the file has changed since indexing and no longer reads so, the check says so (`CHANGED`), so the answer can
tell the user to re-index instead of pretending the documents do not answer. When the file is gone (or the
document never was a file), the index's own copy is checked against the sha256 recorded when it was indexed:
the stored text is never compared with itself and called verified. This module does not choose what to cite.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from .documents import content_hash
from .sources import CHANGED, CURRENT, MISSING, SourceFiles
from .types import Citation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    ok: bool  # the citation may be shown
    state: str  # the source file's state: sources.CURRENT, CHANGED, MISSING or NOT_A_FILE


class CitationVerifier:
    def __init__(self, sources: SourceFiles, stored_text, recorded_sha256):
        """`stored_text(doc_index)` is the document text kept in the index, `recorded_sha256(doc_index)` the
        hash the manifest recorded for it when it was read."""
        self._sources = sources
        self._stored_text = stored_text
        self._recorded_sha256 = recorded_sha256
        self._copy_ok: dict[int, bool] = {}
        self._lock = threading.Lock()

    def _copy_matches_record(self, doc_index: int) -> bool:
        with self._lock:
            known = self._copy_ok.get(doc_index)
        if known is None:
            known = content_hash(self._stored_text(doc_index)) == self._recorded_sha256(doc_index)
            with self._lock:
                self._copy_ok[doc_index] = known
        return known

    def check(self, citation: Citation, doc_index: int) -> Check:
        state = self._sources.state(doc_index)
        if state in (CURRENT, CHANGED):
            text = self._sources.text(doc_index)
            ok = text is not None and 0 <= citation.start < citation.end <= len(text) \
                and text[citation.start : citation.end] == citation.quote
            where = citation.source
        else:
            text = self._stored_text(doc_index)
            ok = self._copy_matches_record(doc_index) and text[citation.start : citation.end] == citation.quote
            where = f"the index's copy of {citation.source}" + (" (the file is gone)" if state == MISSING else "")
        if not ok:
            logger.warning("dropped a citation of %s [%d:%d]: %s no longer has that text there%s", citation.source,
                           citation.start, citation.end, where,
                           "; it changed since it was indexed" if state == CHANGED else "")
        return Check(ok, state)
