"""Warm answer latency on the seed index with the default (bundled) model, as milliseconds and as a ratio.

    .venv/bin/python benchmarks/answer_latency.py [--rounds 5] [--mode hybrid]

Builds the seed article's index in a temporary folder with the default model, answers every question of
seeds/questions.jsonl (a set written by this project: a smoke test, not evidence of quality) once to warm up,
then `--rounds` times more. In the same process and in alternation it times one `encode_queries` of the same
question, so the ratio answer-p50 / encode-p50 stays meaningful on a shared, noisy machine. The goal of the
semantic-default issue: hybrid p50 <= 30 ms, p95 <= 80 ms, ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="hybrid", choices=["lexical", "dense", "hybrid"])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import rag

    questions = [json.loads(line)["question"] for line in
                 (ROOT / "seeds" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        index = rag.Index.build([ROOT / "seeds"], path=Path(tmp) / "idx", show_progress=False)
        encoder = index.retriever.encoder
        print(f"index: {len(index)} passages, model {index.manifest.describe_model()}, mode {args.mode}")
        for q in questions:  # warm-up: model load, caches
            index.answer(q, mode=args.mode)
            encoder.encode_queries([q])
        answer_ms, encode_ms = [], []
        for _ in range(args.rounds):
            for q in questions:
                started = time.perf_counter()
                index.answer(q, mode=args.mode)
                answer_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                encoder.encode_queries([q])
                encode_ms.append((time.perf_counter() - started) * 1000)
    a50, a95 = statistics.median(answer_ms), percentile(answer_ms, 95)
    e50, e95 = statistics.median(encode_ms), percentile(encode_ms, 95)
    print(f"{len(answer_ms)} answers: Index.answer p50 {a50:.1f} ms, p95 {a95:.1f} ms")
    print(f"one encode_queries of the same question: p50 {e50:.1f} ms, p95 {e95:.1f} ms")
    print(f"ratio answer p50 / encode p50: {a50 / e50:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
