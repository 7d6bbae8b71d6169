"""FAISS inner-product search over unit vectors (so scores are cosine similarities).

Exact search (`IndexFlatIP`) up to `APPROXIMATE_ABOVE` vectors; above that an HNSW graph, which answers in
milliseconds at a million vectors where exact search takes tens. Indexes are written with FAISS's own format
and memory-mapped on load where FAISS allows it. This module does not embed text (see `encoding.py`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FAISS_FILE = "dense.faiss"
APPROXIMATE_ABOVE = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def build_index(vectors: np.ndarray, approximate_above: int = APPROXIMATE_ABOVE):
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    if len(vectors) > approximate_above:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    return index


def save_index(index, folder: Path) -> None:
    import faiss

    faiss.write_index(index, str(folder / FAISS_FILE))


def load_index(folder: Path, mmap: bool = True):
    import faiss

    path = str(folder / FAISS_FILE)
    if mmap:
        try:
            index = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # index types FAISS cannot map are read into memory
            index = faiss.read_index(path)
    else:
        index = faiss.read_index(path)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
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
    vectors = np.vstack([index.reconstruct(int(i)) for i in ids])
    return vectors @ query.reshape(-1).astype(np.float32)
