"""The parts of an index made from its passage and sentence tables a batch at a time: the passage texts BM25
analyses, embeddings written into arrays, vectors copied from an open store.

A million passages' texts, vectors and token lists do not fit the 3.5 GB budget together (BENCHMARKS.md, section
3). Made this way, a build holds one batch of texts and vectors at a time: arrays are memory-mapped files in the
build's scratch folder (`index_folder.scratch_folder`) when it has one, in memory otherwise, and the pages of
mapped arrays are released after each batch (`residency`). No result depends on the batch sizes. This module
does not chunk (`chunking.py`), analyse (`lexical_build.py`) nor index vectors (`dense.py`).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from .residency import release, release_array

# Texts embedded per encoder call: bounds what one batch holds (2,048 texts and their vectors, 3 MB at 384
# float32), and is the progress bar's step (about half a minute of embedding on 2 CPU cores). A model's passage vectors are thus computed in blocks, as `Encoder` already does while it shows
# progress; each block is sorted by length inside, so vectors may differ from one all-at-once call in the last
# bits of a float (padding), never in meaning. Precomputed vectors and BM25 do not depend on it at all.
EMBED_BATCH = 2_048
COPY_BATCH = 65_536  # stored vectors copied per call: one slice of a mapped file resident at a time (as dense.ADD_BATCH)


def row_texts(texts, rows: np.ndarray) -> list[str]:
    """The texts of table rows (document, start, end, ...); `texts[d]` is document d's text."""
    return [texts[d][s:e] for d, s, e in rows[:, :3].tolist()]


def texts_of(texts, rows: np.ndarray):
    """`(start, end) -> texts of rows start..end-1`, what `lexical_build.build_lexical` reads passages through."""
    return lambda start, end: row_texts(texts, rows[start:end])


def new_array(scratch: Path | None, name: str, dtype, shape: tuple) -> np.ndarray:
    """An array to fill: `scratch`/`name` (an .npy file, memory-mapped) or, without a scratch folder, memory."""
    if scratch is None or not shape[0]:
        return np.zeros(shape, dtype=dtype)
    return np.lib.format.open_memmap(scratch / name, mode="w+", dtype=dtype, shape=shape)


def settle(array: np.ndarray) -> None:
    """Write a mapped array's filled pages to its file and drop them from the resident set."""
    if isinstance(array, np.memmap):
        array.flush()
        release_array(array)


def progress(total: int, show: bool, desc: str):
    if not show or total <= 0:
        return nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text")


def embed(encode, texts, rows: np.ndarray, scratch: Path | None, name: str, dtype, show_progress: bool = False,
          desc: str = "Embedding") -> np.ndarray:
    """`encode` (texts -> unit vectors) of the texts of `rows`, in batches, into a new array of `dtype`."""
    # The first batch goes before the bar: it loads the model, which may fail with a one-line error.
    first = encode(row_texts(texts, rows[:EMBED_BATCH]))
    out = new_array(scratch, name, dtype, (len(rows), first.shape[1]))
    out[: len(first)] = first
    settle(out)
    with progress(len(rows), show_progress, desc) as bar:
        if bar is not None:
            bar.update(len(first))
        embed_into(out, len(first), encode, texts, rows[len(first):], bar)
    return out


def embed_into(out: np.ndarray, at: int, encode, texts, rows: np.ndarray, bar=None) -> None:
    """`encode` the texts of `rows` in batches into out[at : at + len(rows)]."""
    for first in range(0, len(rows), EMBED_BATCH):
        part = rows[first : first + EMBED_BATCH]
        out[at + first : at + first + len(part)] = encode(row_texts(texts, part))
        settle(out)
        if bar is not None:
            bar.update(len(part))


def stored_vectors(dense, ids: np.ndarray) -> np.ndarray:
    """The stored passage vectors of `ids` (a flat index is read in place; an IVF index through its direct map)."""
    if not len(ids):
        return np.zeros((0, dense.d), dtype=np.float32)
    if not hasattr(dense, "nlist") and int(ids[-1]) - int(ids[0]) + 1 == len(ids):
        return dense.reconstruct_n(int(ids[0]), len(ids))
    if len(ids) <= COPY_BATCH:  # the usual call (copy_stored's slices): no second copy through vstack
        return dense.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))
    return np.vstack([dense.reconstruct_batch(np.ascontiguousarray(ids[i : i + COPY_BATCH], dtype=np.int64))
                      for i in range(0, len(ids), COPY_BATCH)])


def copy_stored(out: np.ndarray, at: int, dense, start: int, count: int, mapped: Path | None = None) -> None:
    """Stored vectors start..start+count-1 of a FAISS index into out[at:]; `mapped`: the index's file, whose
    pages are released after each slice when the index is memory-mapped."""
    for first in range(0, count, COPY_BATCH):
        n = min(COPY_BATCH, count - first)
        out[at + first : at + first + n] = stored_vectors(dense, np.arange(start + first, start + first + n))
        settle(out)
        release(mapped)


def copy_rows(out: np.ndarray, at: int, source: np.ndarray, start: int, count: int) -> None:
    """Rows start..start+count-1 of `source` (a mapped table, say) into out[at:], a slice at a time."""
    for first in range(0, count, COPY_BATCH):
        n = min(COPY_BATCH, count - first)
        out[at + first : at + first + n] = source[start + first : start + first + n]
        settle(out)
        release_array(source)


def merge_parts(parts: list[tuple]) -> list[tuple]:
    """Runs of (new start, count, old start or None) merged where both sides continue each other, so that a
    document at a time becomes one copy (or one embedding) per run."""
    merged: list[list] = []
    for at, count, old in parts:
        if not count:
            continue
        if merged:
            last = merged[-1]
            follows_old = old is not None and last[2] is not None and last[2] + last[1] == old
            if last[0] + last[1] == at and (follows_old or (old is None and last[2] is None)):
                last[1] += count
                continue
        merged.append([at, count, old])
    return [tuple(m) for m in merged]
