"""Sync of an index in Milvus Lite (Python and `rag index`), failures of Milvus mid-session as one-line errors,
and rebuild hints that name the collection. Unchanged files are neither read again nor embedded (a counting
encoder), and a sync killed between writing and deleting finishes on the next run.

Skipped (with the reason) where milvus-lite is not installed; `make test` installs it (the `milvus` extra).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'rag[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install 'rag[milvus]')")

import rag  # noqa: E402
from kill_scripts import MILVUS_SYNC_SCRIPT  # noqa: E402
from rag.cli import main  # noqa: E402
from rag.milvus_store import MilvusTarget, _client  # noqa: E402
from test_sync import FACTS, sources, write  # noqa: E402

OWLS = "Barn owls nest in the old granary at Pellham farm every winter."
RECAST = "The bronze bells of Aldmoor chapel were recast in 1901 after a fire."


def _change(docs):
    """One file added, one changed, one deleted, one left alone."""
    (docs / "owls.txt").write_text(OWLS, "utf-8")
    (docs / "bells.txt").write_text(RECAST, "utf-8")
    (docs / "otters.txt").unlink()


def _entities(index) -> int:
    """Passages in the collection, counted by Milvus (those of documents without a record included)."""
    return index.store._count(index.store.target.collection)


def test_python_sync_changes_only_what_changed(tmp_path, tiny_model, counting_encoder):
    docs = write(tmp_path / "docs", FACTS)
    where, config = f"milvus:{tmp_path / 'm.db'}", rag.Config(collection="synced")
    index = rag.Index.build([docs], path=where, model=str(tiny_model), config=config, show_progress=False)
    built = dict(counting_encoder)
    assert built["passages"] == 3

    report = index.sync([docs])
    assert report.summary() == "added 0, updated 0, removed 0, unchanged 3" and report.embedded == 0
    assert counting_encoder == built  # nothing read again, nothing embedded

    _change(docs)
    report = index.sync(docs)
    assert report.summary() == "added 1, updated 1, removed 1, unchanged 1"
    assert counting_encoder["passages"] - built["passages"] == 2 == report.embedded  # owls and the new bells only
    assert sources(index) == {"owls.txt", "bells.txt", "salt.md"} and len(index) == 3 == _entities(index)
    assert index.answer("Where do barn owls nest?", mode="lexical").citations[0].source.endswith("owls.txt")
    bells = index.answer("When were the Aldmoor bells recast?", mode="hybrid", threshold=0)
    assert "1901" in bells.text and bells.citations[0].quote in index.document_text(bells.citations[0].doc_id)
    assert all(not h.source.endswith("otters.txt") for h in index.retrieve("river otters crayfish willow", k=3))
    assert not any("1642" in h.text for h in index.retrieve("When were the bells cast?", k=3, mode="lexical"))
    reopened = rag.Index.load(where, config=config)  # what another process sees
    assert sources(reopened) == sources(index) and len(reopened) == 3
    for hit in reopened.retrieve("bronze bells recast", mode="dense", k=3):
        assert hit.text == reopened.document_text(hit.doc_id)[hit.start:hit.end]
    assert reopened.sync([docs]).summary() == "added 0, updated 0, removed 0, unchanged 3"


def test_rag_index_syncs_a_milvus_collection_and_rebuild_forces_a_build(tmp_path, tiny_model, counting_encoder,
                                                                         capsys):
    docs = write(tmp_path / "docs", FACTS)
    where = ["--index", f"milvus:{tmp_path / 'cli.db'}", "--collection", "cli_sync", "--no-progress"]
    assert main(["index", str(docs), *where, "--model", str(tiny_model)]) == 0
    assert "Indexed 3 documents" in capsys.readouterr().out
    built = dict(counting_encoder)
    (docs / "owls.txt").write_text(OWLS, "utf-8")
    assert main(["index", str(docs), *where, "--model", str(tiny_model)]) == 0
    assert "Synced milvus:" in (out := capsys.readouterr().out)
    assert "added 1, updated 0, removed 0, unchanged 3" in out
    assert counting_encoder["passages"] - built["passages"] == 1  # only owls.txt was embedded
    assert main(["ask", "Where do barn owls nest?", *where[:4]]) == 0
    assert "owls.txt" in capsys.readouterr().out
    (docs / "owls.txt").unlink()
    assert main(["index", str(docs), *where]) == 0
    assert "added 0, updated 0, removed 1, unchanged 3" in capsys.readouterr().out
    assert main(["index", str(docs), *where, "--rebuild", "--model", "none"]) == 0
    assert "Indexed 3 documents" in capsys.readouterr().out
    for name in FACTS:
        (docs / name).unlink()
    assert main(["index", str(docs), *where]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert len(rag.Index.load(where[1], config=rag.Config(collection="cli_sync")).documents) == 3


def test_a_sync_killed_before_its_deletions_finishes_on_the_next_run(tmp_path):
    docs = write(tmp_path / "docs", FACTS)
    where, config = f"milvus:{tmp_path / 'killed.db'}", rag.Config(collection="killed", model=None)
    # Built in another process: Milvus Lite lets one process at a time open a file.
    subprocess.run([sys.executable, "-m", "rag.cli", "index", str(docs), "--index", where, "--collection", "killed",
                    "--model", "none", "--no-progress"], check=True, capture_output=True,
                   env=os.environ | {"PYTHONPATH": os.getcwd()})
    _change(docs)
    process = subprocess.Popen([sys.executable, "-c", MILVUS_SYNC_SCRIPT, where, str(docs), "killed"],
                               stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
    assert process.stdout.readline().strip() == "written"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    index = rag.Index.load(where, config=config)
    assert len(index.documents) == 5  # both bells, otters (not yet deleted) and owls, salt
    report = index.sync([docs])
    # The new documents were written with their files' stat: unchanged now, and not read or written again.
    assert report.summary() == "added 0, updated 0, removed 1, unchanged 3" and report.embedded == 0
    assert sources(index) == {"owls.txt", "bells.txt", "salt.md"} and len(index) == 3 == _entities(index)
    assert "1901" in index.answer("When were the Aldmoor bells recast?", mode="lexical", threshold=0.0).text


def test_a_collection_dropped_while_open_is_one_line_naming_the_fix(tmp_path, seed_docs, capfd):
    where, config = f"milvus:{tmp_path / 'gone.db'}", rag.Config(collection="dropped", model=None)
    index = rag.Index.build([seed_docs], path=where, config=config, show_progress=False)
    assert index.retrieve("Which province did Muzammil govern?", k=3)
    _client(MilvusTarget.parse(where, "dropped")).drop_collection("dropped")
    for ask in (lambda: index.retrieve("Which province did Muzammil govern?"),
                lambda: index.answer("Which province did Muzammil govern?")):
        with pytest.raises(rag.IndexNotFoundError, match=r"collection 'dropped' at milvus:.* is gone .*rebuild it "
                                                         r"with `rag index DOCS --index milvus:\S+ --collection "
                                                         r"dropped`") as error:
            ask()
        assert "\n" not in str(error.value)
    assert "Traceback" not in capfd.readouterr().err  # pymilvus's own log of the failure is not printed


def test_a_server_gone_mid_session_is_one_line_naming_what_to_check():
    from pymilvus.exceptions import MilvusException

    from rag.milvus_target import MilvusUnavailableError, _Guarded

    class Gone:
        def search(self, *args, **kwargs):
            raise MilvusException(code=2, message="Fail connecting to server on 10.0.0.7:19530, illegal connection")

        def query(self, *args, **kwargs):
            raise ConnectionResetError("connection reset by peer")

        def describe_collection(self, *args, **kwargs):
            raise TypeError("a bug of ours keeps its traceback")

    client = _Guarded(Gone(), MilvusTarget.parse("milvus:http://10.0.0.7:19530", "rag"))
    with pytest.raises(MilvusUnavailableError, match=r"Milvus at http://10.0.0.7:19530 failed during search "
                                                     r"\(Fail connecting.*\); check that the server is still running"):
        client.search("rag", data=[[0.0]])
    with pytest.raises(MilvusUnavailableError, match="failed during query .connection reset by peer"):
        client.query("rag")
    with pytest.raises(TypeError):
        client.describe_collection("rag")


def test_hints_name_a_collection_that_is_not_the_default(tmp_path, tiny_model, capsys):
    docs = write(tmp_path / "docs", FACTS)
    where, config = f"milvus:{tmp_path / 'h.db'}", rag.Config(collection="hinted", model=None)
    index = rag.Index.build([docs], path=where, config=config, show_progress=False)
    command = index.update_command()
    assert command.endswith("--collection hinted --model none") and str(docs) in command
    (docs / "owls.txt").write_text(OWLS, "utf-8")
    assert main([*shlex.split(command)[1:], "--no-progress"]) == 0  # the printed command works as printed
    assert "added 1, updated 0, removed 0, unchanged 3" in capsys.readouterr().out
    with pytest.raises(rag.IndexMismatchError, match=r"rebuild it with `rag index DOCS --index milvus:\S+ "
                                                     r"--collection hinted --model"):
        index_with_vectors = rag.Index.build([docs], path=where, model=str(tiny_model), show_progress=False,
                                             config=rag.Config(collection="hinted"))
        rag.Index.load(where, model="none-such-model", config=rag.Config(collection="hinted"))
    assert index_with_vectors.manifest.model is not None
    default = rag.Index.build([docs], path=where, config=rag.Config(model=None), show_progress=False)
    assert "--collection" not in default.update_command()


def test_the_chat_cannot_add_documents_to_a_milvus_index_and_says_how(tmp_path):
    from pathlib import Path

    from rag.uploads import add_files

    docs = write(tmp_path / "docs", FACTS)
    where = f"milvus:{tmp_path / 'up.db'}"
    index = rag.Index.build([docs], path=where, config=rag.Config(collection="uploads", model=None),
                            show_progress=False)
    (tmp_path / "owls.txt").write_text(OWLS, "utf-8")
    with pytest.raises(rag.InputError, match=r"cannot be added from the chat to an index in Milvus; add them with "
                                             r"`rag index DOCS --index milvus:\S+ --collection uploads`"):
        add_files(index, [(tmp_path / "owls.txt", "owls.txt")])
    assert not Path(str(index.path), "documents").exists()  # no stray folder named after the URI
