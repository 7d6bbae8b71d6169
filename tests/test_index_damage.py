"""A damaged index is refused at load with one line that names the file and how to rebuild; a killed build's
leftovers are cleaned by the next build; two builds into one folder do not run at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rag
from rag import index_folder
from rag.cli import main

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


@pytest.fixture
def small_index(tmp_path, seed_docs):
    return rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)


@pytest.fixture
def vector_index(tmp_path, seed_text):
    """An index with a FAISS file, from precomputed vectors (no model needed)."""
    from rag.config import Config

    doc = rag.Document(doc_id="seed", source="seed.txt", text=seed_text)
    config = Config(index_path=tmp_path / "vidx", model=None)
    n = len(rag.Index.from_documents([doc], config, show_progress=False))
    vectors = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return rag.Index.from_documents([doc], config, show_progress=False, vectors=vectors, model_name="made-up")


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


DAMAGE = {
    "texts.bin missing": ("texts.bin", lambda p: p.unlink()),
    "texts.bin empty": ("texts.bin", lambda p: p.write_bytes(b"")),
    "texts.bin truncated": ("texts.bin", truncate),
    "texts.bin edited, same size": ("texts.bin", lambda p: p.write_bytes(p.read_bytes()[::-1])),
    "text_offsets.npy missing": ("text_offsets.npy", lambda p: p.unlink()),
    "text_offsets.npy garbage": ("text_offsets.npy", lambda p: p.write_bytes(b"\x00garbage")),
    "passages.npy wrong shape": ("passages.npy", lambda p: np.save(p, np.zeros((3, 4), np.int64))),
    "passages.npy missing": ("passages.npy", lambda p: p.unlink()),
    "sentences.npy truncated": ("sentences.npy", truncate),
    "document_frequency.npy missing": ("document_frequency.npy", lambda p: p.unlink()),
    "bm25 params missing": ("bm25/params.index.json", lambda p: p.unlink()),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_each_damaged_file_is_named_at_load(small_index, case, capsys):
    name, damage = DAMAGE[case]
    damage(small_index.path / name)
    with pytest.raises(rag.IndexCorruptError) as caught:
        rag.Index.load(small_index.path)
    message = str(caught.value)
    assert message.startswith(f"index at {small_index.path} is damaged (")
    assert name.split("/")[0] in message
    assert "rebuild it with `rag index" in message and "--index" in message
    # The CLI: one line, exit 2, no traceback.
    assert main(["ask", QUESTION, "--index", str(small_index.path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: index at") and "\n" not in err


def test_checks_hold_for_an_index_without_recorded_files(small_index):
    """Indexes written before sizes were recorded still get the shape checks."""
    manifest_path = small_index.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]
    manifest_path.write_text(json.dumps(manifest))
    assert rag.Index.load(small_index.path).answer(QUESTION).text
    truncate(small_index.path / "texts.bin")
    with pytest.raises(rag.IndexCorruptError, match=r"texts\.bin: \d+ bytes, the offsets need"):
        rag.Index.load(small_index.path)
    (small_index.path / "texts.bin").write_bytes(b"")
    with pytest.raises(rag.IndexCorruptError, match=r"texts\.bin: 0 bytes"):
        rag.Index.load(small_index.path)
    np.save(small_index.path / "passages.npy", np.zeros((3, 4), np.int64))
    (small_index.path / "texts.bin").unlink()
    with pytest.raises(rag.IndexCorruptError, match="texts.bin: missing"):
        rag.Index.load(small_index.path)


@pytest.mark.parametrize("damage", ["truncated", "missing", "other vectors"])
def test_damaged_faiss_file_is_named(vector_index, damage):
    path = vector_index.path / "dense.faiss"
    if damage == "truncated":
        truncate(path)
    elif damage == "missing":
        path.unlink()
    else:
        import faiss

        other = faiss.IndexFlatIP(8)
        other.add(np.eye(8, dtype=np.float32))
        faiss.write_index(other, str(path))
        manifest_path = vector_index.path / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        del manifest["files"]  # so the vector count check, not the size record, catches it
        manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(rag.IndexCorruptError, match=r"is damaged \(dense\.faiss: "):
        rag.Index.load(vector_index.path)


def test_manifest_without_documents_is_damaged(small_index):
    manifest_path = small_index.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["documents"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(rag.IndexCorruptError, match="documents.*rebuild"):
        rag.Index.load(small_index.path)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_build_removes_leftovers_of_killed_builds_only(tmp_path, seed_docs, small_index):
    parent = small_index.path.parent
    dead = parent / f".idx.tmp-{dead_pid()}-0123abcd"
    dead_retired = parent / f".idx.old-{dead_pid()}-4567abcd"
    live = parent / f".idx.tmp-{os.getppid()}-89abcdef"  # a running process: maybe still writing
    other = parent / f".notes.tmp-{dead_pid()}-0123abcd"  # another index's
    for folder in (dead, dead_retired, live, other):
        folder.mkdir()
        (folder / "texts.bin").write_bytes(b"x")
    rag.Index.build([seed_docs], path=small_index.path, model="none", show_progress=False)
    assert not dead.exists() and not dead_retired.exists()
    assert live.exists() and other.exists()
    assert not (parent / ".idx.lock").exists()


def test_second_build_into_the_same_folder_is_refused(small_index, seed_docs, capsys):
    before = (small_index.path / "manifest.json").read_bytes()
    with index_folder.build_lock(small_index.path):
        assert main(["index", str(seed_docs), "--index", str(small_index.path), "--model", "none"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: another build is running") and f"(pid {os.getpid()})" in err
    assert (small_index.path / "manifest.json").read_bytes() == before
    # Once the first build is done, the next one runs.
    assert main(["index", str(seed_docs), "--index", str(small_index.path), "--model", "none",
                 "--no-progress"]) == 0


def test_a_lock_left_by_a_killed_build_does_not_block(small_index, seed_docs):
    (small_index.path.parent / ".idx.lock").write_text(str(dead_pid()))
    rag.Index.build([seed_docs], path=small_index.path, model="none", show_progress=False)
