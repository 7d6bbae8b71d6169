"""`Manifest`: what an index records about itself, typed, and every check made when an index is opened.

The manifest says which format and package wrote the index, the analyser and model (with its weights hash when
known) its BM25 terms and vectors came from, the chunking, the counts, each document's source and sha256, and the
reader's calibrated decline threshold. `Manifest.from_dict` refuses what this version cannot read and
`Manifest.check` refuses an index that does not match the settings asked for; both raise errors whose message
says how to rebuild. This module neither reads nor writes files (see `storage.py`) and knows no store.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import IndexCorruptError, IndexMismatchError

FORMAT_VERSION = 1
# The lexical analyser (lexical.analyze): an index whose terms came from another one cannot be searched.
ANALYSER = "bm25s-snowball-english-nltk179-v1"


def index_option(path) -> str:
    """The CLI options that name the index at `path`: `--index PATH`, or what a Milvus location says names it
    (`--index milvus:URI --collection NAME` when its collection is not the default)."""
    return getattr(path, "option", "") or f"--index {shlex.quote(str(path))}"


def rebuild_hint(path) -> str:
    return f"rebuild it with `rag index DOCS {index_option(path)}`"


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
    """One indexed document. `bytes` and `mtime_ns` are the file's when it was read (None when the document was
    not a file, or the index predates them): a later stat that matches them spares hashing the file."""

    doc_id: str
    source: str
    sha256: str
    chars: int
    passages: int
    bytes: int | None = None
    mtime_ns: int | None = None


class DocumentTable:
    """The documents of an index in order, typed on access (a million rows load without a million objects)."""

    def __init__(self, rows: list[dict]):
        self._rows = rows
        self._position: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> DocumentRecord:
        row = self._rows[i]
        return DocumentRecord(row["doc_id"], row["source"], row["sha256"], int(row["chars"]), int(row["passages"]),
                              row.get("bytes"), row.get("mtime_ns"))

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
    # Calibrated decline thresholds per retrieval mode: {mode: {"threshold", "reader", "model"}}; an entry counts
    # only for the reader version and model it was calibrated with.
    reader_thresholds: dict | None = None
    analyser: str = ANALYSER
    format_version: int = FORMAT_VERSION
    package_version: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    # Each file of the folder as written: {"bytes": size, "sha256": hash (small files only)}; checked at load.
    files: dict | None = None
    # The working folder at build time: relative document sources are resolved against it, so the index checks
    # the right files whichever folder it is used from.
    source_root: str | None = None

    @property
    def document_count(self) -> int:
        return len(self.documents)

    @property
    def model_name(self) -> str | None:
        return self.model.name if self.model else None

    def describe_model(self) -> str:
        return self.model.name if self.model else "none (BM25 only)"

    def with_decline_threshold(self, value: float, mode: str | None = None, reader: str | None = None) -> Manifest:
        if mode is None:
            return replace(self, decline_threshold=value)
        entries = dict(self.reader_thresholds or {})
        entries[mode] = {"threshold": float(value), "reader": reader, "model": self.model_name}
        return replace(self, reader_thresholds=entries)

    def reader_threshold(self, mode: str, reader: str) -> float | None:
        """The threshold calibrated for this mode, reader version and model, if any."""
        entry = (self.reader_thresholds or {}).get(mode)
        if entry and entry.get("reader") == reader and entry.get("model") == self.model_name:
            return float(entry["threshold"])
        return None

    def rebuild_command(self, path) -> str:
        """The command that rebuilds (or syncs) this index with its own model and chunking, naming the folder its
        documents came from when they share one: as recorded when run from the folder the index was built in,
        else from the root (a relative source means nothing elsewhere)."""
        from .config import Config

        here = not self.source_root or os.path.realpath(self.source_root) == os.path.realpath(os.getcwd())
        try:
            parents = {os.path.dirname(d.source if here else str(self.source_path(d))) or "." for d in self.documents}
            docs = shlex.quote(os.path.commonpath(sorted(parents))) if parents else "DOCS"
        except ValueError:  # absolute and relative sources mixed, or other drives
            docs = "DOCS"
        defaults = Config()
        options = [index_option(path)]
        if self.model is None:
            options.append("--model none")
        elif self.model.name != defaults.model:
            options.append(f"--model {shlex.quote(self.model.name)}")
        if self.max_chars != defaults.chunk_chars:
            options.append(f"--chunk-chars {self.max_chars}")
        if self.overlap_sentences != defaults.chunk_overlap:
            options.append(f"--overlap {self.overlap_sentences}")
        return f"rag index {docs} {' '.join(options)}"

    def rebuild_hint(self, path) -> str:
        return f"rebuild it with `{self.rebuild_command(path)}`"

    def source_path(self, record: DocumentRecord) -> Path:
        """Where a document's file is: its source as recorded, relative ones under the build's working folder."""
        source = Path(record.source)
        if source.is_absolute() or not self.source_root:
            return source
        return Path(self.source_root) / source

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
            "reader": {"decline_threshold": self.decline_threshold}
            | ({"thresholds": self.reader_thresholds} if self.reader_thresholds else {}),
            "documents": self.documents.to_list(),
        } | ({"files": self.files} if self.files is not None else {}) | (
            {"source_root": self.source_root} if self.source_root else {})

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
                reader_thresholds=(data.get("reader") or {}).get("thresholds"),
                analyser=data.get("analyser", ANALYSER),
                format_version=int(data["format_version"]),
                package_version=str(data.get("package_version", "")),
                created=str(data.get("created", "")),
                files=dict(data["files"]) if data.get("files") is not None else None,
                source_root=data.get("source_root"),
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
                f"rebuild it with `rag index DOCS {index_option(path)} --model {named_as or wanted_model}`"
            )

    def check_weights(self, path, weights_sha256: str | None) -> None:
        """Refuse an index whose vectors came from other weights than the model's files now hold.

        Either side unknown (an index from before weights were recorded, precomputed vectors, a model that is not
        on this machine) passes: the dense modes then report what is missing when they are asked for.
        """
        recorded = self.model.weights_sha256 if self.model else None
        if recorded and weights_sha256 and recorded != weights_sha256:
            raise IndexMismatchError(
                f"index at {path} was built with other weights of {self.model.name} (sha256 {recorded[:12]}..., "
                f"now {weights_sha256[:12]}...); rebuild it with `rag index DOCS {index_option(path)} "
                f"--model {self.model.name}`"
            )

    def check_dense(self, path, dimension: int) -> None:
        """Refuse vectors whose dimension differs from the model's record."""
        if self.model and dimension != self.model.dimension:
            raise IndexCorruptError(f"{Path(path) / 'dense.faiss'} holds {dimension}-dimensional vectors but the "
                                    f"manifest records {self.model.dimension}; {rebuild_hint(path)}")


__all__ = ["ANALYSER", "FORMAT_VERSION", "DocumentRecord", "DocumentTable", "Manifest", "ModelRecord",
           "index_option", "rebuild_hint"]
