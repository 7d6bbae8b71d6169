"""PDF, HTML, DOCX and Markdown: extracted text is what offsets index, citations carry the page or section and are
verified against the file (re-extracted), and unreadable files are skipped with a warning naming them."""

from __future__ import annotations

import logging
import shutil

import pytest

from doc_fixtures import make_encrypted_pdf, make_fixture_folder, make_pdf

QUESTIONS = [
    ("When was the Hollowmere lighthouse automated?", "lighthouse.pdf", "1987", 2, None),
    ("When is the Vranja quince pruned?", "orchard.html", "late winter", None, "Pruning"),
    ("What cone are Celadon glazes fired to at the Marrow Lane studio?", "kiln.docx", "cone ten", None,
     "Glaze Firing"),
    ("Where is the bracket of the tide logger mounted?", "tidepool.md", "north pier", None, "Installation"),
]


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory):
    import rag

    docs = make_fixture_folder(tmp_path_factory.mktemp("formats") / "docs")
    return rag.Index.build([docs], path=docs.parent / "idx", model="none", show_progress=False)


@pytest.mark.parametrize("question,file,contains,page,section", QUESTIONS)
def test_each_format_answers_with_a_verified_citation_and_its_place(formats_index, question, file, contains, page,
                                                                    section):
    answer = formats_index.answer(question)
    assert answer.text is not None and contains in answer.text
    citation = answer.citations[0]
    assert citation.source.endswith(file)
    assert formats_index.document_text(citation.doc_id)[citation.start : citation.end] == citation.quote
    assert citation.page == page
    assert citation.section == section


def test_html_navigation_and_boilerplate_are_not_indexed(formats_index):
    record = next(d for d in formats_index.documents if d.source.endswith("orchard.html"))
    text = formats_index.document_text(record.doc_id)
    assert "Growing quinces" in text and "Pruning" in text
    for furniture in ("Home", "About us", "newsletter", "Copyright", "tracking", "color:red"):
        assert furniture not in text


def test_the_cli_shows_the_page_and_the_section(formats_index, capsys):
    from rag.cli import main

    assert main(["ask", QUESTIONS[0][0], "--index", str(formats_index.path)]) == 0
    assert "lighthouse.pdf, page 2, characters" in capsys.readouterr().out
    assert main(["ask", QUESTIONS[3][0], "--index", str(formats_index.path)]) == 0
    assert "tidepool.md, § Installation, characters" in capsys.readouterr().out


def test_the_chat_html_shows_the_page(formats_index):
    from ui.app import answer_turn

    turn = answer_turn(formats_index, QUESTIONS[0][0], 5, None, [])
    assert "lighthouse.pdf</span>, <span class='rag-place'>page 2</span>" in turn.html


def test_a_changed_pdf_is_re_extracted_when_citations_are_checked(tmp_path):
    import rag

    docs = make_fixture_folder(tmp_path / "docs")
    index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    assert index.answer(QUESTIONS[0][0]).citations
    make_pdf(docs / "lighthouse.pdf", [["Nothing about keepers here."], ["The page was rewritten entirely."]])
    answer = index.answer(QUESTIONS[0][0])
    assert answer.text is None and answer.outcome == "stale"


def test_unreadable_files_are_skipped_with_a_warning_and_the_rest_is_indexed(tmp_path, caplog):
    import rag

    docs = make_fixture_folder(tmp_path / "docs")
    make_encrypted_pdf(docs / "locked.pdf", ["A secret sentence about the vault."])
    make_pdf(docs / "scan.pdf", [[], []])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
    (docs / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    with caplog.at_level(logging.WARNING):
        index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    assert len(index.documents) == 4
    messages = [r.getMessage() for r in caplog.records if r.name == "rag.documents"]
    assert any("locked.pdf" in m and "password-protected" in m for m in messages)
    assert any("scan.pdf" in m and "no text layer" in m for m in messages)
    assert any("broken.pdf" in m and "not a readable PDF" in m for m in messages)
    assert any("broken.docx" in m and "not a readable Word document" in m for m in messages)


def test_plain_text_keeps_the_file_text_and_old_indexes_without_a_layout_still_load(tmp_path, seed_docs):
    import rag

    shutil.copytree(seed_docs, tmp_path / "docs")
    index = rag.Index.build([tmp_path / "docs"], path=tmp_path / "idx", model="none", show_progress=False)
    record = index.documents[0]
    assert index.document_text(record.doc_id) == open(index.source_path(record), encoding="utf-8").read()
    assert not (tmp_path / "idx" / "layout.json").exists()  # plain text: nothing to record, as before
    assert index.place(0, 10) == (None, None)


def test_dense_index_over_all_formats(tmp_path, tiny_model):
    import rag

    docs = make_fixture_folder(tmp_path / "docs")
    index = rag.Index.build([docs], path=tmp_path / "idx", model=str(tiny_model), show_progress=False)
    answer = index.answer(QUESTIONS[0][0], mode="hybrid")
    assert answer.citations and answer.citations[0].page == 2
