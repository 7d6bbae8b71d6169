"""A trial: the second stage given the first stage's own features of each sentence read, not only its score.

    .venv/bin/python benchmarks/second_stage_features.py [--mode hybrid|lexical]

The shipped second stage (rag/second_stage.py) weighs, for each of the first stage's best n sentences, the first
stage's logit and the cross reader's score (with their gaps and rank). Here the first stage's features of the
sentence (those its shipped model uses) are added as columns of the same logistic regression. Fitted and scored
out of fold on the 20 training articles (folds grouped by article; training questions read by the cross reader's
fold models, as scripts/train_reader.py does), then fitted on all of them and scored once on the 28 held-out
articles (read by the shipped cross reader), for n = 2 and n = 5 sentences read by every question (without the
reader's "read further when unsure"). Prints top-1 containment: the share of questions whose chosen sentence holds
the answer. Needs train_reader.py's caches under .bench/reader/ and the fold models.
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

READS = (2, 5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("hybrid", "lexical"), default="hybrid")
    args = parser.parse_args(argv)
    from sklearn.model_selection import GroupKFold

    import squad_reader_data as sd
    from cross_stage import choose, fold_readers, read_tops, shipped_reader, span_texts, stage2_matrix
    from rag.reader_model import MODEL_FEATURES, default_model
    from rag.second_stage import SHORT_ANSWER_FEATURES, STAGE2_FEATURES
    from train_cross_reader import first_stage_oof
    from train_reader import FOLDS, contained_top, expand, fit_kind

    index, encoder = sd.open_index()
    rows, train, scores = first_stage_oof(index, args.mode)
    everything = sd.questions_with_offsets()
    held_rows = [r for r in everything if r["held_out"]]
    vectors = {}
    for split in ("train", "heldout"):
        vectors.update(sd.squad_question_vectors(split, encoder))
    index.retriever.encoder = sd.CachedEncoder(encoder, vectors)
    held = expand(sd.cached_extract(index, held_rows, args.mode, "heldout"))
    entry = default_model().sets["dense" if args.mode == "hybrid" else args.mode]
    first = [MODEL_FEATURES.index(f) for f in entry["features"]]
    held_scores = fit_kind(entry["kind"], train["x"][:, first], train["y"])[0](held["x"][:, first])
    titles = sorted({r["title"] for r in everything})
    groups = np.asarray([titles.index(r["title"]) for r in rows])
    readers = fold_readers()
    if readers is None:
        raise SystemExit("the cross reader's fold models are missing: run scripts/train_cross_reader.py first")
    tops, cross, spans = read_tops(index, train, rows, scores, readers, f"train-{args.mode}")
    htops, hcross, hspans = read_tops(index, held, held_rows, held_scores, shipped_reader(), f"heldout-{args.mode}")
    texts, htexts = span_texts(index, train, tops, spans), span_texts(index, held, htops, hspans)
    asked = [rows[int(train["q"][t[0]])]["question"] for t in tops]
    hasked = [held_rows[int(held["q"][t[0]])]["question"] for t in htops]
    base = [STAGE2_FEATURES.index(f) for f in STAGE2_FEATURES if f not in SHORT_ANSWER_FEATURES]
    out = {"mode": args.mode, "questions": {"train": len(tops), "heldout": len(held_rows)}}
    for n in READS:
        x, cand, qn = stage2_matrix(scores, tops, cross, n, texts, asked)
        hx, hcand, hqn = stage2_matrix(held_scores, htops, hcross, n, htexts, hasked)
        for name, (xs, hxs) in {"shipped columns": (x[:, base], hx[:, base]),
                                "with the first stage's features": (np.hstack([x[:, base], train["x"][cand][:, first]]),
                                                                    np.hstack([hx[:, base], held["x"][hcand][:, first]]))
                                }.items():
            y, g = train["y"][cand], groups[train["q"][cand]]
            oof = np.zeros(len(y))
            for fit_on, score_on in GroupKFold(n_splits=FOLDS).split(xs, y, g):
                oof[score_on] = fit_kind("logistic", xs[fit_on], y[fit_on])[0](xs[score_on])
            picked = choose(qn, oof, cand)[0]
            held_picked = choose(hqn, fit_kind("logistic", xs, y)[0](hxs), hcand)[0]
            out[f"{n} reads, {name}"] = {
                "train_oof_top1": round(float(train["y"][picked].mean()), 4),
                "heldout_containment": round(float(contained_top(index, held, held_rows, held_picked).mean()), 4)}
            print(json.dumps({f"{n} reads, {name}": out[f"{n} reads, {name}"]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
