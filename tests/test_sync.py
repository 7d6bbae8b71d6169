"""Incremental sync: files added, changed, deleted and renamed are reflected in what retrieval and answers see,
unchanged files are neither read again nor embedded, and a sync killed midway leaves the previous index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

import rag
from kill_scripts import SYNC_SCRIPT
from rag.cli import main

FACTS = {
    "otters.txt": "River otters in the Kessel valley build their dens under willow roots. They hunt crayfish at dusk.",
    "bells.txt": "The bronze bells of Aldmoor chapel were cast in 1642 by a travelling founder named Oswin Hale.",
    "salt.md": "# Salt works\n\nThe Brinemoor salt pans are flooded each spring and raked by hand in August.\n",
}


def write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def sources(index) -> set[str]:
    return {Path(d.source).name for d in index.documents}


def test_sync_adds_changes_removes_and_renames_without_re_embedding_unchanged_files(tmp_path, tiny_model,
                                                                                   counting_encoder):
    docs = write(tmp_path / "docs", FACTS)
    index = rag.Index.build([docs], path=tmp_path / "idx", model=str(tiny_model), show_progress=False)
    built = dict(counting_encoder)
    assert built["passages"] == 3

    report = index.sync([docs])  # nothing changed: nothing read, nothing embedded
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert counting_encoder == built

    (docs / "owls.txt").write_text("Barn owls nest in the old granary at Pellham farm every winter.", "utf-8")
    (docs / "bells.txt").write_text("The bronze bells of Aldmoor chapel were recast in 1901 after a fire.", "utf-8")
    (docs / "otters.txt").unlink()
    os.rename(docs / "salt.md", docs / "salt-works.md")
    report = index.sync([docs])
    assert report.summary() == "added 2, updated 1, removed 2, unchanged 0"  # the rename: one added, one removed
    # Only owls.txt and the new bells.txt were embedded: one passage each; the renamed file kept its vectors.
    assert counting_encoder["passages"] - built["passages"] == 2 == report.embedded
    assert sources(index) == {"owls.txt", "bells.txt", "salt-works.md"}
    assert index.answer("Where do barn owls nest?", mode="lexical").citations[0].source.endswith("owls.txt")
    bells = index.answer("When were the Aldmoor bells recast?", mode="lexical")
    assert "1901" in bells.text and bells.citations[0].quote in index.document_text(bells.citations[0].doc_id)
    assert not index.retrieve("river otters crayfish dens willow", mode="lexical") or all(
        not h.source.endswith("otters.txt") for h in index.retrieve("river otters crayfish", mode="lexical"))
    salt = index.answer("When are the Brinemoor salt pans raked?", mode="lexical")
    assert salt.citations[0].source.endswith("salt-works.md") and salt.citations[0].section == "Salt works"
    # Dense search and stored sentence vectors stay aligned with the passages.
    loaded = rag.Index.load(tmp_path / "idx")
    assert loaded.store._dense.ntotal == len(loaded) and loaded.store._sentence_vectors.shape[0] == \
        len(loaded.store._sentences)
    for hit in loaded.retrieve("bronze bells recast", mode="dense", k=3):
        assert hit.text == loaded.document_text(hit.doc_id)[hit.start:hit.end]


def test_kept_vectors_equal_those_a_full_build_makes(tmp_path, tiny_model):
    docs = write(tmp_path / "docs", FACTS)
    index = rag.Index.build([docs], path=tmp_path / "idx", model=str(tiny_model), show_progress=False)
    (docs / "owls.txt").write_text("Barn owls nest in the old granary at Pellham farm every winter.", "utf-8")
    index.sync([docs])
    full = rag.Index.build([docs], path=tmp_path / "full", model=str(tiny_model), show_progress=False)
    by_source = lambda i: {Path(d.source).name: n for n, d in enumerate(i.documents)}  # noqa: E731
    a, b = by_source(index), by_source(full)
    for name in FACTS:
        va = index.store._dense.reconstruct(int(np.flatnonzero(index.store._passages[:, 0] == a[name])[0]))
        vb = full.store._dense.reconstruct(int(np.flatnonzero(full.store._passages[:, 0] == b[name])[0]))
        np.testing.assert_allclose(va, vb, atol=1e-5)


def test_touching_a_file_is_not_a_change_and_unchanged_files_are_not_read(tmp_path, monkeypatch):
    import rag.sync

    docs = write(tmp_path / "docs", FACTS)
    index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    read = []
    real = rag.sync.read_document
    monkeypatch.setattr(rag.sync, "read_document", lambda path: read.append(Path(path).name) or real(path))
    os.utime(docs / "bells.txt", ns=(1, 1))
    assert index.sync([docs]).summary() == "added 0, updated 0, removed 0, unchanged 3"
    assert read == ["bells.txt"]  # only the file whose stat changed was read (and hashed)
    assert index.sync([docs]).summary() == "added 0, updated 0, removed 0, unchanged 3"
    assert read == ["bells.txt"]  # its new stat was recorded: not read again
    assert index.manifest.documents[index.manifest.documents.position(index.documents[0].doc_id)].mtime_ns


def test_rag_index_syncs_an_existing_index_and_rebuild_forces_a_build(tmp_path, capsys):
    docs = write(tmp_path / "docs", FACTS)
    target = str(tmp_path / "idx")
    assert main(["index", str(docs), "--index", target, "--model", "none", "--no-progress"]) == 0
    assert "Indexed 3 documents" in capsys.readouterr().out
    (docs / "owls.txt").write_text("Barn owls nest in the old granary at Pellham farm every winter.", "utf-8")
    assert main(["index", str(docs), "--index", target, "--no-progress"]) == 0
    assert "added 1, updated 0, removed 0, unchanged 3" in capsys.readouterr().out
    assert main(["index", str(docs), "--index", target, "--no-progress", "--rebuild", "--model", "none"]) == 0
    assert "Indexed 4 documents" in capsys.readouterr().out
    for name in FACTS:
        (docs / name).unlink()
    (docs / "owls.txt").unlink()
    assert main(["index", str(docs), "--index", target, "--no-progress"]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert len(rag.Index.load(target).documents) == 4


def test_formats_sync_keeps_pages(tmp_path):
    from doc_fixtures import make_fixture_folder, make_pdf

    docs = make_fixture_folder(tmp_path / "docs")
    index = rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    make_pdf(docs / "lighthouse.pdf", [["Cover page."], ["Nothing here."], ["Staffing.",
             "The Hollowmere lighthouse was automated in 1991 after its last keeper retired."]])
    assert index.sync([docs]).summary() == "added 0, updated 1, removed 0, unchanged 3"
    answer = index.answer("When was the Hollowmere lighthouse automated?")
    assert "1991" in answer.text and answer.citations[0].page == 3
    kiln = index.answer("What cone are Celadon glazes fired to at the Marrow Lane studio?")
    assert kiln.citations[0].section == "Glaze Firing"




def test_a_sync_killed_midway_leaves_the_previous_index_loadable(tmp_path):
    docs = write(tmp_path / "docs", FACTS)
    rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)
    (docs / "owls.txt").write_text("Barn owls nest in the old granary at Pellham farm every winter.", "utf-8")
    process = subprocess.Popen([sys.executable, "-c", SYNC_SCRIPT, str(tmp_path / "idx"), str(docs)],
                               stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
    assert process.stdout.readline().strip() == "built"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    index = rag.Index.load(tmp_path / "idx")
    assert sources(index) == set(FACTS)
    assert index.sync([docs]).summary() == "added 1, updated 0, removed 0, unchanged 3"  # the next sync finishes
