"""Sources that changed or went away after indexing are reported as such, never as "the documents do not
answer", and citations are checked against the right file from any working folder."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

import rag
from rag.cli import main
from rag.sources import CHANGED, CURRENT, MISSING, SourceFiles

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


@pytest.fixture
def project(tmp_path, seed_docs, monkeypatch):
    """A project folder with seeds/ and an index built from it with a relative path, as users do."""
    root = tmp_path / "project"
    shutil.copytree(seed_docs, root / "seeds")
    monkeypatch.chdir(root)
    index = rag.Index.build(["seeds"], path="idx", model="none", show_progress=False)
    [source] = [d.source for d in index.documents]
    return root, index, root / source


def test_unchanged_sources_answer_with_verified_citations(project):
    root, index, _ = project
    answer = index.answer(QUESTION)
    assert answer.outcome == "answered" and not answer.stale_sources and not answer.missing_sources
    assert index.changed_sources() == []


def test_edited_source_is_stale_not_declined(project, capsys):
    root, index, source = project
    text = source.read_text(encoding="utf-8")
    source.write_text("A new first line pushes every offset.\n" + text.replace("Dolatabadi", "Dolatzadeh"),
                      encoding="utf-8")
    answer = rag.Index.load("idx").answer(QUESTION)
    assert answer.outcome == "stale" and answer.text is None and answer.citations == []
    assert answer.stale_sources == ("seeds/" + source.name,)
    assert main(["ask", QUESTION, "--index", "idx"]) == 0
    out, err = capsys.readouterr()
    assert "do not answer" not in out and "below the" not in out
    assert f"seeds/{source.name} changed since it was indexed; run `rag index seeds --index idx --model none` to update" in out
    # Detected when the index is opened, before any question.
    assert err.startswith("warning: 1 indexed file changed since indexing: seeds/")
    assert [(c.source, c.state) for c in rag.Index.load("idx").changed_sources()] == [(f"seeds/{source.name}",
                                                                                      CHANGED)]


def test_edit_that_keeps_the_quote_answers_and_notes_the_change(project, capsys):
    root, index, source = project
    with open(source, "a", encoding="utf-8") as handle:
        handle.write("\nAn appended line leaves earlier offsets where they were.\n")
    answer = rag.Index.load("idx").answer(QUESTION)
    assert answer.outcome == "answered" and "Dolatabadi" in answer.text
    assert answer.stale_sources == (f"seeds/{source.name}",)


def test_touched_but_unchanged_source_is_current(project):
    root, index, source = project
    source.write_bytes(source.read_bytes())  # new mtime, same content
    fresh = rag.Index.load("idx")
    assert fresh.changed_sources() == []
    assert fresh.answer(QUESTION).outcome == "answered"


def test_deleted_source_answers_from_the_index_copy_and_says_so(project, capsys):
    root, index, source = project
    source.unlink()
    answer = rag.Index.load("idx").answer(QUESTION)
    assert answer.outcome == "answered" and "Dolatabadi" in answer.text
    assert answer.missing_sources == (f"seeds/{source.name}",)
    assert main(["ask", QUESTION, "--index", "idx"]) == 0
    assert f"answered from the indexed copy; the file seeds/{source.name} is gone" in capsys.readouterr().out.lower()


def test_damaged_index_copy_of_a_deleted_source_is_not_called_verified(project, caplog):
    """With the file gone, the stored copy is checked against the recorded hash, not against itself."""
    root, index, source = project
    source.unlink()
    fresh = rag.Index.load("idx")
    fresh._verifier._recorded_sha256 = lambda i: "0" * 64  # as if the copy no longer matched what was read
    with caplog.at_level(logging.WARNING):
        answer = fresh.answer(QUESTION)
    assert answer.text is None and answer.citations == []
    assert "dropped a citation" in caplog.text


def test_same_index_from_another_folder_checks_the_right_file(project, tmp_path, monkeypatch):
    root, index, source = project
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "seeds").mkdir(parents=True)
    # A different file at the same relative path must not be taken for the indexed one.
    (elsewhere / "seeds" / source.name).write_text("Unrelated text. Nothing about provinces.\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    moved = rag.Index.load(root / "idx")
    assert moved.changed_sources() == []
    answer = moved.answer(QUESTION)
    assert answer.outcome == "answered" and not answer.stale_sources
    source.unlink()
    assert rag.Index.load(root / "idx").answer(QUESTION).missing_sources == (f"seeds/{source.name}",)


def test_manifest_records_file_stats_and_the_build_folder(project):
    root, index, source = project
    manifest = json.loads((root / "idx" / "manifest.json").read_text())
    assert manifest["source_root"] == str(root)
    [doc] = manifest["documents"]
    assert doc["bytes"] == source.stat().st_size and doc["mtime_ns"] == source.stat().st_mtime_ns


def test_file_cache_is_bounded_by_bytes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i in range(6):
        (tmp_path / f"d{i}.txt").write_text(f"Document {i} says something. " * 40, encoding="utf-8")
    index = rag.Index.build([tmp_path / f"d{i}.txt" for i in range(6)], path=tmp_path / "idx", model="none",
                            show_progress=False)
    size = len((tmp_path / "d0.txt").read_text())
    files = SourceFiles(index.manifest, cache_bytes=2 * size + 10)
    for i in range(6):
        assert files.text(i) is not None
        assert files.state(i) == CURRENT
    assert files.cached_chars <= 2 * size + 10
    (tmp_path / "d3.txt").unlink()
    assert files.state(3) == MISSING


def test_chat_says_which_file_changed_and_how_to_update(project):
    pytest.importorskip("gradio")
    from ui.app import answer_turn, sources_changed_note

    root, index, source = project
    source.write_text("Rewritten entirely.\n", encoding="utf-8")
    fresh = rag.Index.load("idx")
    turn = answer_turn(fresh, QUESTION, 5, "lexical", [])
    assert "do not answer" not in turn.html
    assert f"seeds/{source.name} changed since it was indexed; run <code>rag index seeds --index idx --model none</code>" in turn.html
    assert "seeds/" in sources_changed_note(fresh) and "changed" in sources_changed_note(fresh)
