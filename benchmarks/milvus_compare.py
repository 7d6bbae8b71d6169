"""The local store against Milvus Lite, same model, same build: quality, latency and index time.

    .venv/bin/python benchmarks/milvus_compare.py [SQUAD_PATH] [--limit 1000] [--modes lexical,dense,hybrid]
        [--english-modes lexical] [--chunk-chars 5000] [--skip-seeds] [--json REPORT]

Two question sets: the seed set (seeds/ with seeds/questions.jsonl) and SQuAD v1.1 dev's held-out articles
(`rag.squad.load_squad(..., split="heldout")`, all 2,067 paragraphs indexed, `--limit` questions spread over the
split; the file is read in place). Each is built once (`builder.build_index`: chunking, BM25 terms, passage and
sentence vectors with the bundled all-MiniLM-L6-v2), then written to a local folder (`LocalStore.save`) and to
Milvus Lite collections (`MilvusStore.save`): "milvus" with our analyser's terms (the product default), and
"milvus-en" with Milvus's built-in English analyser over the raw passage text (`--english-modes`, lexical by
default). Both are then asked through the product's `rag.evaluate` (Index.answer): hit@1/3/5, MRR@10 and the
reader's containment; answer latency p50/p95 is timed apart (warm, each question asked of every store in turn).
Index time is the shared build (chunk, analyse, embed) plus each store's write.

Slow on a small machine: on 2 shared cores the SQuAD build (2,067 paragraphs, 10,434 sentences embedded) took
7 minutes and 1,000 questions in all modes and both stores more than 40; `--modes` and `--limit` cut it down.
Each quality row is printed as soon as it is measured, the latency rows at the end.

Needs pymilvus and milvus-lite (`pip install 'rag[milvus]'`); without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def build_once(documents, config):
    from rag.builder import build_index

    started = time.perf_counter()
    built = build_index(documents, config, show_progress=False)
    return built, time.perf_counter() - started


def write_stores(built, scratch: Path, name: str, config, english: bool):
    """The built index written locally and to Milvus Lite; each opened as an `Index`, with its write time."""
    from rag import Index
    from rag.local_store import LocalStore
    from rag.milvus_store import MilvusStore, MilvusTarget

    stores = {}
    started = time.perf_counter()
    LocalStore.save(scratch / f"{name}-local", built)
    written = time.perf_counter()
    stores["local"] = (Index.load(scratch / f"{name}-local", config=config), written - started,
                       time.perf_counter() - written)
    uri = f"milvus:{scratch / 'milvus.db'}"
    for label, analyser, collection in (("milvus", "rag", name), ("milvus-en", "english", f"{name}_en")):
        if label == "milvus-en" and not english:
            continue
        started = time.perf_counter()
        MilvusStore.save(MilvusTarget.parse(uri, collection), built, analyser=analyser)
        written = time.perf_counter()
        milvus_config = replace(config, collection=collection)
        stores[label] = (Index.load(uri, config=milvus_config), written - started, time.perf_counter() - written)
    return stores


def measure(name, questions, stores, modes, english_modes, build_seconds, k):
    """Quality through `rag.evaluate` per store and mode; latency timed apart, each question asked of every store
    in turn (so a busy moment of the shared machine falls on all of them alike)."""
    from rag.evaluation import evaluate

    rows = []
    for label, (index, write_seconds, open_seconds) in stores.items():
        wanted = english_modes if label == "milvus-en" else modes
        for mode in wanted:
            report = evaluate(questions, index, mode=mode, k=k).modes[mode]
            rows.append({"set": name, "store": label, "mode": mode, **report.retrieval,
                         "containment": report.answers.get("containment"),
                         "index_s": build_seconds + write_seconds, "write_s": write_seconds, "open_s": open_seconds,
                         "passages": len(index), "questions": len(questions), "p50_ms": float("nan"),
                         "p95_ms": float("nan")})
            print(_line(rows[-1]) + "   (quality; latency follows)", flush=True)
    for mode in dict.fromkeys(modes + english_modes):
        asked = [(row, stores[row["store"]][0]) for row in rows if row["mode"] == mode and row["set"] == name]
        times: dict[int, list[float]] = {id(row): [] for row, _ in asked}
        for _, index in asked:
            index.answer(questions[0].question, k=k, mode=mode)  # warm: model, caches, connections
        for question in questions:
            for row, index in asked:
                started = time.perf_counter()
                index.answer(question.question, k=k, mode=mode)
                times[id(row)].append((time.perf_counter() - started) * 1000)
        for row, _ in asked:
            row["p50_ms"], row["p95_ms"] = (float(x) for x in np.percentile(times[id(row)], [50, 95]))
            print(_line(row), flush=True)
    return rows


HEADER = (f"{'set':7}{'store':11}{'mode':8}{'hit@1':>7}{'hit@3':>7}{'hit@5':>7}{'mrr@10':>8}{'contain':>9}"
          f"{'p50 ms':>8}{'p95 ms':>8}{'index s':>9}{'write s':>9}{'open s':>8}")


def _line(row: dict) -> str:
    contain = f"{row['containment']:.3f}" if row.get("containment") is not None else "n/a"
    return (f"{row['set']:7}{row['store']:11}{row['mode']:8}{row['hit@1']:>7.3f}{row['hit@3']:>7.3f}"
            f"{row['hit@5']:>7.3f}{row['mrr@10']:>8.3f}{contain:>9}{row['p50_ms']:>8.1f}{row['p95_ms']:>8.1f}"
            f"{row['index_s']:>9.1f}{row['write_s']:>9.1f}{row['open_s']:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="SQuAD dev-v1.1.json")
    parser.add_argument("--limit", type=int, default=1000, help="held-out questions to ask (default 1000)")
    parser.add_argument("--modes", default="lexical,dense,hybrid")
    parser.add_argument("--english-modes", default="lexical",
                        help="modes to ask the collection built with Milvus's English analyser ('' for none)")
    parser.add_argument("--chunk-chars", type=int, default=5000, help="SQuAD passages (default: whole paragraphs)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--skip-seeds", action="store_true")
    parser.add_argument("--skip-squad", action="store_true")
    parser.add_argument("--json", metavar="REPORT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        print("pymilvus / milvus-lite are not installed (pip install 'rag[milvus]'); skipping")
        return 0

    from rag import Config
    from rag.api import default_sources
    from rag.documents import load_documents
    from rag.evaluation.questions import load_questions
    from rag.squad import load_squad
    from squad import sample

    modes = [m for m in args.modes.split(",") if m]
    english_modes = [m for m in args.english_modes.split(",") if m]
    rows = []
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="milvus-compare-") as scratch:
        scratch = Path(scratch)
        if not args.skip_seeds:
            seeds = default_sources()[0]
            documents = load_documents([seeds], show_progress=False)
            questions, _ = load_questions(seeds / "questions.jsonl")
            config = Config(index_path=scratch / "seeds")
            built, build_seconds = build_once(documents, config)
            stores = write_stores(built, scratch, "seeds", config, english=bool(english_modes))
            rows += measure("seeds", questions, stores, modes, english_modes, build_seconds, args.k)
        if not args.skip_squad:
            if not Path(args.path).is_file():
                print(f"SQuAD v1.1 dev not found at {args.path}; skipping it")
            else:
                documents, questions = load_squad(args.path, split="heldout")
                questions = sample(questions, args.limit)
                config = Config(index_path=scratch / "squad", chunk_chars=args.chunk_chars)
                built, build_seconds = build_once(documents, config)
                print(f"# SQuAD: {len(documents)} paragraphs, {built.manifest.passages} passages, "
                      f"{built.manifest.sentences} sentences built in {build_seconds:.1f}s; "
                      f"{len(questions)} held-out questions", flush=True)
                stores = write_stores(built, scratch, "squad", config, english=bool(english_modes))
                rows += measure("squad", questions, stores, modes, english_modes, build_seconds, args.k)
    print()
    print(HEADER)
    for row in rows:
        print(_line(row))
    _agreement(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(f"Wrote {args.json}")
    return 0


def _agreement(rows: list[dict]) -> None:
    """Largest local-vs-Milvus gap per set and mode, in points (hit@k, MRR, containment)."""
    keys = ("hit@1", "hit@3", "hit@5", "mrr@10", "containment")
    local = {(r["set"], r["mode"]): r for r in rows if r["store"] == "local"}
    for r in rows:
        if r["store"] == "local" or (r["set"], r["mode"]) not in local:
            continue
        base = local[(r["set"], r["mode"])]
        gap = max(abs((r[k] or 0) - (base[k] or 0)) for k in keys) * 100
        verdict = "within a point" if gap <= 1 else "DIFFERS by more than a point"
        print(f"{r['set']} {r['mode']}: {r['store']} vs local, largest gap {gap:.1f} points ({verdict})")


if __name__ == "__main__":
    sys.exit(main())
