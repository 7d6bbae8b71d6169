"""Warm answer latency on the seed index with the default (bundled) model, as milliseconds and as a ratio.

    .venv/bin/python benchmarks/answer_latency.py [--rounds 5] [--mode hybrid] [--reader both|learned|rules]

Builds the seed article's index in a temporary folder with the default model, answers every question of
seeds/questions.jsonl (a set written by this project: a smoke test, not evidence of quality) once to warm up,
then `--rounds` times more. In the same process and in alternation it times one `encode_queries` of the same
question, so the ratio answer-p50 / encode-p50 stays meaningful on a shared, noisy machine. The goal of the
semantic-default issue: hybrid p50 <= 30 ms, p95 <= 80 ms, ratio <= 1.5. With `--reader all` (the default) the
learned reader (with the cross reader and its short answer), the same without the cross reader (the previous
version) and the earlier hand-set one answer each question in turn.
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


def use_reader(index, name: str) -> None:
    """"learned" (the shipped reader), "first-stage" (it without the cross reader) or "rules"."""
    index.reader.scorer = "rules" if name == "rules" else "learned"
    index.reader.use_cross = name == "learned"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="hybrid", choices=["lexical", "dense", "hybrid"])
    parser.add_argument("--reader", default="all", choices=["all", "both", "learned", "first-stage", "rules"],
                        help="learned: the shipped reader (with the cross reader's second stage); first-stage: "
                             "the learned reader without it (the previous version); both: learned and rules")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import rag

    questions = [json.loads(line)["question"] for line in
                 (ROOT / "seeds" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        index = rag.Index.build([ROOT / "seeds"], path=Path(tmp) / "idx", show_progress=False)
        encoder = index.retriever.encoder
        print(f"index: {len(index)} passages, model {index.manifest.describe_model()}, mode {args.mode}")
        readers = {"all": ["learned", "first-stage", "rules"], "both": ["learned", "rules"]}.get(args.reader,
                                                                                                 [args.reader])
        for q in questions:  # warm-up: model load, caches
            for scorer in readers:
                use_reader(index, scorer)
                index.answer(q, mode=args.mode)
            encoder.encode_queries([q])
        answer_ms, encode_ms = {r: [] for r in readers}, []
        spans = dict.fromkeys(readers, 0)
        use_reader(index, "learned")
        cross = index.reader.cross_reader if "learned" in readers else None
        reads: list[int] = []  # sentences per call of the cross reader
        per_answer: list[int] = []  # sentences the cross reader read per learned answer (2, or more when unsure)
        if cross is not None:
            real_read = cross.read
            cross.read = lambda question, sentences: reads.append(len(sentences)) or real_read(question, sentences)
        for _ in range(args.rounds):
            for q in questions:
                for scorer in readers:
                    use_reader(index, scorer)
                    before = len(reads)
                    started = time.perf_counter()
                    answer = index.answer(q, mode=args.mode, threshold=0.0)
                    answer_ms[scorer].append((time.perf_counter() - started) * 1000)
                    if scorer == "learned" and cross is not None:
                        per_answer.append(sum(reads[before:]))
                    spans[scorer] += answer.span is not None
                started = time.perf_counter()
                encoder.encode_queries([q])
                encode_ms.append((time.perf_counter() - started) * 1000)
    e50, e95 = statistics.median(encode_ms), percentile(encode_ms, 95)
    for scorer, ms in answer_ms.items():
        a50, a95 = statistics.median(ms), percentile(ms, 95)
        print(f"{scorer} reader, {len(ms)} answers (threshold 0, so every one is read and quoted"
              f"; with a short answer {spans[scorer]} times): "
              f"Index.answer p50 {a50:.1f} ms, p95 {a95:.1f} ms, ratio to one query embedding {a50 / e50:.2f}")
    print(f"one encode_queries of the same question: p50 {e50:.1f} ms, p95 {e95:.1f} ms")
    if per_answer:
        from collections import Counter

        print("learned reader, sentences the cross reader read per answer (more when unsure after the first): "
              + ", ".join(f"{n}: {count} answers" for n, count in sorted(Counter(per_answer).items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
