"""The index folder as a place to write: which folders a build may replace, the atomic swap of a new index
folder into place, the build lock beside it and the cleaning of staging folders that killed builds left behind.

`check_target` refuses a folder holding anything but an index (or holding, or lying inside, the documents being
indexed); `write_atomically` writes a temporary sibling folder and renames it into place, carrying the chat's
`documents/` over; `build_lock` keeps two builds out of one folder. This module does not know the file formats
inside an index (see `storage.py`) nor checks an index for damage at load (see `integrity.py`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from .errors import IndexBusyError, InputError
from .storage import DOCUMENTS, INDEX_FILES, MANIFEST, recover


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
    where = "choose a new or empty folder for the index (--index DIR)"
    fix = f"{where}; nothing was changed"
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
                             f"{where}, outside {source}; nothing was changed")
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


def link_tree(source: Path, target: Path) -> None:
    """Hard-link a file, or a folder's files, to `target` (copied where links are impossible)."""
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            link_tree(child, target / child.name)
        return
    try:
        os.link(source, target)
    except OSError:  # another file system or no hard links: copy
        shutil.copyfile(source, target)


@contextmanager
def scratch_folder(path: Path):
    """A fresh folder beside the index folder `path` for a build's own files (memory-mapped vectors, BM25 written
    in batches), removed on exit. Beside the index rather than in the temporary folder: on the same file system, so
    its files are hard-linked into the new index, and never in a RAM-backed /tmp. Named like a staging folder, so
    one a killed build leaves is removed by the next `build_lock`. Take it with the build lock held."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
