"""Typed, immutable results: documents, passages, hits, citations and answers.

Retrieval scores (on `Hit`) and reader scores (on `Answer`) are kept apart on purpose: a passage can rank first
and still not contain the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """A source file's text: exactly as decoded from UTF-8 (.txt, .md), or as extracted (PDF, HTML, DOCX; see
    `rag.extractors`). Offsets elsewhere index into `text`."""

    doc_id: str
    source: str
    text: str
    # For PDF: where each page starts in `text` (1-based page n starts at pages[n-1]). For Markdown, HTML and
    # DOCX: (offset, title) of each heading. Empty when the format has none.
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Hit:
    """A retrieved passage: `text == document_text[start:end]`.

    `scores` holds what produced the ranking: "bm25" (raw BM25), "dense" (cosine similarity) and "fused" (the
    hybrid fusion: by default a mix of normalised BM25 and cosine, see `rag.fusion`), each present when that
    retriever ran. `score` is the one the ranking used.
    """

    text: str
    score: float
    doc_id: str
    source: str
    start: int
    end: int
    passage_id: int
    rank: int
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """A verified pointer to characters of a source: `document_text[start:end] == quote`."""

    source: str
    doc_id: str
    start: int
    end: int
    quote: str
    passage_id: int
    page: int | None = None  # 1-based PDF page of `start`, None for other formats
    section: str | None = None  # the heading `start` sits under (Markdown, HTML, DOCX), None without one
    path: str | None = None  # the source file on disk, absolute (`source` is as indexed: relative to where it ran)


@dataclass(frozen=True)
class Span:
    """The short answer inside an answer's first citation: `document_text[start:end] == text`, and
    `citations[0].start <= start < end <= citations[0].end`."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """An extractive answer. `text` is None when there is no answer to show; otherwise it is made of citation quotes.

    `span`: the short answer ("1066") inside `citations[0]`, in the same document's offsets, or None.
    `stale_sources`: files the answer came from that changed since they were indexed. With `text` None, the
    answer could not be quoted because its file changed (`outcome == "stale"`, not a decline: re-index). With
    `text`, the edited file still reads the quote at the cited place. `missing_sources`: files that are gone, so
    the quote is from the index's copy (checked against the hash recorded at indexing).
    """

    question: str
    text: str | None
    confidence: float
    citations: list[Citation]
    hits: list[Hit]
    mode: str
    stale_sources: tuple[str, ...] = ()
    missing_sources: tuple[str, ...] = ()
    span: Span | None = None

    @property
    def declined(self) -> bool:
        """No answer text: the reader declined, or (see `outcome`) the answer's file changed."""
        return self.text is None

    @property
    def outcome(self) -> str:
        """"answered", "declined" (the documents do not answer) or "stale" (the file changed; re-index)."""
        if self.text is not None:
            return "answered"
        return "stale" if self.stale_sources else "declined"
