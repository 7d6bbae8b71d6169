"""Where containment is lost: how often the reader's first stage puts a sentence holding the answer among its best k.

    .venv/bin/python benchmarks/first_stage_recall.py [--mode hybrid|lexical]

Training articles only (SQuAD v1.1 dev, `rag.squad.is_held_out` False), open retrieval over all paragraphs, k=5
passages. Each question's candidate sentences are scored out of fold (scripts/train_cross_reader.py's
`first_stage_oof`), so an article's questions are scored by a model that did not see it. Prints, per k, the share of questions with a gold sentence (one holding a gold answer's characters) among the
first stage's best k, and among all candidates. Compare it with the two-stage reader's out-of-fold top-1
(`train_reader.py`'s log): what the first k hold but the reader does not pick is lost in choosing, not retrieving.
Uses scripts/train_reader.py's feature cache under .bench/reader/ (built on the first run, a few minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

DEPTHS = (1, 2, 3, 5, 10)


def recall_at(q: np.ndarray, y: np.ndarray, scores: np.ndarray, questions: int) -> dict[str, float]:
    """Share of `questions` with a positive candidate among the best k by `scores`, per k, and among all."""
    found = {str(k): 0 for k in DEPTHS} | {"any": 0}
    order = np.lexsort((-scores, q))
    bounds = np.flatnonzero(np.diff(q[order])) + 1
    for group in np.split(order, bounds):
        if len(group) == 0:
            continue
        positive = y[group] > 0
        for k in DEPTHS:
            found[str(k)] += bool(positive[:k].any())
        found["any"] += bool(positive.any())
    return {k: round(v / questions, 4) for k, v in found.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("hybrid", "lexical"), default="hybrid")
    args = parser.parse_args(argv)

    import squad_reader_data as sd
    from train_cross_reader import first_stage_oof

    index, _ = sd.open_index()
    rows, data, scores = first_stage_oof(index, args.mode)
    print(json.dumps({"mode": args.mode, "questions": len(rows),
                      "gold_sentence_among_first_stage_best": recall_at(data["q"], data["y"], scores, len(rows))},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
