"""SQuAD v1.1 dev as a retrieval and reading benchmark, beside a plain bm25s baseline.

    .venv/bin/python benchmarks/squad.py [PATH] [--limit N] [--chunk-chars C] [--k 5] [--json REPORT]

Indexes the 2,067 paragraphs as documents (BM25 only, as on a machine without a model) and asks the 10,570
questions. A retrieval hit is a passage of the paragraph the question was written on. The baseline is bm25s as
it comes: its default tokenizer with stopwords="en", no stemmer, whole paragraphs; our retrieval should not
fall below it. PATH defaults to ../shared/data/squad/dev-v1.1.json from the repository root; when the file is
absent the benchmark says so and exits 0. The data set is read in place, never copied.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
# SQuAD dev paragraphs run to 4,063 characters; at this size every paragraph is one passage, which is what the
# question was written on and what the baseline indexes. --chunk-chars 700 measures the product default.
WHOLE_PARAGRAPH_CHARS = 5000


def sample(items: list, limit: int | None) -> list:
    """`limit` items spread evenly over the list (the file is ordered by article, so the head is one topic)."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="dev-v1.1.json")
    parser.add_argument("--limit", type=int, help="ask only N questions, spread over the set")
    parser.add_argument("--k", type=int, default=5, help="passages the reader reads (default 5)")
    parser.add_argument("--chunk-chars", type=int, default=WHOLE_PARAGRAPH_CHARS,
                        help=f"largest passage (default {WHOLE_PARAGRAPH_CHARS}: whole paragraphs)")
    parser.add_argument("--index", metavar="DIR", help="keep the index in this folder (default: a temp folder)")
    parser.add_argument("--json", metavar="REPORT", help="write the summary and per-question results here")
    parser.add_argument("--failures", type=int, default=10, help="failed questions to print (default 10)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index build at debug level

    path = Path(args.path)
    if not path.is_file():
        print(f"SQuAD v1.1 dev not found at {path}; skipping. Pass its path: benchmarks/squad.py PATH")
        return 0

    from rag import Config, Index
    from rag.cli_format import format_failures, format_table
    from rag.evaluation import RETRIEVAL_DEPTH, evaluate
    from rag.squad import load_squad

    documents, questions = load_squad(path)
    questions = sample(questions, args.limit)
    print(f"SQuAD dev: {len(documents)} paragraphs, {len(questions)} questions; chunk_chars={args.chunk_chars}, "
          f"k={args.k}")
    depth = max(args.k, RETRIEVAL_DEPTH)
    base, base_seconds = baseline(documents, questions, depth)

    with tempfile.TemporaryDirectory(prefix="squad-index-") as scratch:
        folder = Path(args.index) if args.index else Path(scratch) / "index"
        started = time.perf_counter()
        config = Config.from_env(index_path=folder, model="none", chunk_chars=args.chunk_chars)
        index = Index.from_documents(documents, config=config, show_progress=not args.no_progress)
        index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = evaluate(questions, index, mode="lexical", k=args.k, show_progress=not args.no_progress)
        eval_seconds = time.perf_counter() - started
        passages = len(index)

    ours = report.modes["lexical"]
    print()
    print(format_table(report))
    print()
    print(f"Retrieval at the paragraph level ({passages} passages indexed):")
    print(f"{'metric':12}{'rag lexical':>14}{'bm25s plain':>14}")
    for key in base:
        print(f"{key:12}{ours.retrieval[key]:>14.3f}{base[key]:>14.3f}")
    print(f"Reader: the quoted answer contains a gold answer {ours.answers['containment']:.3f}; "
          f"EM {ours.answers['exact_match']:.3f}, F1 {ours.answers['f1']:.3f}, "
          f"citation accuracy {ours.answers['citation_accuracy']:.3f}, "
          f"answerable declined {ours.abstention['answerable_declined']:.3f}")
    print(f"Time: index {index_seconds:.1f}s, evaluation {eval_seconds:.1f}s "
          f"({eval_seconds / len(questions) * 1000:.1f} ms per question), baseline {base_seconds:.1f}s")
    behind = [key for key in base if ours.retrieval[key] < base[key] - 1e-9]
    if behind:
        print(f"warning: rag lexical retrieval is below the plain bm25s baseline on {', '.join(behind)}")
    if args.failures:
        print()
        print(format_failures(report, limit=args.failures))
    if args.json:
        summary = {"path": str(path), "questions": len(questions), "paragraphs": len(documents),
                   "passages": passages, "chunk_chars": args.chunk_chars, "k": args.k,
                   "baseline": base, "seconds": {"index": index_seconds, "evaluation": eval_seconds,
                                                 "baseline": base_seconds},
                   "report": report.to_dict()}
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
