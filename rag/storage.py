"""Files of a local index folder: atomic saves, the manifest file, document texts and row tables.

Layout (all safe formats, nothing pickled):
  manifest.json             format and package versions, model and dimension, chunking, documents with hashes,
                            reader settings (the calibrated decline threshold)
  texts.bin, text_offsets.npy   every document's UTF-8 text back to back, and where each starts (bytes)
  passages.npy              int64 rows: document, start, end, first sentence, last sentence (exclusive)
  sentences.npy             int64 rows: document, start, end (characters of that document)
  layout.json               per document (aligned with the manifest's rows): PDF page starts and section headings
                            as character offsets, null where a document has neither; absent in older indexes
  sentence_vectors.npy      float16 unit vectors of the sentences, for the reader (absent without a model)
  bm25/, document_frequency.npy   the bm25s index (see lexical.py)
  dense.faiss               FAISS's own format (see dense.py), absent without a model

A save writes a temporary sibling folder and renames it into place, so an interrupted save leaves the previous
index as it was. Arrays are memory-mapped on load, which keeps loading fast at a million passages. This module
holds the file formats only: what the manifest means is `manifest.py`, searching the files is `local_store.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .documents import file_sha256
from .errors import IndexBusyError, IndexCorruptError, IndexNotFoundError, InputError
from .manifest import Manifest, rebuild_hint

MANIFEST = "manifest.json"
TEXTS = "texts.bin"
TEXT_OFFSETS = "text_offsets.npy"
PASSAGES = "passages.npy"
SENTENCES = "sentences.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
LAYOUT = "layout.json"
# Documents added through the chat live in the index folder itself; every save carries them over (hard links,
# so a save killed midway leaves them where they were). They are not index files: the manifest does not list them.
DOCUMENTS = "documents"
# What an index folder may hold (a damaged index holds only these, so it may be rebuilt in place).
INDEX_FILES = frozenset({MANIFEST, MANIFEST + ".tmp", TEXTS, TEXT_OFFSETS, PASSAGES, SENTENCES, "bm25",
                         "document_frequency.npy", "dense.faiss", SENTENCE_VECTORS, LAYOUT, DOCUMENTS})


def _holds_rag_manifest(folder: Path) -> bool:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data and "documents" in data


def check_target(path: Path, sources=()) -> None:
    """Refuse to write an index where it would replace anything but an index: `path` must be missing, an empty
    folder, or a folder holding a rag manifest (or only index files), and it must not be, lie inside, or hold
    one of the `sources` being indexed. Raises InputError naming the folder; touches nothing."""
    path = Path(path)
    fix = "choose a new or empty folder for the index (--index DIR); nothing was changed"
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file, not an index folder; {fix}")
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir())
        if entries and not _holds_rag_manifest(path) and not set(entries) <= INDEX_FILES:
            shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
            raise InputError(f"{path} is a folder with other files in it ({shown}) and no rag index; an index "
                             f"build replaces its folder, so {fix}")
    resolved = path.resolve()
    for source in sources:
        source_path = Path(source).resolve()
        if source_path.is_dir() and (resolved == source_path or resolved.is_relative_to(source_path)):
            raise InputError(f"the index folder {path} is inside the documents being indexed ({source}); "
                             f"{fix}, outside {source}")
        if source_path.is_relative_to(resolved) and not source_path.is_relative_to(resolved / DOCUMENTS):
            raise InputError(f"the documents {source} are inside the index folder {path}, which a build "
                             f"replaces; {fix}")


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, write) -> None:
    """Call `write(folder)` on a fresh temporary folder beside `path`, then swap it in for `path`.

    Refuses (see `check_target`) a `path` that is a file or a folder holding anything but an index."""
    path = Path(path)
    check_target(path)
    if path.is_symlink():  # an index folder linked elsewhere: replace the folder, keep the user's link
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # the writer's pid tells a later build whether it is stale
    staging = path.parent / f".{path.name}.tmp-{tag}"
    staging.mkdir()
    try:
        write(staging)
        _carry_documents(path, staging)
        _fsync_tree(staging)
        retired = path.parent / f".{path.name}.old-{tag}"
        if path.exists():
            os.rename(path, retired)
        os.rename(staging, path)
        _fsync_folder(path.parent)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _carry_documents(path: Path, staging: Path) -> None:
    """Give the new folder the old one's `documents/` (hard links: no copy, and the originals stay until the swap)."""
    source = path / DOCUMENTS
    if not source.is_dir():
        return
    for folder, _, names in os.walk(source):
        target = staging / DOCUMENTS / Path(folder).relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            try:
                os.link(Path(folder) / name, target / name)
            except OSError:  # another file system or no hard links: copy
                shutil.copy2(Path(folder) / name, target / name)


# Files this size or smaller get a sha256 in the manifest; larger ones only their size (hashing gigabytes of
# texts at every load would cost seconds).
HASH_FILES_UP_TO = 16 * 2**20
_LEFTOVER = re.compile(r"\.(?:tmp|old)-(\d+)-[0-9a-f]{8}$")


def _lock_path(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextmanager
def build_lock(path: Path):
    """Hold the build lock of the index folder `path` (a `.NAME.lock` file beside it that records the holder's
    pid, locked with flock so a killed holder releases it). Raises IndexBusyError when another build holds it;
    on entry, removes the staging folders that killed builds left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(path)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; builds are not guarded
        yield
        return
    while True:
        handle = open(lock, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise IndexBusyError(f"another build is running into {path} (pid {holder}); wait for it to finish, "
                                 f"or build into another folder with --index") from None
        # The previous holder may have removed the file between our open and our lock: lock the file that is there.
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        clean_leftovers(path)
        yield
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
        handle.close()


def clean_leftovers(path: Path) -> None:
    """Remove `.NAME.tmp-PID-*` / `.NAME.old-PID-*` folders of builds whose process is gone (call with the build
    lock held). A retired index is first put back if the index itself is missing."""
    recover(path)
    for folder in path.parent.glob(f".{path.name}.*-*"):
        match = _LEFTOVER.search(folder.name)
        if match and folder.name.startswith(f".{path.name}.") and folder.is_dir():
            pid = int(match.group(1))
            if pid == os.getpid() or not _alive(pid):
                shutil.rmtree(folder, ignore_errors=True)


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


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())


def recover(path: Path) -> None:
    """Put back a previous index if a save was interrupted between its two renames."""
    if path.exists():
        return
    retired = sorted((p for p in path.parent.glob(f".{path.name}.old-*") if p.is_dir()),
                     key=lambda p: p.stat().st_mtime)
    if retired and (retired[-1] / MANIFEST).exists():
        os.rename(retired[-1], path)


def write_texts(folder: Path, texts: list[str]) -> None:
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    with open(folder / TEXTS, "wb") as handle:
        for i, text in enumerate(texts):
            data = text.encode("utf-8")
            handle.write(data)
            offsets[i + 1] = offsets[i] + len(data)
    np.save(folder / TEXT_OFFSETS, offsets, allow_pickle=False)


class TextStore:
    """Memory-mapped document texts, decoded one document at a time."""

    def __init__(self, folder: Path):
        self._offsets = np.load(folder / TEXT_OFFSETS, mmap_mode="r", allow_pickle=False)
        size = int(self._offsets[-1])
        self._blob = np.memmap(folder / TEXTS, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        self._cache: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, doc_index: int) -> str:
        text = self._cache.get(doc_index)
        if text is None:
            start, end = int(self._offsets[doc_index]), int(self._offsets[doc_index + 1])
            text = bytes(self._blob[start:end]).decode("utf-8")
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[doc_index] = text
        return text


def write_layout(folder: Path, layouts: list[dict | None]) -> None:
    """Each document's {"pages": [...], "sections": [[offset, title], ...]} or None; nothing when all are None."""
    if any(layouts):
        (folder / LAYOUT).write_text(json.dumps(layouts, ensure_ascii=False, separators=(",", ":")),
                                     encoding="utf-8")


def read_layout(folder: Path, documents: int) -> list[dict | None] | None:
    """The layout table, or None for an index without one; raises IndexCorruptError when it does not fit."""
    try:
        data = json.loads((folder / LAYOUT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{folder / LAYOUT} is damaged ({exc}); {rebuild_hint(folder)}") from None
    if not isinstance(data, list) or len(data) != documents:
        raise IndexCorruptError(f"{folder / LAYOUT} does not list one entry per document; {rebuild_hint(folder)}")
    return data


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")


def replace_manifest(folder: Path, manifest: Manifest) -> None:
    """Rewrite the manifest of an existing index in one rename, so a crash leaves the old or the new one."""
    staging = folder / (MANIFEST + ".tmp")
    staging.write_text(json.dumps(manifest.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    with open(staging, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging, folder / MANIFEST)


def read_manifest(path: Path) -> Manifest:
    path = Path(path)
    recover(path)
    if not path.is_dir():
        raise IndexNotFoundError(f"no index at {path}; build one with `rag index DOCS --index {path}`")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} has no {MANIFEST}, so it is not an index; {rebuild_hint(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path / MANIFEST} is damaged ({exc}); {rebuild_hint(path)}") from None
    return Manifest.from_dict(manifest, path)


def load_table(path: Path, name: str) -> np.ndarray:
    try:
        return np.load(path / name, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path / name} is missing or damaged ({exc}); {rebuild_hint(path)}") from None
