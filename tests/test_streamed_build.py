"""Building in bounded memory changes nothing a user sees: BM25 built in batches is bit-identical to bm25s's own
`index()`, IVF lists reserved up front give the index FAISS's `add` gives, a build or sync in tiny batches
retrieves exactly what one in large batches does, and pages released from a memory map keep their data.
No timing or memory assertions here: those are benchmarks/scale.py's."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

import rag
from rag import dense, lexical_build, streaming
from rag.lexical import LexicalIndex, _stemmer, analyze, stopwords, top_k
from rag.residency import release_array

EDGE_CASES = ["", "the which and of", "Élan naïve café, CAFÉ café; it's 1999", "run running runs ran " * 30]
QUESTIONS = ["Who was the Taliban governor of Balkh province?", "Nangarhar province", "irrigation project explosion", "élan café"]


def passages(seed_text: str) -> list[str]:
    lines = [line for line in seed_text.splitlines() if line.strip()]
    return lines[:40] + EDGE_CASES + lines[40:]


def reference(texts: list[str]) -> bm25s.BM25:
    """What LexicalIndex.build did before: bm25s over the whole corpus at once."""
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords=stopwords(), stemmer=_stemmer(), show_progress=False),
                    show_progress=False)
    return retriever


def column(retriever, term: str) -> tuple[np.ndarray, np.ndarray]:
    i = retriever.vocab_dict[term]
    start, end = retriever.scores["indptr"][i], retriever.scores["indptr"][i + 1]
    return np.asarray(retriever.scores["data"][start:end]), np.asarray(retriever.scores["indices"][start:end])


@pytest.mark.parametrize("batch", [3, 1000])
@pytest.mark.parametrize("into_files", [False, True])
def test_batched_bm25_is_bit_identical_to_bm25s_index(tmp_path, monkeypatch, seed_text, batch, into_files):
    texts = passages(seed_text)
    monkeypatch.setattr(lexical_build, "BATCH", batch)
    built = lexical_build.build_lexical(lambda s, e: texts[s:e], len(texts), tmp_path if into_files else None)
    ours, theirs = built._retriever, reference(texts)
    assert set(ours.vocab_dict) == set(theirs.vocab_dict) and ours.scores["num_docs"] == len(texts)
    for term in theirs.vocab_dict:
        if term:
            for a, b in zip(column(ours, term), column(theirs, term)):
                assert a.dtype == b.dtype and np.array_equal(a, b), term
            assert built._df[ours.vocab_dict[term]] == len(column(theirs, term)[0])
    assert len(built._df) == max(ours.vocab_dict.values()) + 1 and ours.vocab_dict[""] == len(ours.vocab_dict) - 1
    for question in QUESTIONS:
        terms = [t for t in analyze([question])[0] if t in theirs.vocab_dict]
        assert terms, question
        assert np.array_equal(built.scores(terms), np.asarray(theirs.get_scores(terms), dtype=np.float32))
    if into_files:  # bm25s's own files, as bm25s writes them
        theirs.save(str(tmp_path / "theirs"), show_progress=False)
        for name in ("params.index.json", "vocab.index.json"):
            assert json.loads((tmp_path / "bm25" / name).read_text()).keys() == \
                json.loads((tmp_path / "theirs" / name).read_text()).keys()
        assert json.loads((tmp_path / "bm25" / "params.index.json").read_text()) == \
            json.loads((tmp_path / "theirs" / "params.index.json").read_text())
        for name in ("data", "indices", "indptr"):
            a = np.load(tmp_path / "bm25" / f"{name}.csc.index.npy")
            b = np.load(tmp_path / "theirs" / f"{name}.csc.index.npy")
            assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(LexicalIndex.load(tmp_path).scores(["governor"]), built.scores(["governor"]))


def test_bm25_files_do_not_depend_on_the_batch_size(tmp_path, monkeypatch, seed_text):
    texts = passages(seed_text)
    for batch in (5, 100_000):
        monkeypatch.setattr(lexical_build, "BATCH", batch)
        lexical_build.build_lexical(lambda s, e: texts[s:e], len(texts), tmp_path / str(batch))
    for file in sorted((tmp_path / "5").rglob("*.*")):
        assert file.read_bytes() == (tmp_path / "100000" / file.relative_to(tmp_path / "5")).read_bytes(), file.name


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


def small_batches(monkeypatch) -> None:
    monkeypatch.setattr(lexical_build, "BATCH", 4)
    monkeypatch.setattr(streaming, "EMBED_BATCH", 3)
    monkeypatch.setattr(streaming, "COPY_BATCH", 2)


def lexical_results(index) -> list:
    return [[(h.passage_id, h.text, h.score) for h in index.retrieve(q, k=10, mode="lexical")] for q in QUESTIONS]


def test_a_build_in_tiny_batches_retrieves_what_bm25s_over_all_passages_retrieves(tmp_path, monkeypatch,
                                                                                     seed_docs):
    small_batches(monkeypatch)
    index = rag.Index.build([seed_docs], path=tmp_path / "idx", model="none", show_progress=False)
    texts = [index.store.text(d)[s:e] for d, s, e in np.asarray(index.store._passages)[:, :3].tolist()]
    theirs = reference(texts)
    for question, hits in zip(QUESTIONS, lexical_results(index)):
        terms = [t for t in analyze([question])[0] if t in theirs.vocab_dict]
        scores = np.asarray(theirs.get_scores(terms) if terms else np.zeros(len(texts)), dtype=np.float32)
        ids = top_k(scores, 10)
        assert [(h[0], h[2]) for h in hits] == [(int(i), float(scores[i])) for i in ids]
    assert not list(tmp_path.glob(".idx.tmp-*"))  # the scratch folder is gone


def test_a_sync_in_tiny_batches_equals_a_fresh_build(tmp_path, monkeypatch, seed_text, tiny_model):
    lines = [line for line in seed_text.splitlines() if len(line) > 200]
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, line in enumerate(lines[:6]):
        (docs / f"{i}.txt").write_text(line + "\n", encoding="utf-8")
    index = rag.Index.build([docs], path=tmp_path / "idx", model=str(tiny_model), show_progress=False)
    small_batches(monkeypatch)
    (docs / "2.txt").write_text(lines[7] + "\n", encoding="utf-8")
    (docs / "4.txt").unlink()
    (docs / "9.txt").write_text(lines[8] + "\n", encoding="utf-8")
    index.sync([docs])
    synced = rag.Index.load(tmp_path / "idx")
    full = rag.Index.build([docs], path=tmp_path / "full", model=str(tiny_model), show_progress=False)

    def by_passage(i) -> dict:
        rows = np.asarray(i.store._passages)
        return {(Path(i.documents[d].source).name, s, e): n for n, (d, s, e) in enumerate(rows[:, :3].tolist())}

    a, b = by_passage(synced), by_passage(full)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(synced.store._dense.reconstruct(a[key]), full.store._dense.reconstruct(b[key]),
                                   atol=1e-5)
    for question in QUESTIONS:
        ours = [(h.text, h.score) for h in synced.retrieve(question, k=10, mode="lexical")]
        theirs = [(h.text, h.score) for h in full.retrieve(question, k=10, mode="lexical")]
        assert ours == theirs
    assert synced.store._sentence_vectors.shape == full.store._sentence_vectors.shape
    texts = lambda i: {Path(d.source).name: i.store.text(n) for n, d in enumerate(i.documents)}  # noqa: E731
    assert texts(synced) == texts(full)


def test_released_pages_keep_their_data(tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "a.npy", mode="w+", dtype=np.float32, shape=(50_000, 8))
    values = np.arange(out.size, dtype=np.float32).reshape(out.shape)
    out[:] = values
    release_array(out)  # not flushed first: the pages are the file's, nothing is lost
    assert np.array_equal(out, values)
    del out
    assert np.array_equal(np.load(tmp_path / "a.npy"), values)


def test_merge_parts_joins_runs_that_continue_each_other():
    parts = [(0, 3, 10), (3, 2, 13), (5, 4, None), (9, 1, None), (10, 2, 20), (12, 0, 99), (12, 1, 30)]
    assert streaming.merge_parts(parts) == [(0, 5, 10), (5, 5, None), (10, 2, 20), (12, 1, 30)]
