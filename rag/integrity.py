"""Damage checks of a local index folder: the sizes and hashes of its files recorded at save
(`describe_files`), checked again at load (`check_files`), with the shapes every row table must have.

It raises IndexCorruptError with the manifest's rebuild hint (`damaged`). It neither writes files nor reads
them for searching (see `storage.py` for the formats, `local_store.py` for the store).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .documents import file_sha256
from .errors import IndexCorruptError
from .manifest import Manifest
from .storage import DOCUMENTS, MANIFEST, PASSAGES, SENTENCES, TEXT_OFFSETS, TEXTS

# Files this size or smaller get a sha256 in the manifest; larger ones only their size (hashing gigabytes of
# texts at every load would cost seconds).
HASH_FILES_UP_TO = 16 * 2**20


def describe_files(folder: Path) -> dict:
    """Each file under `folder` (but the manifest) with its size, and its sha256 when small enough to be cheap."""
    files = {}
    for file in sorted(folder.rglob("*")):
        name = file.relative_to(folder).as_posix()
        if not file.is_file() or name == MANIFEST or name.startswith(DOCUMENTS + "/"):
            continue
        size = file.stat().st_size
        record = {"bytes": size}
        if size <= HASH_FILES_UP_TO:
            record["sha256"] = file_sha256(file)
        files[name] = record
    return files


def damaged(path: Path, manifest: Manifest, what: str) -> IndexCorruptError:
    return IndexCorruptError(f"index at {path} is damaged ({what}); {manifest.rebuild_hint(path)}")


def check_files(path: Path, manifest: Manifest) -> None:
    """Refuse an index whose files are missing, truncated or changed since it was written: sizes and (small
    files) hashes against the manifest's record, then the shapes every table must have."""
    for name, record in (manifest.files or {}).items():
        file = path / name
        try:
            size = file.stat().st_size
        except OSError:
            raise damaged(path, manifest, f"{name}: missing") from None
        if size != record.get("bytes"):
            raise damaged(path, manifest, f"{name}: {size} bytes, {record.get('bytes')} when written")
        if record.get("sha256") and file_sha256(file) != record["sha256"]:
            raise damaged(path, manifest, f"{name}: its contents changed since it was written")
    offsets = _table(path, manifest, TEXT_OFFSETS, (manifest.document_count + 1,))
    try:
        size = (path / TEXTS).stat().st_size
    except OSError:
        raise damaged(path, manifest, f"{TEXTS}: missing") from None
    if int(offsets[0]) != 0 or int(offsets[-1]) != size or bool((np.diff(offsets) < 0).any()):
        raise damaged(path, manifest, f"{TEXTS}: {size} bytes, the offsets need {int(offsets[-1])}")
    _table(path, manifest, PASSAGES, (manifest.passages, 5))
    _table(path, manifest, SENTENCES, (manifest.sentences, 3))


def _table(path: Path, manifest: Manifest, name: str, shape: tuple) -> np.ndarray:
    try:
        table = np.load(path / name, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise damaged(path, manifest, f"{name}: missing") from None
    except (OSError, ValueError) as exc:
        raise damaged(path, manifest, f"{name}: {exc}") from None
    if table.shape != shape or table.dtype != np.int64:
        raise damaged(path, manifest, f"{name}: {table.dtype} {table.shape}, expected int64 {shape}")
    return table
