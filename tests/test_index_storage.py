"""The index folder: atomic saves, clear errors for missing, damaged or mismatched indexes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import rag
from rag.manifest import FORMAT_VERSION

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


@pytest.fixture
def small_index(tmp_path, seed_docs):
    return rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)


def test_manifest_records_what_loading_checks(small_index, seed_text):
    manifest = json.loads((small_index.path / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["package_version"] == rag.__version__
    assert manifest["model"] is None
    assert manifest["chunking"] == {"max_chars": 700, "overlap_sentences": 1}
    [doc] = manifest["documents"]
    import hashlib

    assert doc["sha256"] == hashlib.sha256(seed_text.encode()).hexdigest()


def test_no_pickle_in_the_index(small_index):
    for path in small_index.path.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks pickled"


def test_reload_gives_the_same_results(small_index):
    loaded = rag.Index.load(small_index.path)
    assert loaded.retrieve(QUESTION) == small_index.retrieve(QUESTION)


def test_killed_save_leaves_the_previous_index_loadable(tmp_path, seed_docs, small_index):
    """A save killed while it writes must not touch the index already there."""
    marker = tmp_path / "writing"
    other_docs = tmp_path / "other"
    other_docs.mkdir()
    (other_docs / "other.txt").write_text("Bananas are yellow. Apples are red or green.\n", encoding="utf-8")
    child = textwrap.dedent(f"""
        import pathlib, time, rag
        from rag import lexical
        original = lexical.LexicalIndex.save
        def slow_save(self, folder):
            original(self, folder)
            pathlib.Path({str(marker)!r}).write_text(str(folder))
            time.sleep(120)
        lexical.LexicalIndex.save = slow_save
        rag.Index.build([{str(other_docs)!r}], path={str(small_index.path)!r}, model="none", show_progress=False)
    """)
    process = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the saving process ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    reloaded = rag.Index.load(small_index.path)
    assert "Dolatabadi" in reloaded.answer(QUESTION).text
    assert reloaded.documents[0].source.endswith("000_a2e84cf20c291977.txt")
    # The next save cleans up and replaces the index as usual.
    rebuilt = rag.Index.build([other_docs], path=small_index.path, model="none", show_progress=False)
    assert rebuilt.retrieve("yellow bananas")[0].text.startswith("Bananas are yellow.")


def test_save_interrupted_between_renames_is_recovered(small_index):
    retired = small_index.path.parent / f".{small_index.path.name}.old-deadbeef"
    os.rename(small_index.path, retired)
    assert "Dolatabadi" in rag.Index.load(small_index.path).answer(QUESTION).text


def test_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(rag.IndexNotFoundError, match="rag index DOCS --index"):
        rag.Index.load(tmp_path / "nope")


def test_folder_without_manifest_is_not_an_index(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(rag.IndexCorruptError, match="rebuild"):
        rag.Index.load(tmp_path / "empty")


@pytest.mark.parametrize("damage", ["manifest", "passages", "bm25"])
def test_damaged_index_says_how_to_rebuild(small_index, damage):
    target = {"manifest": "manifest.json", "passages": "passages.npy", "bm25": "bm25/params.index.json"}[damage]
    (small_index.path / target).write_bytes(b"\x00garbage{")
    with pytest.raises(rag.IndexCorruptError, match="rebuild"):
        rag.Index.load(small_index.path)


def test_other_format_version_says_how_to_rebuild(small_index):
    manifest_path = small_index.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(rag.IndexMismatchError, match="rag index DOCS --index"):
        rag.Index.load(small_index.path)


def test_other_model_says_how_to_rebuild(dense_index):
    with pytest.raises(rag.IndexMismatchError, match="--model sentence-transformers/all-MiniLM-L6-v2"):
        rag.Index.load(dense_index.path, model="sentence-transformers/all-MiniLM-L6-v2")


def test_calibrated_threshold_is_stored(small_index):
    assert not small_index.answer(QUESTION).declined
    small_index.set_decline_threshold(1.0)  # a probability never reaches 1: everything is declined
    assert rag.Index.load(small_index.path).decline_threshold == 1.0
    assert rag.Index.load(small_index.path).answer(QUESTION).declined
