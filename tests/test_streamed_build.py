"""Building in bounded memory changes nothing a user sees: BM25 built in batches is bit-identical to bm25s's own
`index()`, IVF lists reserved up front give the index FAISS's `add` gives, a build or sync in tiny batches
retrieves exactly what one in large batches does, and pages released from a memory map keep their data.
No timing or memory assertions here: those are benchmarks/scale.py's."""

from __future__ import annotations

import numpy as np

from rag import dense
from rag.residency import release_array


def test_reserved_ivf_lists_build_the_index_faiss_add_builds(tmp_path, monkeypatch):
    import faiss

    vectors = np.random.default_rng(0).standard_normal((3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(tmp_path / "v.npy", vectors)
    monkeypatch.setattr(dense, "ADD_BATCH", 700)
    ours = dense.build_index(np.load(tmp_path / "v.npy", mmap_mode="r"), approximate_above=500)
    cells = dense.cells_for(len(vectors))
    theirs = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, cells, faiss.METRIC_INNER_PRODUCT)
    sample = np.sort(np.random.default_rng(dense.SEED).choice(
        len(vectors), min(len(vectors), cells * dense.TRAIN_PER_CELL), replace=False))
    theirs.train(vectors[sample])
    theirs.nprobe = dense.probes_for(cells)
    for start in range(0, len(vectors), 700):
        theirs.add(vectors[start : start + 700])
    theirs.make_direct_map()
    assert bytes(faiss.serialize_index(ours)) == bytes(faiss.serialize_index(theirs))


def test_released_pages_keep_their_data(tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "a.npy", mode="w+", dtype=np.float32, shape=(50_000, 8))
    values = np.arange(out.size, dtype=np.float32).reshape(out.shape)
    out[:] = values
    release_array(out)  # not flushed first: the pages are the file's, nothing is lost
    assert np.array_equal(out, values)
    del out
    assert np.array_equal(np.load(tmp_path / "a.npy"), values)
