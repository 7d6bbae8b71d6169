"""Reading document folders: what is indexed, what is skipped and said so, what is refused."""

import pytest

import rag


def test_binary_and_non_utf8_files_are_skipped_by_name(tmp_path, caplog, seed_text):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text(seed_text, encoding="utf-8")
    (docs / "latin1.txt").write_bytes("Caf\xe9 au lait \xe0 Paris.".encode("latin-1"))
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (docs / "ignored.pdfx").write_text("not a document type we read")
    index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    assert [d.source for d in index.documents] == [str(docs / "good.md")]
    assert "latin1.txt" in caplog.text and "not valid UTF-8" in caplog.text
    assert "binary.txt" in caplog.text and "binary" in caplog.text


def test_crlf_offsets_match_what_open_reads(tmp_path):
    doc = tmp_path / "windows.txt"
    doc.write_bytes(b"First line here.\r\nBananas are yellow and sweet.\r\nLast line.\r\n")
    index = rag.Index.build([doc], path=tmp_path / "idx", model="none", show_progress=False)
    answer = index.answer("Are bananas yellow and sweet?", threshold=0.0)  # a yes/no question: quoted, not judged
    [citation] = answer.citations
    assert open(doc, encoding="utf-8").read()[citation.start : citation.end] == "Bananas are yellow and sweet."


def test_folder_without_documents_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "picture.png").write_bytes(b"\x89PNG")
    with pytest.raises(rag.InputError, match="no readable documents"):
        rag.Index.build([tmp_path / "empty"], path=tmp_path / "idx", model="none")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(rag.InputError, match="path not found"):
        rag.Index.build([tmp_path / "missing"], path=tmp_path / "idx", model="none")


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_refused(lexical_index, question):
    with pytest.raises(rag.InputError, match="question is empty"):
        lexical_index.answer(question)


def test_overlong_question_is_refused(lexical_index):
    with pytest.raises(rag.InputError, match="limit is 2000"):
        lexical_index.retrieve("why " * 600)


@pytest.mark.parametrize("k", [0, -3, 1.5, "5", True])
def test_bad_k_is_refused(lexical_index, k):
    with pytest.raises(rag.InputError, match="k must be a whole number"):
        lexical_index.retrieve("Balkh", k=k)


def test_unknown_mode_is_refused(lexical_index):
    with pytest.raises(rag.InputError, match="unknown mode"):
        lexical_index.retrieve("Balkh", mode="fuzzy")
