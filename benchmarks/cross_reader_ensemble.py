"""Would reading with two or more cross readers pick better sentences? Out of fold on SQuAD training articles only.

    .venv/bin/python benchmarks/cross_reader_ensemble.py DIR [DIR ...]

Each DIR (under .bench/reader/) holds one training recipe's two fold models (cross-fold-0-of-2.npz and
cross-fold-1-of-2.npz, from scripts/train_cross_reader.py with that recipe's options). Every training question's
best n candidates of the first stage (out of fold, the shipped weights' features and kind) are read by the fold
model of each recipe that did not see its article; a logistic over the first stage's logit and gap and each
reader's score, gap and rank (folds grouped by article) picks one. Prints top-1 (the pick holds a gold answer) for
n = 2, 3, 5 and every combination of the recipes. Readings are cached (scripts/cross_stage.py).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    import squad_reader_data as sd

    if not sd.DEFAULT_PATH.is_file():
        print("SQuAD v1.1 dev not found; skipping")
        return 0
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from cross_stage import FOLD_FILE, fold_of, read_tops
    from rag.cross_reader import CrossReader
    from rag.reader_model import MODEL_FEATURES, default_model
    from train_reader import FOLDS, expand, oof_scores

    everything = sd.questions_with_offsets()
    rows = [r for r in everything if not r["held_out"]]
    titles = sorted({r["title"] for r in everything})
    index, _ = sd.open_index()
    train = expand(sd.cached_extract(index, rows, "hybrid", "train"))
    groups = np.asarray([titles.index(r["title"]) for r in rows])
    entry = default_model().sets["dense"]
    scores = oof_scores(train, [MODEL_FEATURES.index(f) for f in entry["features"]], groups, kind=entry["kind"])
    readings = {}
    for name in argv:
        folder = Path(name) if Path(name).is_dir() else sd.CACHE / name
        files = [folder / FOLD_FILE.format(k=k, n=2) for k in range(2)]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            print(f"error: {', '.join(missing)} not found; train that recipe's fold models first")
            return 2
        readers = [CrossReader(f, cache_dir=sd.CACHE / "cache") for f in files]
        tops, cross, _ = read_tops(index, train, rows, scores, lambda title: readers[fold_of(title, 2)], "train-hybrid")
        readings[name] = cross
    y = train["y"] > 0

    def top1(names, n):
        xs, ys, qs, gs = [], [], [], []
        for k, t in enumerate(tops):
            first = scores[t[:n]]
            columns = [first, first - first.max()]
            for name in names:
                c = readings[name][k][:n]
                columns += [c, c - c.max(), np.argsort(np.argsort(-c)).astype(float)]
            xs.append(np.vstack(columns).T)
            ys += list(y[t[:n]])
            qs += [k] * len(first)
            gs += [groups[train["q"][t[0]]]] * len(first)
        x, yy, q, g = np.vstack(xs), np.asarray(ys), np.asarray(qs), np.asarray(gs)
        s = np.zeros(len(yy))
        for tr, te in GroupKFold(n_splits=FOLDS).split(x, yy, g):
            s[te] = LogisticRegression(max_iter=500).fit(x[tr], yy[tr]).decision_function(x[te])
        starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        picks = [a + int(np.argmax(s[a:b])) for a, b in zip(starts, list(starts[1:]) + [len(q)])]
        return float(yy[picks].sum()) / len(tops)

    print(f"{len(tops)} training questions, top-1 out of fold (the pick holds a gold answer)")
    for n in (2, 3, 5):
        for r in range(1, len(readings) + 1):
            for combo in itertools.combinations(readings, r):
                print(f"best {n}: {' + '.join(combo):60} {top1(combo, n):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
