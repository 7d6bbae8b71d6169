"""`Manifest`: what an index records about itself, typed, and every check made when an index is opened.

The manifest says which format and package wrote the index, the analyser and model (with its weights hash when
known) its BM25 terms and vectors came from, the chunking, the counts, each document's source and sha256, and the
reader's calibrated decline threshold. `Manifest.from_dict` refuses what this version cannot read and
`Manifest.check` refuses an index that does not match the settings asked for; both raise errors whose message
says how to rebuild. This module neither reads nor writes files (see `storage.py`) and knows no store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 1
# The lexical analyser (lexical.analyze): an index whose terms came from another one cannot be searched.
ANALYSER = "bm25s-snowball-english-nltk179-v1"


def rebuild_hint(path) -> str:
    return f"rebuild it with `rag index DOCS --index {path}`"


@dataclass(frozen=True)
class ModelRecord:
    """The embedding model the vectors came from; `weights_sha256` and `revision` when the encoder knows them."""

    name: str
    dimension: int
    revision: str | None = None
    weights_sha256: str | None = None

    def to_dict(self) -> dict:
        data = {"name": self.name, "dimension": self.dimension}
        data.update({k: v for k, v in (("revision", self.revision), ("weights_sha256", self.weights_sha256)) if v})
        return data


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    sha256: str
    chars: int
    passages: int


class DocumentTable:
    """The documents of an index in order, typed on access (a million rows load without a million objects)."""

    def __init__(self, rows: list[dict]):
        self._rows = rows
        self._position: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> DocumentRecord:
        row = self._rows[i]
        return DocumentRecord(row["doc_id"], row["source"], row["sha256"], int(row["chars"]), int(row["passages"]))

    def __iter__(self):
        return (self[i] for i in range(len(self._rows)))

    def position(self, doc_id: str) -> int:
        """The document's row number; KeyError when the index does not hold it."""
        if self._position is None:
            self._position = {row["doc_id"]: i for i, row in enumerate(self._rows)}
        return self._position[doc_id]

    def to_list(self) -> list[dict]:
        return self._rows


@dataclass(frozen=True)
class Manifest:
    model: ModelRecord | None
    max_chars: int
    overlap_sentences: int
    documents: DocumentTable
    passages: int
    sentences: int
    dense_index: str | None = None
    decline_threshold: float | None = None
    analyser: str = ANALYSER
    format_version: int = FORMAT_VERSION
    package_version: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @property
    def document_count(self) -> int:
        return len(self.documents)

    @property
    def model_name(self) -> str | None:
        return self.model.name if self.model else None

    def describe_model(self) -> str:
        return self.model.name if self.model else "none (BM25 only)"

    def with_decline_threshold(self, value: float) -> Manifest:
        return replace(self, decline_threshold=value)

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version,
            "package_version": self.package_version,
            "created": self.created,
            "analyser": self.analyser,
            "model": self.model.to_dict() if self.model else None,
            "dense_index": self.dense_index,
            "chunking": {"max_chars": self.max_chars, "overlap_sentences": self.overlap_sentences},
            "counts": {"documents": len(self.documents), "passages": self.passages, "sentences": self.sentences},
            "reader": {"decline_threshold": self.decline_threshold},
            "documents": self.documents.to_list(),
        }

    @classmethod
    def from_dict(cls, data, path) -> Manifest:
        """The manifest of the index at `path`; raises when it is damaged or from another format version."""
        where = Path(path) / "manifest.json"
        if not isinstance(data, dict) or "format_version" not in data:
            raise IndexCorruptError(f"{where} is not an index manifest; {rebuild_hint(path)}")
        if data["format_version"] != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index at {path} has format version {data['format_version']}, this version of rag reads "
                f"{FORMAT_VERSION}; {rebuild_hint(path)}"
            )
        try:
            model = data.get("model")
            chunking, counts = data["chunking"], data["counts"]
            rows = data["documents"]
            if not isinstance(rows, list):
                raise TypeError("documents is not a list")
            return cls(
                model=ModelRecord(**model) if model else None,
                max_chars=int(chunking["max_chars"]),
                overlap_sentences=int(chunking["overlap_sentences"]),
                documents=DocumentTable(rows),
                passages=int(counts["passages"]),
                sentences=int(counts["sentences"]),
                dense_index=data.get("dense_index"),
                decline_threshold=(data.get("reader") or {}).get("decline_threshold"),
                analyser=data.get("analyser", ANALYSER),
                format_version=int(data["format_version"]),
                package_version=str(data.get("package_version", "")),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{where} is damaged (missing or bad {exc}); {rebuild_hint(path)}") from None

    def check(self, path, wanted_model: str | None = None, named_as: str | None = None) -> None:
        """Refuse an index this code cannot search as asked.

        `wanted_model` is the model the user named, as the encoder records it (`named_as`: as they typed it), or
        None when they named none. A
        BM25-only index serves any model setting (dense modes just report why they are off); an index with
        vectors from one model cannot be searched with another model's queries.
        """
        if self.analyser != ANALYSER:
            raise IndexMismatchError(f"index at {path} was built with the lexical analyser {self.analyser}, this "
                                     f"version of rag uses {ANALYSER}; {rebuild_hint(path)}")
        if wanted_model and self.model and wanted_model != self.model.name:
            raise IndexMismatchError(
                f"index at {path} was built with model {self.model.name}, not {named_as or wanted_model}; "
                f"rebuild it with `rag index DOCS --index {path} --model {named_as or wanted_model}`"
            )

    def check_dense(self, path, dimension: int) -> None:
        """Refuse vectors whose dimension differs from the model's record."""
        if self.model and dimension != self.model.dimension:
            raise IndexCorruptError(f"{Path(path) / 'dense.faiss'} holds {dimension}-dimensional vectors but the "
                                    f"manifest records {self.model.dimension}; {rebuild_hint(path)}")


__all__ = ["ANALYSER", "FORMAT_VERSION", "DocumentRecord", "DocumentTable", "Manifest", "ModelRecord",
           "rebuild_hint"]
