"""Read documents from files and folders: UTF-8 .txt and .md decoded exactly as stored; PDF, HTML and DOCX
through `extractors` (their extracted text is what is indexed and what offsets index).

Offsets everywhere else index the document text, so nothing here normalises whitespace, line endings or
unicode. Files that are binary, not UTF-8, corrupt, password-protected or scanned without a text layer are
skipped with a warning that names them and says what to do; the rest is read. This module does not split or
index anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError
from .extractors import EXTRACTED_SUFFIXES, Unreadable, extract, markdown_sections
from .types import Document

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")
SUFFIXES = TEXT_SUFFIXES + EXTRACTED_SUFFIXES


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def doc_id_for(text: str) -> str:
    """Stable id from content, so the same text gets the same id wherever it lives."""
    return content_hash(text)[:16]


def read_text(path: Path) -> str | None:
    """The file's text, or None (with a warning) when it is binary or not UTF-8."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        logger.warning("skipped %s: it looks binary (contains NUL bytes)", path)
        return None
    try:
        # Read the way users will check citations, open(path, encoding="utf-8").read(): universal newlines
        # turn "\r\n" into "\n", and offsets must count the characters of that text.
        with path.open(encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        logger.warning("skipped %s: not valid UTF-8 (byte %d); convert it to UTF-8 to index it", path, exc.start)
        return None


def read_document(path: Path) -> Document | None:
    """The document a file holds (its id from its text), or None with a warning naming the file and the fix."""
    path = Path(path)
    pages: tuple = ()
    sections: tuple = ()
    if path.suffix.lower() in EXTRACTED_SUFFIXES:
        try:
            extracted = extract(path)
        except Unreadable as exc:
            logger.warning("skipped %s: %s", path, exc)
            return None
        except OSError as exc:
            logger.warning("skipped %s: cannot read it (%s)", path, exc.strerror or exc)
            return None
        text, pages, sections = extracted.text, extracted.pages, extracted.sections
    else:
        text = read_text(path)
        if text is None:
            return None
        if path.suffix.lower() in MARKDOWN_SUFFIXES:
            sections = markdown_sections(text)
    if not text.strip():
        logger.warning("skipped %s: it is empty", path)
        return None
    return Document(doc_id=doc_id_for(text), source=str(path), text=text, pages=pages, sections=sections)


def find_files(sources: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into the document files they hold, in a stable order."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise InputError(f"path not found: {source}; check the spelling or give an existing file or folder")
        if path.is_dir():
            files.extend(sorted(_walk(path)))
        else:
            files.append(path)
    return files


def _walk(root: Path) -> list[Path]:
    """Document files under `root`, hidden ones left out. Linked folders are followed, each real folder once, so
    a link back up the tree cannot loop."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            logger.warning("skipped %s: it links to a folder already read", folder)
            subfolders[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in names:
            file = Path(folder) / name
            if not name.startswith(".") and file.suffix.lower() in SUFFIXES and file.is_file():
                found.append(file)
    return found


def load_documents(sources: Iterable[str | Path], show_progress: bool = False) -> list[Document]:
    """Documents from the given files and folders; empty files are skipped, duplicates kept once."""
    sources = list(sources)
    files = find_files(sources)
    documents: list[Document] = []
    seen: set[str] = set()
    iterator = files
    if show_progress and len(files) > 20:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc="Reading", unit="file")
    for path in iterator:
        document = read_document(path)
        if document is None:
            continue
        if document.doc_id in seen:
            logger.warning("skipped %s: same content as a file already read", path)
            continue
        seen.add(document.doc_id)
        documents.append(document)
    if not documents:
        names = ", ".join(str(s) for s in sources)
        raise InputError(
            f"no readable documents in {names}; add {'/'.join(SUFFIXES)} files (text in UTF-8) and run again"
        )
    return documents
