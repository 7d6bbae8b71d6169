"""The cross reader's training step in float32 against bfloat16 autocast, side by side, as a ratio.

    .venv/bin/python benchmarks/cross_training_speed.py [--batches 60] [--rounds 2]

Builds scripts/train_cross_reader.py's training examples from the first 2,400 questions of the training articles
(nothing held out is read), and in alternation trains a fresh model on the same `--batches` batches for one
epoch, once in float32 and once under bfloat16 autocast (what `train_cross_reader.py --bf16` does),
`--rounds` times each. Prints each run's milliseconds a batch and the median ratio bfloat16 / float32 of runs
made next to each other, so the figure holds on a shared, noisy machine. Needs a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    import squad_reader_data as sd
    import train_cross_reader as tcr

    torch.set_num_threads(2)
    index, _ = sd.open_index()
    rows = [r for r in sd.questions_with_offsets() if not r["held_out"] and r["answers"]][:2400]
    data = tcr.examples(index, rows)
    random.Random(0).shuffle(data)
    data = data[: tcr.BATCH * args.batches]
    folder = sd.model_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    runs: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    for _ in range(args.rounds):
        for name in runs:
            model = tcr.build_model(folder)
            started = time.perf_counter()
            tcr.train(model, tokenizer, data, 1, bf16=name == "bfloat16")
            runs[name].append((time.perf_counter() - started) / args.batches * 1000)
            print(f"{name}: {runs[name][-1]:.0f} ms a batch", flush=True)
    ratios = [b / f for f, b in zip(runs["float32"], runs["bfloat16"])]
    print(json.dumps({"batches": args.batches, "ms_per_batch": runs,
                      "ratio_bfloat16_to_float32_median": round(statistics.median(ratios), 3)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
