"""Sentence-transformers embeddings, loaded lazily from local files and failing fast when absent.

The model is found by name in the local Hugging Face cache or as a folder path. Unless downloads are allowed
(`RAG_ALLOW_DOWNLOAD=1`), the hub is never contacted: `HF_HUB_OFFLINE` is set before the first import and
`local_files_only=True` is passed, so a missing model fails in seconds instead of retrying a network that is not
there. Torch and sentence-transformers are imported only when a model is actually loaded. This module does not
index or search vectors (see `dense.py`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from .errors import ModelUnavailableError

logger = logging.getLogger(__name__)

# Retrieval models trained with an instruction on the query side; passages are embedded as they are.
QUERY_PROMPTS = {
    "bge-small-en-v1.5": "Represent this sentence for searching relevant passages: ",
    "bge-base-en-v1.5": "Represent this sentence for searching relevant passages: ",
    "bge-large-en-v1.5": "Represent this sentence for searching relevant passages: ",
}
ENABLE_HINT = (
    "to turn semantic search on, copy a sentence-transformers model folder onto this machine and pass "
    "--model /path/to/model (or set RAG_MODEL), then rebuild with `rag index`"
)


class Encoder:
    """Embeds passages and queries into unit vectors. Construction is cheap; `load()` does the work."""

    def __init__(self, model: str, allow_download: bool = False, batch_size: int = 32):
        self.model_name = model
        self.allow_download = allow_download
        self.batch_size = batch_size
        self._model = None
        # The chat serves requests on several threads; the first ones must not each load the model.
        self._load_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """What the manifest records: the name as given, or a folder's resolved path."""
        path = Path(self.model_name).expanduser()
        return str(path.resolve()) if path.is_dir() else self.model_name

    def load(self):
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self):
        path = Path(self.model_name).expanduser()
        looks_like_path = path.is_absolute() or self.model_name.startswith((".", "~")) or path.exists()
        if looks_like_path and not path.is_dir():
            raise ModelUnavailableError(f"model folder {self.model_name} does not exist; {ENABLE_HINT}")
        if not self.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(
                str(path) if path.is_dir() else self.model_name,
                device="cpu",
                local_files_only=not self.allow_download,
            )
        except Exception as exc:  # noqa: BLE001 - any loading failure means "no model"; we say why below
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelUnavailableError(
                f"embedding model {self.model_name!r} is not available locally ({reason[:160]}); {ENABLE_HINT}"
            ) from exc

    @property
    def dimension(self) -> int:
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _query_prompt(self) -> str | None:
        model = self.load()
        if "query" in (model.prompts or {}):
            return model.prompts["query"]
        return QUERY_PROMPTS.get(Path(self.model_name.rstrip("/")).name)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, prompt=None, show_progress=show_progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, prompt=self._query_prompt(), show_progress=False)

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Sentences compared with a query by the reader: embedded like passages."""
        return self._encode(texts, prompt=None, show_progress=False)

    def _encode(self, texts: list[str], prompt: str | None, show_progress: bool) -> np.ndarray:
        model = self.load()
        vectors = model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
