"""Add documents to an index from uploaded files, and remove them, with limits checked on the server.

An upload is checked whole before anything is written: at most `max_files` files, each at most
`max_file_bytes`, the index's `documents/` folder at most `max_folder_bytes` afterwards, only the extensions of
`UPLOAD_SUFFIXES`, each file's content matching its extension (PDF and DOCX magic bytes, UTF-8 text without
NUL bytes for .txt/.md, markup for .html). Any failure rejects the whole upload with one message and writes
nothing. Names are reduced to safe characters, never overwrite an existing file (a number is added), and every
path written is checked to sit inside the index's `documents/` folder. Each file is written under a hidden
temporary name (which syncs skip) and renamed into place, then the folder is synced (`Index.sync`), so a
process killed during an upload leaves the previous index loadable and at most a complete file not yet indexed.
Removing deletes only files of the `documents/` folder (never files indexed from elsewhere) and syncs. This
module does not serve anything (see `ui/app.py`).
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .storage import DOCUMENTS

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".html", ".htm", ".docx")
# Defaults: 20 MB per file is issue 13's figure (a long PDF report); 20 files and 500 MB in all keep one
# upload's sync to minutes on a laptop CPU and the folder within ordinary disk quotas.
MAX_FILE_BYTES = 20 * 10**6
MAX_FILES = 20
MAX_FOLDER_BYTES = 500 * 10**6
MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_files: int = MAX_FILES
    max_folder_bytes: int = MAX_FOLDER_BYTES

    def describe(self) -> str:
        return (f"{', '.join(UPLOAD_SUFFIXES)}; up to {_size(self.max_file_bytes)} a file, {self.max_files} files "
                f"an upload, {_size(self.max_folder_bytes)} in all")


def _size(n: int) -> str:
    return f"{n / 10**6:g} MB" if n >= 10**6 else f"{n / 10**3:g} KB" if n >= 10**3 else f"{n} bytes"


def safe_name(name: str) -> str:
    """A file name with no folders, no leading dots and only letters, digits, '.', '_', '-' and spaces."""
    base = unicodedata.normalize("NFKD", Path(str(name).replace("\\", "/")).name)
    base = base.encode("ascii", "ignore").decode("ascii")
    stem, suffix = os.path.splitext(base)
    stem = _UNSAFE.sub("_", stem).strip(" ._-") or "document"
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix.lower()


def content_problem(data: bytes, suffix: str) -> str | None:
    """Why `data` is not a file of type `suffix` (judged by its first bytes), or None when it is."""
    head = data[:8192]
    if suffix == ".pdf":
        return None if data[:1024].lstrip().startswith(b"%PDF-") else "it is not a PDF (no %PDF header)"
    if suffix == ".docx":
        if not data.startswith(b"PK\x03\x04"):
            return "it is not a Word .docx file (not a zip package)"
        try:
            import io

            with zipfile.ZipFile(io.BytesIO(data)) as package:
                if "word/document.xml" not in package.namelist():
                    return "it is a zip file but not a Word document"
        except zipfile.BadZipFile:
            return "it is a damaged zip package, not a readable Word document"
        return None
    if b"\x00" in head:
        return "it is binary, not text"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if suffix in (".html", ".htm"):
            text = data.decode("cp1252", errors="replace")
        else:
            return "it is not UTF-8 text; convert it to UTF-8"
    if suffix in (".html", ".htm") and not re.search(r"<\s*(!doctype|html|body|head|main|article|p|div|h[1-6])\b",
                                                      text[:8192], re.I):
        return "it holds no HTML markup"
    return None


def check_upload(files: list[tuple[str | Path, str]], folder: Path, limits: UploadLimits) -> list[tuple[Path, str]]:
    """(temporary path, original name) pairs checked against the limits; returns (path, safe name) pairs.
    Raises InputError naming the first problem and the fix; nothing is written."""
    if not files:
        raise InputError("choose at least one file to add")
    if len(files) > limits.max_files:
        raise InputError(f"{len(files)} files at once; the limit is {limits.max_files} an upload, so add them "
                         f"in smaller batches")
    checked, total = [], 0
    for path, original in files:
        path, shown = Path(path), Path(str(original)).name
        suffix = Path(shown).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise InputError(f"{shown}: {suffix or 'no extension'} files cannot be added; use "
                             f"{', '.join(UPLOAD_SUFFIXES)}")
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise InputError(f"{shown} is {_size(size)}; the limit is {_size(limits.max_file_bytes)} a file, "
                             f"so split or compress it")
        if size == 0:
            raise InputError(f"{shown} is empty")
        with open(path, "rb") as handle:
            problem = content_problem(handle.read() if suffix == ".docx" else handle.read(65536), suffix)
        if problem:
            raise InputError(f"{shown} is named {suffix} but {problem}; nothing was added")
        checked.append((path, safe_name(shown)))
        total += size
    used = folder_bytes(folder)
    if used + total > limits.max_folder_bytes:
        raise InputError(f"the documents folder would hold {_size(used + total)}; the limit is "
                         f"{_size(limits.max_folder_bytes)}, so remove documents first")
    return checked


def folder_bytes(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _free_name(folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    candidate, n = folder / name, 2
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}{suffix}", n + 1
    return candidate


def add_files(index, files: list[tuple[str | Path, str]], limits: UploadLimits = UploadLimits()):
    """Copy checked uploads into the index's documents folder and sync its folder; returns (names written,
    SyncReport). `index` itself is left as it was: load the index again to search the new documents."""
    from .locations import is_milvus

    if is_milvus(index.path):  # it has no documents folder; refuse before anything is written
        raise InputError(f"documents cannot be added from the chat to an index in Milvus; add them with "
                         f"`rag index DOCS {getattr(index.path, 'option', '')}` (it syncs the collection)")
    folder = Path(index.path) / DOCUMENTS
    checked = check_upload(files, folder, limits)
    folder.mkdir(exist_ok=True)
    root = folder.resolve()
    written = []
    for path, name in checked:
        target = _free_name(folder, name)
        if target.resolve().parent != root:  # cannot happen with safe names; checked all the same
            raise InputError(f"{name} would be written outside the documents folder; rename it")
        staging = folder / f".{uuid.uuid4().hex}.part"
        try:
            shutil.copyfile(path, staging)
            with open(staging, "rb") as handle:
                os.fsync(handle.fileno())
            os.rename(staging, target)
        finally:
            if staging.exists():
                staging.unlink()
        written.append(target.name)
    from .sync import sync_index

    return written, sync_index(index, None)


def uploaded_documents(index) -> list[tuple[str, str]]:
    """(file name, doc id) of the indexed documents that live in the index's documents folder."""
    root = (Path(index.path) / DOCUMENTS).resolve()
    found = []
    for record in index.documents:
        path = index.source_path(record).resolve()
        if path.parent == root or path.is_relative_to(root):
            found.append((path.relative_to(root).as_posix(), record.doc_id))
    return found


def remove_file(index, name: str):
    """Delete an uploaded document's file from the documents folder and sync; returns the SyncReport (load the
    index again to see the result)."""
    root = (Path(index.path) / DOCUMENTS).resolve()
    names = dict(uploaded_documents(index))
    if name not in names:
        raise InputError(f"{name} is not a document added through the chat; only those can be removed here")
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise InputError(f"{name} is outside the documents folder")
    target.unlink(missing_ok=True)
    from .sync import sync_index

    return sync_index(index, None)
