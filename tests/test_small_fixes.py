"""Small things users hit: plurals, `-v` after the command, a non-string question, linked folders, and the chat's
handling of empty and over-long questions."""

from __future__ import annotations

import os

import pytest

import rag
from rag.cli import main
from rag.documents import find_files

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


def test_verbose_flag_after_the_command(tmp_path, seed_docs, capsys):
    assert main(["index", str(seed_docs), "--index", str(tmp_path / "idx"), "--model", "none", "--no-progress",
                 "-v"]) == 0
    assert main(["-v", "ask", QUESTION, "--index", str(tmp_path / "idx")]) == 0
    assert main(["ask", QUESTION, "--index", str(tmp_path / "idx"), "--verbose"]) == 0


def test_index_reports_counts_in_the_singular(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.txt").write_text("Only one sentence here.", encoding="utf-8")
    assert main(["index", str(tmp_path / "docs"), "--index", str(tmp_path / "idx"), "--model", "none",
                 "--no-progress"]) == 0
    assert "Indexed 1 document into 1 passage at" in capsys.readouterr().out


def test_documents_with_no_searchable_words_are_indexed_and_asked_without_a_crash(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "s.md").write_text("What is it?", encoding="utf-8")  # stop words and punctuation only
    (tmp_path / "docs" / "t.txt").write_text("... the of and a", encoding="utf-8")
    assert main(["index", str(tmp_path / "docs"), "--index", str(tmp_path / "idx"), "--model", "none",
                 "--no-progress"]) == 0
    assert "Indexed 2 documents" in capsys.readouterr().out
    assert main(["ask", "What is it?", "--index", str(tmp_path / "idx")]) == 0
    assert "do not answer" in capsys.readouterr().out


@pytest.mark.parametrize("question", [5, None, b"bytes", ["a list"]])
def test_a_question_that_is_not_a_string_says_so(lexical_index, question):
    with pytest.raises(rag.InputError, match=f"the question must be a string, not {type(question).__name__}"):
        rag.answer(question, index=lexical_index)


def test_linked_folders_are_followed_once(tmp_path, caplog):
    docs = tmp_path / "docs"
    (docs / "real").mkdir(parents=True)
    (docs / "real" / "a.txt").write_text("A.", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.md").write_text("B.", encoding="utf-8")
    os.symlink(outside, docs / "linked")
    os.symlink(docs, docs / "real" / "loop")  # back up the tree
    files = find_files([docs])
    assert sorted(p.name for p in files) == ["a.txt", "b.md"]
    assert "links to a folder already read" in caplog.text


def test_chat_keeps_an_over_long_question_and_ignores_an_empty_one(lexical_index):
    pytest.importorskip("gradio")
    from test_ui_api import client, serving

    with serving(lexical_index) as (_, url):
        c = client(url)
        empty_html, _ = c.predict("", 5, "lexical", api_name="/ask")
        long = "why " * 1250
        html, box = c.predict(long, 5, "lexical", api_name="/ask")
        assert box == long  # kept, to be shortened
        assert html == empty_html and long.strip() not in html  # no turn echoing it
        html, box = c.predict("   ", 5, "lexical", api_name="/ask")
        assert html == empty_html
