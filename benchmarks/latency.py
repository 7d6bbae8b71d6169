"""Warm latency: p50/p95 of `retrieve()` and `answer()` per mode, beside rank_bm25 on the same passages.

    .venv/bin/python benchmarks/latency.py [SQUAD_JSON] [--questions 500] [--k 5] [--no-dense]

Two corpora: the seed index (seeds/, with seeds/questions.jsonl when present) and SQuAD v1.1 dev (2,067
paragraphs, indexed as documents; SQUAD_JSON defaults to ../shared/data/squad/dev-v1.1.json and the SQuAD part is
skipped, with a message, when the file is absent; it is read in place, never copied).

The peer is rank_bm25's BM25Okapi (the engine behind LangChain's BM25Retriever) over exactly our passages and our
analyser's terms, so the comparison is of the engines, not the tokenisers. Both are timed per question, in
alternation, in one process, and reported as a ratio; hit@k (a passage of the question's paragraph in the top k)
is reported for both.

Dense and hybrid run with the default model (the bundled all-MiniLM-L6-v2, queries on ONNX Runtime; sentence
vectors are embedded at indexing, which makes the SQuAD build take minutes). `--model tiny` uses the tiny random
2-layer BERT of tests/tiny_model.py instead (machinery only; its hit@k means nothing); `--no-dense` skips them.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQUAD = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
SEED_QUESTIONS = ROOT / "seeds" / "questions.jsonl"
FALLBACK_SEED_QUESTIONS = [
    "Which province did Muzammil govern before Balkh?",
    "Who was the Taliban governor of Balkh province when he was killed?",
    "How did the governor of Balkh die?",
]


def percentiles(ms: list[float]) -> str:
    return f"{np.percentile(ms, 50):.2f} / {np.percentile(ms, 95):.2f}"


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def load_squad(path: Path, limit: int):
    from rag.documents import doc_id_for
    from rag.types import Document

    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    documents, questions = [], []
    for article in data:
        for n, paragraph in enumerate(article["paragraphs"]):
            text = paragraph["context"]
            documents.append(Document(doc_id=doc_id_for(text), source=f"{article['title']}#{n}", text=text))
            questions.extend((qa["question"], len(documents) - 1) for qa in paragraph["qas"])
    step = max(1, len(questions) // limit)
    return documents, questions[::step][:limit]


def seed_corpus():
    from rag.documents import load_documents

    documents = load_documents([ROOT / "seeds"])
    if SEED_QUESTIONS.exists():
        rows = [json.loads(line) for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions = [row["question"] for row in rows]
    else:
        questions = FALLBACK_SEED_QUESTIONS
    return documents, [(q, 0) for q in questions]


def run_corpus(name: str, documents, questions, model: str | None, k: int, workdir: Path) -> list[str]:
    from rank_bm25 import BM25Okapi

    from rag.config import Config
    from rag.index import Index
    from rag.lexical import analyze, top_k

    config = Config(index_path=workdir / name).with_model(model) if model else Config(index_path=workdir / name)
    index = Index.from_documents(documents, config, show_progress=False)
    doc_of_passage = np.asarray([index.store.passage(i).doc_index for i in range(len(index))])
    passage_texts = [hit_text(index, i) for i in range(len(index))]
    peer = BM25Okapi(analyze(passage_texts))

    def peer_retrieve(question: str) -> np.ndarray:
        scores = peer.get_scores(analyze([question])[0])
        return top_k(np.asarray(scores, dtype=np.float32), k)

    for question, _ in questions[:5]:  # warm caches, lazy imports and the model
        for mode in index.modes:
            index.answer(question, k=k, mode=mode)
        peer_retrieve(question)

    lines = [f"### {name}: {len(documents):,} documents, {len(index):,} passages, {len(questions):,} questions, k={k}",
             "", "| what | p50 / p95 ms | hit@k |", "|---|---:|---:|"]
    ours_ms, peer_ms, ours_hits, peer_hits = [], [], 0, 0
    for question, gold in questions:
        hits, ms = timed(index.retrieve, question, k=k, mode="lexical")
        ours_ms.append(ms)
        ours_hits += gold in {int(doc_of_passage[h.passage_id]) for h in hits}
        ids, ms = timed(peer_retrieve, question)
        peer_ms.append(ms)
        peer_hits += gold in set(doc_of_passage[ids].tolist())
    n = len(questions)
    lines.append(f"| retrieve(), lexical (bm25s, mmap) | {percentiles(ours_ms)} | {ours_hits / n:.3f} |")
    lines.append(f"| rank_bm25 BM25Okapi, same passages and terms | {percentiles(peer_ms)} | {peer_hits / n:.3f} |")
    ratio = statistics.median(peer_ms) / statistics.median(ours_ms)
    for mode in index.modes:
        retrieve_ms, answer_ms, hit = [], [], 0
        for question, gold in questions:
            hits, ms = timed(index.retrieve, question, k=k, mode=mode)
            retrieve_ms.append(ms)
            hit += gold in {int(doc_of_passage[h.passage_id]) for h in hits}
            _, ms = timed(index.answer, question, k=k, mode=mode)
            answer_ms.append(ms)
        note = "" if mode == "lexical" else f" ({index.manifest.describe_model()})"
        if mode != "lexical":
            lines.append(f"| retrieve(), {mode}{note} | {percentiles(retrieve_ms)} | {hit / n:.3f} |")
        lines.append(f"| answer(), {mode}{note} | {percentiles(answer_ms)} | |")
    lines += ["", f"rank_bm25 / ours, median retrieval time: **{ratio:.1f}x** (ours faster when above 1)", ""]
    return lines


def hit_text(index, passage_id: int) -> str:
    return index.retriever._hit(passage_id, 1, 0.0, {}).text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("squad", nargs="?", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--questions", type=int, default=500, help="SQuAD questions, spread over the file")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--no-dense", action="store_true", help="lexical only (an index without a model)")
    parser.add_argument("--model", help="model for dense and hybrid: a folder, 'tiny' (random stand-in) or the "
                                        "default (bundled all-MiniLM-L6-v2)")
    parser.add_argument("--seed-only", action="store_true", help="skip SQuAD")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sys.path.insert(0, str(ROOT / "tests"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = "none" if args.no_dense else args.model
        if model == "tiny":
            from tiny_model import build_tiny_model

            seed_text = (ROOT / "seeds" / "000_a2e84cf20c291977.txt").read_text(encoding="utf-8")
            model = str(build_tiny_model(workdir / "tiny", [s for s in seed_text.splitlines() if s.strip()]))
        documents, questions = seed_corpus()
        lines = run_corpus("seed", documents, questions, model, args.k, workdir)
        if args.seed_only:
            pass
        elif args.squad.exists():
            documents, questions = load_squad(args.squad, args.questions)
            lines += run_corpus("squad-dev", documents, questions, model, args.k, workdir)
        else:
            lines.append(f"SQuAD skipped: {args.squad} not found; pass the path to dev-v1.1.json as the first "
                         f"argument (see ../shared/data/README.md).")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
