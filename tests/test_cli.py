"""The `rag` command in-process: answers, citations, and one-line errors with a non-zero exit."""

import json

import pytest

import rag
from rag.cli import main

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


@pytest.fixture
def built(tmp_path, seed_docs, capsys):
    index = tmp_path / "idx"
    assert main(["index", str(seed_docs), "--index", str(index), "--model", "none", "--no-progress"]) == 0
    assert "Indexed 1 document into" in capsys.readouterr().out
    return index


def test_ask_prints_the_quote_and_its_citation(built, capsys):
    assert main(["ask", QUESTION, "--index", str(built)]) == 0
    out = capsys.readouterr().out
    assert "Majid Sadeghi Dolatabadi" in out
    assert "000_a2e84cf20c291977.txt, characters" in out


def test_ask_json_has_verified_offsets(built, capsys):
    assert main(["ask", QUESTION, "--index", str(built), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    [citation] = answer["citations"]
    with open(citation["source"], encoding="utf-8") as handle:
        assert handle.read()[citation["start"] : citation["end"]] == citation["quote"] == answer["text"]


def test_ask_declines_plainly_and_lists_related_passages(built, capsys):
    assert main(["ask", "What is the capital of France?", "--index", str(built)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The documents do not answer this question")


def test_ask_without_index_builds_the_default_one(tmp_path, monkeypatch, seed_docs, capsys):
    monkeypatch.chdir(seed_docs.parent)
    (seed_docs.parent / "seeds").mkdir(exist_ok=True)
    (seed_docs.parent / "seeds" / "a.txt").write_text((seed_docs / "000_a2e84cf20c291977.txt").read_text("utf-8"),
                                                     "utf-8")
    monkeypatch.delenv("RAG_INDEX")
    monkeypatch.setenv("RAG_MODEL", "none")
    assert main(["ask", QUESTION]) == 0
    captured = capsys.readouterr()
    assert "building it from seeds/" in captured.err and "Dolatabadi" in captured.out


def test_the_update_command_printed_keeps_the_index_settings_and_works_from_another_folder(tmp_path, seed_docs,
                                                                                           monkeypatch, capsys):
    import shlex

    monkeypatch.chdir(seed_docs.parent)
    assert main(["index", seed_docs.name, "--index", str(tmp_path / "idx"), "--model", "none", "--chunk-chars", "300",
                 "--overlap", "0", "--no-progress"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)  # the documents were named relative to another folder
    command = rag.Index.load(tmp_path / "idx").update_command()
    assert command == (f"rag index {seed_docs} --index {tmp_path / 'idx'} --model none --chunk-chars 300 "
                       f"--overlap 0")
    assert main([*shlex.split(command)[1:], "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Synced") and "rebuilding" not in captured.err
    manifest = rag.Index.load(tmp_path / "idx").manifest
    assert (manifest.model, manifest.max_chars, manifest.overlap_sentences) == (None, 300, 0)


def test_ask_from_another_folder_cites_the_file_by_a_path_that_opens_there(tmp_path, seed_docs, monkeypatch, capsys):
    monkeypatch.chdir(seed_docs.parent)
    assert main(["index", seed_docs.name, "--index", str(tmp_path / "idx"), "--model", "none", "--no-progress"]) == 0
    assert main(["ask", QUESTION, "--index", str(tmp_path / "idx")]) == 0
    assert f"[1] {seed_docs.name}/000_a2e84cf20c291977.txt, characters" in capsys.readouterr().out  # as indexed
    monkeypatch.chdir(tmp_path)
    assert main(["ask", QUESTION, "--index", str(tmp_path / "idx")]) == 0
    assert f"[1] {seed_docs / '000_a2e84cf20c291977.txt'}, characters" in capsys.readouterr().out


def test_ask_without_index_elsewhere_names_rag_index_and_builds_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no seeds/ here: the repository's seed article is not what this user asks about
    monkeypatch.delenv("RAG_INDEX")
    monkeypatch.setenv("RAG_MODEL", "none")
    assert main(["ask", QUESTION]) == 2
    assert "rag index" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 2001], "the limit is 2000"),
        (["ask", "Balkh?", "--k", "0"], "k must be a whole number"),
        (["ask", "Balkh?", "--index", "{missing}"], "no index at"),
        (["ask", "Balkh?", "--index", "{corrupt}"], "rebuild it with"),
        (["ask", "Balkh?", "--index", "{file}"], "is a file, not an index folder"),
        (["index", "{missing}"], "path not found"),
        (["index", "{empty}"], "no readable documents"),
        (["index", "{seeds}", "--model", "{missing}"], "does not exist"),
        (["index", "{seeds}", "--model", "BAAI/bge-small-en-v1.5"], "not available locally"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, seed_docs, argv, message):
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "manifest.json").write_text("{not json")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("notes")
    places = {"missing": tmp_path / "missing", "corrupt": tmp_path / "corrupt", "empty": tmp_path / "empty",
              "seeds": seed_docs, "file": tmp_path / "file"}
    argv = [a.format(**places) for a in argv]
    if argv[0] == "index":
        argv += ["--index", str(tmp_path / "new-index")] + ([] if "--model" in argv else ["--model", "none"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_unknown_mode_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "Balkh?", "--mode", "fuzzy"])
    assert exit_info.value.code == 2


def test_ask_with_model_none_answers_from_bm25_alone(dense_index, capsys):
    assert main(["ask", QUESTION, "--index", str(dense_index.path), "--model", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "lexical"
    assert main(["ask", QUESTION, "--index", str(dense_index.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "hybrid"


def test_a_hard_wrapped_quote_keeps_its_indentation_in_the_terminal(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wrapped.txt").write_text("The lighthouse on Gull Point was built in 1874 by the engineer\n"
                                      "Margaret Ellery, who also drew its lamp.\n", encoding="utf-8")
    assert main(["index", str(docs), "--index", str(tmp_path / "idx"), "--model", "none", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["ask", "Who built the lighthouse on Gull Point?", "--index", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    quote_lines = out.split("“", 1)[1].split("”", 1)[0].splitlines()
    assert len(quote_lines) == 2 and quote_lines[1].startswith("     Margaret Ellery")
