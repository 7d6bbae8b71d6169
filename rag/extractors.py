"""Extract the text a document is indexed by from PDF, HTML and DOCX files, with its pages and section headings.

Offsets everywhere else index the text returned here, so each extractor is deterministic: the same file always
gives the same text, which is how citations of these formats are verified later (the file is extracted again
and its text compared with what was indexed). Formats:
  - PDF (pypdf, BSD-3-Clause): each page's text layer, pages joined by a blank line; `pages` holds where each
    page starts. A PDF without any text (a scan) is skipped with a warning that says so; this module does no OCR.
  - HTML (selectolax with its lexbor engine, MIT): the main content (the <main> or <article> element when there is one, else <body>),
    with navigation, headers, footers, asides, forms, scripts and styles dropped; one block per heading,
    paragraph, list item, table row or preformatted block, blank lines between them. Headings are sections.
  - DOCX (python-docx, MIT): the body's paragraphs in order, blank lines between; "Heading N" and "Title"
    paragraphs are sections. Tables, headers and footnotes are not read.
  - Markdown: read as text by `documents.py`; `markdown_sections` finds its ATX and setext headings here.
A file that cannot be read (corrupt, password-protected, empty) raises `Unreadable` with a reason a person can
act on; the caller skips it with a warning. This module neither chunks nor decides which files to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PDF_SUFFIXES = (".pdf",)
HTML_SUFFIXES = (".html", ".htm")
DOCX_SUFFIXES = (".docx",)
EXTRACTED_SUFFIXES = PDF_SUFFIXES + HTML_SUFFIXES + DOCX_SUFFIXES

# Elements whose text is site furniture rather than content (HTML5 sectioning elements and ARIA roles).
_BOILERPLATE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "button",
                "iframe", "svg", "[role=navigation]", "[role=banner]", "[role=contentinfo]",
                "[role=complementary]", "[aria-hidden=true]")
_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "tr", "dt", "dd",
                "figcaption", "caption")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


class Unreadable(Exception):
    """The file cannot be indexed; the message says why and what to do."""


@dataclass(frozen=True)
class Extracted:
    """A document's text with where its pages start (PDF) and its section headings: (offset, title) pairs."""

    text: str
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = field(default_factory=tuple)


def kind_of(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in DOCX_SUFFIXES:
        return "docx"
    return "text"


def extract(path: str | Path) -> Extracted:
    """The indexed text of a PDF, HTML or DOCX file; raises `Unreadable`."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "pdf":
        return extract_pdf(path)
    if kind == "html":
        return extract_html(path.read_bytes())
    if kind == "docx":
        return extract_docx(path)
    raise Unreadable(f"{path.suffix} files are read as text, not extracted")


def _join(blocks: list[tuple[str, bool]]) -> Extracted:
    """Blocks (text, is_heading) joined by blank lines, headings recorded as sections."""
    parts, sections, offset = [], [], 0
    for text, heading in blocks:
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        if heading:
            sections.append((offset, text))
        parts.append(text)
        offset += len(text)
    return Extracted("".join(parts), (), tuple(sections))


# --------------------------------------------------------------------------- PDF
def extract_pdf(path: Path) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are encrypted with an empty user password
            except Exception:  # noqa: BLE001 - pypdf raises several types for unsupported encryption
                opened = 0
            if not opened:
                raise Unreadable("it is password-protected; save an unprotected copy to index it")
        texts = [(page.extract_text() or "") for page in reader.pages]
    except Unreadable:
        raise
    except FileNotDecryptedError:
        raise Unreadable("it is password-protected; save an unprotected copy to index it") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise Unreadable(f"it is not a readable PDF ({type(exc).__name__}: {str(exc)[:80]}); "
                         f"open and re-save it, or export it again") from None
    if not texts:
        raise Unreadable("the PDF has no pages")
    pages, parts, offset = [], [], 0
    for i, text in enumerate(texts):
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if i:
            parts.append("\n\n")
            offset += 2
        pages.append(offset)
        parts.append(text)
        offset += len(text)
    joined = "".join(parts)
    if not joined.strip():
        raise Unreadable("it has no text layer (a scanned PDF?); run OCR on it (e.g. ocrmypdf) to index it")
    return Extracted(joined, tuple(pages), ())


# --------------------------------------------------------------------------- HTML
def _clean(text: str) -> str:
    return "\n".join(line for line in (_SPACE.sub(" ", x).strip() for x in text.split("\n")) if line)


def extract_html(data: bytes | str) -> Extracted:
    from selectolax.lexbor import LexborHTMLParser

    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            data = data.decode("cp1252", errors="replace")
    tree = LexborHTMLParser(data)
    root = tree.css_first("main") or tree.css_first("article") or tree.css_first("[role=main]") or tree.body
    if root is None:
        raise Unreadable("it holds no HTML body")
    for selector in _BOILERPLATE:
        for node in root.css(selector):
            node.decompose()
    blocks: list[tuple[str, bool]] = []
    selector = ",".join(_HTML_BLOCKS)
    for node in root.css(selector):
        # A block inside another block (a <p> in an <li>) is read with its parent, once.
        parent, nested = node.parent, False
        while parent is not None and parent is not root:
            if parent.tag in _HTML_BLOCKS:
                nested = True
                break
            parent = parent.parent
        if nested:
            continue
        if node.tag == "pre":
            text = node.text(deep=True).strip("\n")
        elif node.tag == "tr":
            text = " | ".join(_clean(c.text(deep=True, separator=" ")) for c in node.css("th,td"))
        else:
            text = _clean(node.text(deep=True, separator=" ")).replace("\n", " ")
        blocks.append((text.strip(), node.tag in _HEADINGS))
    if not any(text for text, _ in blocks):  # no block elements: the root's text as it is
        blocks = [(_clean(root.text(deep=True, separator="\n")), False)]
    extracted = _join(blocks)
    if not extracted.text.strip():
        raise Unreadable("it has no text outside navigation and scripts")
    return extracted


# --------------------------------------------------------------------------- DOCX
def extract_docx(path: Path) -> Extracted:
    import zipfile

    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise Unreadable(f"python-docx is missing ({exc}); reinstall rag") from None
    try:
        document = docx.Document(str(path))
        blocks = []
        for paragraph in document.paragraphs:
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            text = _SPACE.sub(" ", paragraph.text).strip()
            blocks.append((text, style.startswith("Heading") or style == "Title"))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise Unreadable(f"it is not a readable Word document ({type(exc).__name__}); open and re-save it "
                         f"as .docx") from None
    extracted = _join(blocks)
    if not extracted.text.strip():
        raise Unreadable("it has no paragraphs of text")
    return extracted


# --------------------------------------------------------------------------- Markdown
_ATX = re.compile(r"^[ ]{0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^[ ]{0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")


def markdown_sections(text: str) -> tuple[tuple[int, str], ...]:
    """(offset, title) of each ATX (`# Title`) and setext (`Title` over `===`) heading, outside code fences."""
    sections, offset, fence, previous = [], 0, None, None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        opener = _FENCE.match(bare)
        if fence:
            if opener and opener.group(1) == fence:
                fence = None
        elif opener:
            fence = opener.group(1)
        else:
            atx = _ATX.match(bare)
            if atx:
                sections.append((offset, atx.group(2).strip()))
            elif _SETEXT.match(bare) and previous and previous[1].strip() and not _ATX.match(previous[1]):
                sections.append((previous[0], previous[1].strip()))
        previous = (offset, bare) if not fence else None
        offset += len(line)
    return tuple(sections)


def page_at(pages, offset: int) -> int | None:
    """The 1-based page holding character `offset`, or None without pages."""
    from bisect import bisect_right

    if not pages:
        return None
    return max(1, bisect_right(list(pages), offset))


def section_at(sections, offset: int) -> str | None:
    """The title of the last section heading at or before `offset`, or None."""
    from bisect import bisect_right

    if not sections:
        return None
    i = bisect_right([s[0] for s in sections], offset)
    return str(sections[i - 1][1]) if i else None
