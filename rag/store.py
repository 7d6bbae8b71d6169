"""The `Store` contract: what retrieval, the reader and citation checks need from wherever an index lives.

A store holds documents (text and sha256), their passages and sentences as character spans, a lexical (BM25)
search, a dense (vector) search where the index has vectors, stored sentence vectors where present, and its
`Manifest`. It is a `typing.Protocol`, not a base class: the local folder (`local_store.LocalStore`) and Milvus
(`milvus_store.MilvusStore`) implement it, each without inheriting. Ids are positions: a document's row
(`doc_index`), a passage's row (`passage_id`) and a sentence's row, all stable for the life of one opened store.

This module defines the contract and the small row types only; it holds no data and does no searching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .manifest import DocumentRecord, Manifest
from .types import Document


@dataclass(frozen=True)
class PassageRow:
    """Characters `start:end` of document `doc_index`, made of sentences `first_sentence:last_sentence`."""

    doc_index: int
    start: int
    end: int
    first_sentence: int
    last_sentence: int  # exclusive


@dataclass(frozen=True)
class SentenceRow:
    doc_index: int
    start: int
    end: int


@runtime_checkable
class Store(Protocol):
    @property
    def manifest(self) -> Manifest: ...

    # documents
    def document(self, doc_index: int) -> DocumentRecord: ...

    def document_position(self, doc_id: str) -> int:
        """The row of a document id; KeyError when the store does not hold it."""

    def text(self, doc_index: int) -> str:
        """The document's text, exactly as indexed: offsets of passages, sentences and citations index it."""

    # passages and sentences
    def passage_count(self) -> int: ...

    def passage(self, passage_id: int) -> PassageRow: ...

    def sentence(self, sentence_id: int) -> SentenceRow: ...

    # search
    def lexical_search(self, terms: list[str], depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and BM25 scores of the `depth` best passages with a positive score for analysed query terms."""

    def lexical_scores(self, terms: list[str], passage_ids: Sequence[int]) -> np.ndarray:
        """BM25 scores of the given passages (for passages another retriever found)."""

    def idf(self, term: str) -> float: ...

    def has_vectors(self) -> bool: ...

    def dense_search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosines of the `depth` passages nearest a unit query vector, best first."""

    def dense_similarity(self, query: np.ndarray, passage_ids: Sequence[int]) -> np.ndarray:
        """Cosines of the query with the given passages' stored vectors."""

    def sentence_vectors(self, sentence_ids: Sequence[int]) -> np.ndarray | None:
        """Unit vectors of sentences embedded at indexing, or None when the store has none."""

    def entities(self, doc_index: int, start: int, end: int) -> list[tuple[int, int, str]] | None:
        """Named entities tagged at indexing inside [start, end) of a document, as (start, end, label); None
        when the store kept no entities (the reader then uses its weights fitted without them)."""

    # Optional, not part of the checked protocol: a store that analyses text itself (Milvus with its built-in
    # analyser) may define `lexical_search_text(question, depth)`; `Retriever` then passes it the question as
    # written instead of calling `lexical_search` with our terms. `MilvusStore` defines it; `LocalStore` does not.

    # changes
    def set_decline_threshold(self, value: float, mode: str | None = None, reader: str | None = None) -> None: ...

    def add_documents(self, documents: Sequence[Document]) -> None:
        """Add (or replace, by doc id) documents: chunked, analysed and embedded as at build time."""

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove documents and their passages, sentences and vectors."""
