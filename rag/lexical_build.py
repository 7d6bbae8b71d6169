"""BM25 built in batches of passages, in bm25s's own files and with bm25s's own scores.

`bm25s.BM25.index` needs the whole corpus's token lists at once: at a million passages its Python lists of token
ids, its score arrays and its COO-to-CSC sort take gigabytes. `LexicalBuilder.add` analyses one batch with the same
`bm25s.tokenize` call as `lexical.analyze` and keeps only compact arrays (each passage's distinct terms and their
counts, 8 bytes a term). `finish` then knows the document frequencies and the average length, and fills the CSC
score matrix batch by batch with a counting sort by term (passages ascending within a term, the order bm25s's own
sort gives), into memory-mapped files when given a folder, so the matrix is never held twice.

Scores follow bm25s's defaults (Lucene idf and term frequency, its k1 and b, read from `bm25s.BM25()`) with its
dtypes, operation for operation, so they are bit-identical to `bm25s.BM25().index(...)` (a test checks it). Term
ids are given in order of first appearance, where bm25s numbers a set's iteration order (random per process):
the files' format is bm25s's, `lexical.LexicalIndex.load` reads them unchanged. This module does not search.
"""

from __future__ import annotations

import json
import math
from itertools import chain
from pathlib import Path

import numpy as np

from .lexical import BM25_DIR, DF_FILE, LexicalIndex, _stemmer, stopwords
from .residency import release

# Passages analysed per batch. Results do not depend on it; it bounds what one batch holds (bm25s's Python lists of
# token ids, about 2 KB a passage: some 30 MB) while keeping the per-batch costs (one tokenize call, stemming the
# batch's own vocabulary) small: at 16,384, a million passages take 62 batches.
BATCH = 16_384


def build_in_memory(texts: list[str], show_progress: bool = False) -> LexicalIndex:
    """BM25 of `texts`, kept in memory (benchmarks and tests; an index build streams into files)."""
    return build_lexical(lambda start, end: texts[start:end], len(texts), show_progress=show_progress)


def build_lexical(texts_of, count: int, folder: Path | None = None, show_progress: bool = False) -> LexicalIndex:
    """BM25 of `count` passages, `texts_of(start, end)` giving the texts of passages start..end-1, analysed in
    batches of `BATCH`; written into `folder` (see `LexicalBuilder.finish`) or, without one, kept in memory."""
    builder = LexicalBuilder()
    starts = range(0, count, BATCH)
    if show_progress and count > BATCH:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="Analysing for BM25", unit="batch")
    for start in starts:
        builder.add(texts_of(start, min(count, start + BATCH)))
    return builder.finish(folder)


class LexicalBuilder:
    def __init__(self):
        self._vocab: dict[str, int] = {}
        self._terms: list[np.ndarray] = []  # per batch: each passage's distinct term ids, ascending (int32)
        self._counts: list[np.ndarray] = []  # per batch: how often each of those terms occurs (int32)
        self._distinct: list[np.ndarray] = []  # per batch: distinct terms per passage
        self._lengths: list[np.ndarray] = []  # per batch: terms per passage, repeats counted (bm25s's doc length)

    def add(self, texts: list[str]) -> None:
        """Analyse the next passages (in passage order)."""
        import bm25s

        if not texts:
            return
        ids, local_vocab = bm25s.tokenize(list(texts), stopwords=stopwords(), stemmer=_stemmer(), show_progress=False)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        del ids
        words = [""] * len(local_vocab)
        for word, i in local_vocab.items():
            words[i] = word
        _, first = np.unique(flat, return_index=True)
        to_global = np.zeros(len(words), dtype=np.int64)
        for local in flat[np.sort(first)].tolist():  # new terms numbered in order of first appearance
            to_global[local] = self._vocab.setdefault(words[local], len(self._vocab))
        passage = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        pairs, counts = np.unique((passage << 32) | to_global[flat], return_counts=True)
        self._terms.append((pairs & 0xFFFFFFFF).astype(np.int32))
        self._counts.append(counts.astype(np.int32))
        self._distinct.append(np.bincount(pairs >> 32, minlength=len(lengths)))
        self._lengths.append(lengths)

    def finish(self, folder: Path | None = None) -> LexicalIndex:
        """The index: written as `folder`/bm25/ and `folder`/document_frequency.npy and memory-mapped back, or,
        without a folder, held in memory."""
        import bm25s

        params = bm25s.BM25()  # the defaults the in-memory build (bm25s.index) always used
        if params.method != "lucene" or params.idf_method != "lucene":
            raise RuntimeError(f"bm25s's default scoring is now {params.method!r}; LexicalBuilder computes Lucene's")
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        n, terms = len(lengths), len(self._vocab)
        df = np.zeros(terms, dtype=np.int64)
        for batch in self._terms:
            df += np.bincount(batch, minlength=terms)
        # As bm25s: idf in Python floats stored as float32, the mean length over an int64 array.
        idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()], dtype=np.float32)
        average = lengths.mean() if n else np.float64(1.0)
        indptr = np.zeros(terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        files = folder / BM25_DIR if folder is not None else None
        if files is not None:
            files.mkdir(parents=True, exist_ok=True)
        data = _array(files, "data.csc.index.npy", np.float32, int(indptr[-1]))
        indices = _array(files, "indices.csc.index.npy", np.int32, int(indptr[-1]))
        cursor = indptr[:-1].copy()
        first = 0
        for batch_terms, counts, distinct, batch_lengths in zip(self._terms, self._counts, self._distinct, self._lengths):
            passages = np.repeat(np.arange(first, first + len(batch_lengths), dtype=np.int32), distinct)
            first += len(batch_lengths)
            if not len(batch_terms):  # passages with no searchable words (only stop words or punctuation)
                continue
            doc_length = np.repeat(batch_lengths, distinct)
            tf = counts.astype(np.float32).astype(np.float64)
            # bm25s's _score_tfc_lucene, evaluated left to right as there, then idf * tfc in float64, stored float32.
            tfc = tf / (params.k1 * ((1 - params.b) + params.b * doc_length / average) + tf)
            scores = (idf[batch_terms].astype(np.float64) * tfc).astype(np.float32)
            order = np.argsort(batch_terms, kind="stable")  # stable: passages stay ascending within a term
            sorted_terms = batch_terms[order]
            starts = np.flatnonzero(np.r_[True, sorted_terms[1:] != sorted_terms[:-1]])
            runs = np.diff(np.r_[starts, len(sorted_terms)])
            positions = cursor[sorted_terms] + (np.arange(len(sorted_terms)) - np.repeat(starts, runs))
            data[positions] = scores[order]
            indices[positions] = passages[order]
            cursor[sorted_terms[starts]] += runs
        vocab = dict(self._vocab)
        if "" not in vocab:  # bm25s's create_empty_token: one id past the matrix's columns
            vocab[""] = terms
        frequencies = np.zeros(max(vocab.values()) + 1, dtype=np.int64)
        frequencies[:terms] = df
        if files is None:
            retriever = bm25s.BM25()
            retriever.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n}
            retriever.vocab_dict = vocab
            retriever.unique_token_ids_set = set(vocab.values())
            retriever.nonoccurrence_array = None
            return LexicalIndex(retriever, frequencies)
        for name, array in (("data.csc.index.npy", data), ("indices.csc.index.npy", indices)):
            if isinstance(array, np.memmap):
                array.flush()
                release(array.filename)
            else:  # empty: nothing to map
                np.save(files / name, array, allow_pickle=False)
        del data, indices
        np.save(files / "indptr.csc.index.npy", indptr, allow_pickle=False)
        _write_params(files, params, n, vocab)
        np.save(folder / DF_FILE, frequencies, allow_pickle=False)
        return LexicalIndex.load(folder)


def _array(folder: Path | None, name: str, dtype, size: int) -> np.ndarray:
    if folder is None or not size:
        return np.empty(size, dtype=dtype)
    return np.lib.format.open_memmap(folder / name, mode="w+", dtype=dtype, shape=(size,))


def _write_params(folder: Path, params, n: int, vocab: dict[str, int]) -> None:
    """vocab.index.json and params.index.json exactly as `bm25s.BM25.save` writes them."""
    import bm25s
    from bm25s.utils import json_functions

    (folder / "vocab.index.json").write_text(json_functions.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    record = dict(k1=params.k1, b=params.b, delta=params.delta, method=params.method, idf_method=params.idf_method,
                  dtype=params.dtype, int_dtype=params.int_dtype, num_docs=n, version=bm25s.__version__,
                  backend=params.backend)
    with open(folder / "params.index.json", "w") as handle:
        json.dump(record, handle, indent=4)
