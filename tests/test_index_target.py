"""`--index` never replaces what is not an index: a folder of the user's files, a file, or the documents
themselves are refused with one line and exit 2, and every original file is still there byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import rag
from rag.cli import main


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` (hidden ones included) with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plan.txt").write_text("The plan is to plant apple trees in spring.\n", encoding="utf-8")
    (folder / "photo.jpg").write_bytes(bytes(range(256)) * 4)
    return folder


def refuse(argv, capsys, match: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert match in err
    return err


def test_index_into_the_documents_folder_is_refused(tmp_path, notes, capsys):
    before = snapshot(tmp_path)
    refuse(["index", str(notes), "--index", str(notes), "--model", "none"], capsys, str(notes))
    assert snapshot(tmp_path) == before


def test_index_inside_the_documents_folder_is_refused(tmp_path, notes, capsys):
    before = snapshot(tmp_path)
    refuse(["index", str(notes), "--index", str(notes / "idx"), "--model", "none"], capsys, "inside the documents")
    assert snapshot(tmp_path) == before


def test_documents_inside_the_index_folder_are_refused(tmp_path, seed_docs, capsys):
    index = rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)
    docs = index.path / "mine"
    docs.mkdir()
    (docs / "a.txt").write_text("Bananas are yellow.\n", encoding="utf-8")
    before = snapshot(tmp_path)
    refuse(["index", str(docs), "--index", str(index.path), "--model", "none"], capsys, "inside the index folder")
    assert snapshot(tmp_path) == before


def test_a_folder_of_other_files_is_refused(tmp_path, seed_docs, notes, capsys):
    before = snapshot(tmp_path)
    err = refuse(["index", str(seed_docs), "--index", str(notes), "--model", "none"], capsys, str(notes))
    assert "no rag index" in err
    assert snapshot(tmp_path) == before
    with pytest.raises(rag.InputError, match="other files"):  # the library refuses too, not only the CLI
        rag.Index.build([seed_docs], path=notes, model="none", show_progress=False)
    assert snapshot(tmp_path) == before


def test_a_file_is_refused_and_not_renamed(tmp_path, seed_docs, capsys):
    target = tmp_path / "photos"
    target.write_bytes(b"\xff\xd8 not really a jpeg")
    before = snapshot(tmp_path)
    refuse(["index", str(seed_docs), "--index", str(target), "--model", "none"], capsys, "is a file")
    assert snapshot(tmp_path) == before


def test_chat_with_a_folder_of_other_files_touches_nothing(tmp_path, notes, capsys):
    before = snapshot(tmp_path)
    assert main(["chat", "--index", str(notes), "--model", "none", "--port", "1"]) == 2
    assert "error: " in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("state", ["missing", "empty", "index", "damaged index"])
def test_index_is_written_to_a_missing_or_empty_folder_or_over_an_index(tmp_path, seed_docs, state, capsys):
    target = tmp_path / "idx"
    if state != "missing":
        target.mkdir()
    if state in ("index", "damaged index"):
        rag.Index.build([seed_docs], path=target, model="none", show_progress=False)
    if state == "damaged index":
        (target / "manifest.json").write_bytes(b"\x00garbage")
    assert main(["index", str(seed_docs), "--index", str(target), "--model", "none", "--no-progress"]) == 0
    out = capsys.readouterr().out
    if state == "index":  # an index that opens is synced: nothing changed, nothing rebuilt
        assert "added 0, updated 0, removed 0, unchanged 1; 1 document, 27 passages" in out
    else:
        assert "Indexed 1 document into 27 passages" in out
    assert rag.Index.load(target).answer("Who was the acting consul of the Islamic Republic in Jalalabad?").text
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".idx.")]  # no staging or retired folders left
