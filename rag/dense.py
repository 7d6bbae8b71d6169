"""FAISS inner-product search over unit vectors (so scores are cosine similarities).

The index type adapts to size. Up to `APPROXIMATE_ABOVE` vectors it is exact (`IndexFlatIP`): on a 2-core
machine one query scans 50,000 x 384 floats in about 10 ms. Above that it is an inverted-file index
(`IndexIVFFlat`, about sqrt(n) k-means cells, `nprobe` of them searched per query), which answers in a few
milliseconds at a million vectors with recall@10 near 0.99 on clustered (embedding-like) data; see
BENCHMARKS.md. IVF rather than HNSW because it builds in about a minute at a million vectors on 2 cores, where
HNSW takes tens of minutes, and because FAISS can memory-map its inverted lists. Indexes are written with FAISS's
own format and memory-mapped on load. This module does not embed text (see `encoding.py`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from .residency import release_array

logger = logging.getLogger(__name__)

FAISS_FILE = "dense.faiss"
APPROXIMATE_ABOVE = 50_000
# k-means sees this many training vectors per cell; FAISS warns below 39, and more only slows training.
TRAIN_PER_CELL = 64
ADD_BATCH = 65_536  # vectors added per FAISS call, so a memory-mapped input is paged in a slice at a time
SEED = 1234


def cells_for(n: int) -> int:
    """IVF cells for n vectors: about sqrt(n), a power of two (1,024 at a million)."""
    return max(16, 2 ** round(math.log2(math.sqrt(n))))


def probes_for(cells: int) -> int:
    """Cells searched per query: 1/16 of them (64 of 1,024); recall@10 against exact search is about 0.99 on
    clustered data at 100K (0.98 with 1/32, 0.996 with 1/8; benchmarks/scale.py)."""
    return max(16, cells // 16)


def build_index(vectors: np.ndarray, approximate_above: int = APPROXIMATE_ABOVE, show_progress: bool = False):
    """An exact index for up to `approximate_above` vectors, else an IVF index trained on a seeded sample."""
    import faiss

    n, dimension = vectors.shape
    if n <= approximate_above:
        index = faiss.IndexFlatIP(dimension)
    else:
        cells = cells_for(n)
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, cells, faiss.METRIC_INNER_PRODUCT)
        sample_size = min(n, cells * TRAIN_PER_CELL)
        sample = np.sort(np.random.default_rng(SEED).choice(n, sample_size, replace=False))
        index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        release_array(vectors)
        index.nprobe = probes_for(cells)
    batches = range(0, n, ADD_BATCH)
    if show_progress and n > ADD_BATCH:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="Adding vectors", unit="batch")
    if hasattr(index, "nlist"):
        _add_to_reserved_lists(index, vectors, batches)
        index.make_direct_map()  # see load_index
    else:
        for start in batches:
            index.add(_batch(vectors, start))
    return index


def _batch(vectors: np.ndarray, start: int) -> np.ndarray:
    """Rows start.. of a batch as float32, copied out of the input; a memory-mapped input's pages are released
    (`residency`), so streaming through a million mapped vectors keeps one batch of them resident, not all."""
    batch = np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32)
    release_array(vectors)
    return batch


def _add_to_reserved_lists(index, vectors: np.ndarray, batches) -> None:
    """`index.add` in batches, but with every inverted list allocated once at its final length.

    FAISS grows a list as a std::vector, doubling, which at a million vectors leaves about 40% of the lists'
    memory allocated and unused (and briefly holds a list twice while it moves). The cells are assigned first, as
    `add` assigns them (the same quantizer search over the same batches), then each list is reserved (resized up
    and back down: a std::vector keeps its capacity), then the vectors are added with those assignments. The index
    is the one `add` builds, byte for byte (a test checks it)."""
    import faiss

    n = len(vectors)
    cells = np.empty(n, dtype=np.int64)
    for start in range(0, n, ADD_BATCH):
        batch = _batch(vectors, start)
        cells[start : start + len(batch)] = index.quantizer.assign(batch, 1)[:, 0]
    lists = faiss.downcast_InvertedLists(index.invlists)
    for cell, size in enumerate(np.bincount(cells, minlength=index.nlist).tolist()):
        lists.resize(cell, size)
        lists.resize(cell, 0)
    for start in batches:
        batch = _batch(vectors, start)
        assigned = np.ascontiguousarray(cells[start : start + len(batch)])
        index.add_core(len(batch), faiss.swig_ptr(batch), None, faiss.swig_ptr(assigned))


def describe(index) -> str:
    """What the manifest records, e.g. "IndexFlatIP" or "IndexIVFFlat(nlist=1024,nprobe=32)"."""
    name = type(index).__name__
    if hasattr(index, "nlist"):
        return f"{name}(nlist={index.nlist},nprobe={index.nprobe})"
    return name


def save_index(index, folder: Path) -> None:
    import faiss

    faiss.write_index(index, str(folder / FAISS_FILE))


def load_index(folder: Path, mmap: bool = True):
    import faiss

    path = str(folder / FAISS_FILE)
    index = None
    if mmap:
        # IO_FLAG_MMAP_IFC maps flat vector storage and IO_FLAG_MMAP maps IVF inverted lists; either way the
        # vectors stay in the page cache instead of being copied, so loading takes milliseconds at any size.
        for flags in (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY):
            try:
                index = faiss.read_index(path, flags)
                break
            except RuntimeError:  # a type FAISS cannot map with these flags; try the next, then read it all
                continue
    if index is None:
        index = faiss.read_index(path)
    if hasattr(index, "nlist"):
        index.nprobe = probes_for(index.nlist)
        # Reconstructing vectors by id (`similarity`) needs the id -> cell map. Making it mutates the index, which
        # must not happen while other threads search it, so it is made here, once, before any query.
        index.make_direct_map()
    return index


def search(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and cosine scores of the k nearest passages, best first."""
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def similarity(index, query: np.ndarray, ids: list[int]) -> np.ndarray:
    """Cosine of the query with stored vectors, for passages another retriever found."""
    if not ids:
        return np.zeros(0, dtype=np.float32)
    if hasattr(index, "nlist") and index.direct_map.type == 0:
        raise RuntimeError("the IVF index has no direct map; open it with dense.load_index, which makes one")
    vectors = np.vstack([index.reconstruct(int(i)) for i in ids])
    return vectors @ query.reshape(-1).astype(np.float32)
