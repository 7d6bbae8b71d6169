"""Held-out answerable SQuAD questions that contain a negation, answered by the reader with and without the cross
reader's second stage (hybrid, all 2,067 paragraphs, each reader at its shipped threshold).

    .venv/bin/python benchmarks/reader_negations.py

The cross reader was trained with made-up unanswerable questions that include negations added to answerable ones;
this checks what that taught it about real questions that say "not".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
NEGATION = re.compile(r"\b(not|never|n't|no)\b")


def main() -> int:
    if not (ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json").is_file():
        print("SQuAD v1.1 dev not found; skipping")
        return 0
    import squad_reader_data as sd
    from rag.evaluation.metrics import contains_answer

    index, encoder = sd.open_index()
    index.retriever.encoder = sd.CachedEncoder(encoder, sd.squad_question_vectors("heldout", encoder))
    rows = [r for r in sd.questions_with_offsets() if r["held_out"] and NEGATION.search(r["question"])]
    print(f"{len(rows)} held-out answerable questions with a negation")
    for use in (True, False):
        index.reader.use_cross = use
        threshold = index.threshold_for("hybrid")
        right = declined = 0
        for r in rows:
            answer = index.answer(r["question"], mode="hybrid", threshold=threshold)
            declined += answer.declined
            right += not answer.declined and contains_answer(answer.text, [a for a, _ in r["answers"]])
        print(f"{'two stages' if use else 'first stage alone':18} answered correctly {right / len(rows):.3f}, "
              f"declined {declined / len(rows):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
