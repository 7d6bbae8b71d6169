"""Make test documents in every format without network or extra writers: a PDF written by hand (one text object
per line, Helvetica), a DOCX with python-docx, HTML with navigation boilerplate, and wrapped Markdown."""

from __future__ import annotations

from pathlib import Path


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(path: Path, pages: list[list[str]], *, encrypt_marker: bool = False) -> Path:
    """A PDF whose page n shows the lines of pages[n-1] (empty lists make pages without text, as a scan has)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
        for line in lines:
            ops.append(f"({_pdf_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R "
                        b">> >> /Contents %d 0 R >>" % (pages_obj, font, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                              + b"] /Count %d >>" % len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    Path(path).write_bytes(bytes(out))
    return Path(path)


def make_encrypted_pdf(path: Path, lines: list[str], password: str = "secret") -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(Path(str(path) + ".plain.pdf"), [lines])
    writer = PdfWriter(clone_from=PdfReader(str(plain)))
    writer.encrypt(user_password=password, owner_password=password)
    with open(path, "wb") as handle:
        writer.write(handle)
    plain.unlink()
    return Path(path)


def make_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """blocks: ("heading", text) or ("para", text), in order."""
    import docx

    document = docx.Document()
    for kind, text in blocks:
        if kind == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return Path(path)


PDF_PAGES = [
    ["Annual Lighthouse Survey", "The survey covers coastal lights of the northern district."],
    ["Keepers and staffing.", "The Hollowmere lighthouse was automated in 1987 after its last keeper retired."],
    ["Maintenance schedule.", "Lenses at Cape Varden are polished every six weeks by the district crew."],
]

HTML_PAGE = """<!doctype html><html><head><title>Orchard notes</title><style>body{color:red}</style>
<script>var tracking = "Quincewick analytics";</script></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/shop">Shop the Quincewick collection</a></li></ul></nav></header>
<main><h1>Growing quinces</h1>
<p>Quince trees prefer deep, well drained loam and a sheltered, sunny position.</p>
<h2>Pruning</h2>
<p>The Vranja quince is pruned in late winter, when the tree is fully dormant.</p>
</main>
<aside>Subscribe to our newsletter for weekly Quincewick deals.</aside>
<footer>Copyright 2024 Quincewick Orchards. All rights reserved.</footer></body></html>
"""

DOCX_BLOCKS = [
    ("heading", "Kiln Operations"),
    ("para", "The studio kiln is loaded on Mondays and fired overnight."),
    ("heading", "Glaze Firing"),
    ("para", "Celadon glazes at the Marrow Lane studio are fired to cone ten in a reduction atmosphere."),
]

MARKDOWN = """# Tidepool Handbook

An introduction to the handbook for new volunteers who
join the weekend survey team on the rocky shore.

## Installation

To install the tide logger, mount the bracket on the
north pier and connect the Pelican sensor cable to
port B of the logger before the morning low tide.

## Safety

Volunteers always work in pairs and carry a radio.
"""


def make_fixture_folder(folder: Path) -> Path:
    """The four formats in one folder: lighthouse.pdf, orchard.html, kiln.docx, tidepool.md."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    make_pdf(folder / "lighthouse.pdf", PDF_PAGES)
    (folder / "orchard.html").write_text(HTML_PAGE, encoding="utf-8")
    make_docx(folder / "kiln.docx", DOCX_BLOCKS)
    (folder / "tidepool.md").write_text(MARKDOWN, encoding="utf-8")
    return folder
