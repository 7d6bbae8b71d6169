"""How often a cross reader's best-scoring sentence among the first stage's best 2 or 5 holds the answer.

    .venv/bin/python scripts/train_cross_reader.py --only-fold 0 --out trial.npz [the trial's options]
    .venv/bin/python benchmarks/cross_reader_choice.py --adapters trial.npz [--context-words N] [--fold 0]

For comparing cross-reader trials before the full training (scripts/train_cross_reader.py's three models, then
scripts/train_reader.py): train one fold model the trial's way, then read the questions of that fold, whose
articles it did not see, with it and with the shipped fold model (.bench/reader/cross-fold-K-of-2.npz). Training
articles only (SQuAD v1.1 dev, `rag.squad.is_held_out` False). Each question's candidates are the first stage's best
five, scored out of fold (train_cross_reader.first_stage_tops, hybrid mode). Both are read through torch in float32,
the score being the best span's minus no answer's, the span only in the sentence (with `--context-words`, the
candidate's reader is given the end of the sentence before it, as `train_cross_reader.py --context-words` trained
it). This is the cross reader alone: the second stage also weighs the first stage's score. Also printed: of the
questions it gets wrong though the five hold a gold sentence, the share whose pick lies in a gold sentence's
passage, and next to it (two characters or fewer apart).
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


def choice_rates(scores: list[np.ndarray], golds: list[np.ndarray]) -> dict[str, float]:
    """Per question the candidates' scores (first stage's order) and whether each holds the answer: the share of
    questions with one among the five, and whose best-scoring one among the first 2 and 5 holds it."""
    n = len(scores)
    return {"questions": n, "gold_among_5": round(sum(bool(g[:5].any()) for g in golds) / n, 4),
            **{f"best_of_{k}_holds_it": round(sum(bool(g[int(np.argmax(s[:k]))]) for s, g in zip(scores, golds)) / n,
                                              4) for k in (2, 5)}}


def misses(scores: list[np.ndarray], golds: list[np.ndarray], spans: list[list[tuple[int, int, int]]]) -> dict:
    """Of the questions whose five hold a gold sentence but whose best-scoring one of the five does not: how many,
    and the share whose pick is in a gold sentence's passage, and next to one ((document, start, end) spans)."""
    wrong = same = beside = 0
    for s, g, t in zip(scores, golds, spans):
        pick = int(np.argmax(s[:5]))
        if not g[:5].any() or g[pick]:
            continue
        wrong += 1
        d, a, b = t[pick]
        gold = [t[i] for i in np.flatnonzero(g[:5])]
        same += any(d == gd for gd, _, _ in gold)
        beside += any(d == gd and (abs(b - ga) <= 2 or abs(gb - a) <= 2) for gd, ga, gb in gold)
    return {"wrong_picks": wrong, "in_a_gold_passage": round(same / max(wrong, 1), 3),
            "next_to_a_gold_sentence": round(beside / max(wrong, 1), 3)}


def load(folder, adapters: Path):
    import torch
    import train_cross_reader as tcr

    model = tcr.build_model(folder)
    with np.load(adapters, allow_pickle=False) as z:
        missing = model.load_state_dict({k: torch.from_numpy(z[k].astype(np.float32)) for k in z.files}, strict=False)
    if missing.unexpected_keys:
        raise SystemExit(f"{adapters}: not cross-reader adapters ({missing.unexpected_keys[0]})")
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapters", required=True,
                        help="a fold model of the trial (.npz, as train_cross_reader.py saves it)")
    parser.add_argument("--context-words", type=int, default=0, help="as the trial was trained (default 0)")
    parser.add_argument("--fold", type=int, default=0, choices=(0, 1), help="the fold the trial's model left out")
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    import squad_reader_data as sd
    from cross_stage import FOLD_FILE, fold_of
    from train_cross_reader import first_stage_tops, read, sentences_before, with_context

    torch.set_num_threads(2)
    index, _ = sd.open_index()
    store = index.store
    rows = [r for r in sd.questions_with_offsets() if not r["held_out"] and r["answers"]
            and fold_of(r["title"], 2) == args.fold]
    tops = first_stage_tops(index)
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for i in range(store.manifest.sentences):
        s = store.sentence(i)
        by_doc.setdefault(s.doc_index, []).append((s.start, s.end))
    before = {key: store.text(key[0])[p[0] : p[1]] if p else "" for key, p in sentences_before(by_doc).items()}
    asked = [r for r in rows if tops.get(r["id"])]
    golds = [np.asarray([store.document_position(r["doc_id"]) == d
                         and any(s <= a and a + len(x) <= e for x, a in r["answers"]) for d, s, e in tops[r["id"]]])
             for r in asked]
    folder = sd.model_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    shipped = sd.CACHE / FOLD_FILE.format(k=args.fold, n=2)
    out = {}
    for name, path, words in (("trial", Path(args.adapters), args.context_words), ("shipped fold model", shipped, 0)):
        texts = [with_context(before[(d, s)], store.text(d)[s:e], words) for r in asked for d, s, e in tops[r["id"]]]
        questions = [r["question"] for r in asked for _ in tops[r["id"]]]
        readings = read(load(folder, path), tokenizer, [(q, t) for q, (t, _) in zip(questions, texts)],
                        [start for _, start in texts])
        flat = [answer - null for answer, null, _, _ in readings]
        bounds = np.cumsum([len(tops[r["id"]]) for r in asked])[:-1]
        scores = np.split(np.asarray(flat), bounds)
        out[name] = {"adapters": str(path), "context_words": words, **choice_rates(scores, golds),
                     "misses_of_5": misses(scores, golds, [tops[r["id"]] for r in asked])}
        print(json.dumps({name: out[name]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
