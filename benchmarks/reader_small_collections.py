"""The reader on small collections: each held-out question asked of an index of its own article only (about 75
paragraphs, as most users' folders are small), beside the index of all 2,067 paragraphs, with the shipped weights;
then the same with weights refitted on training questions asked both ways (an experiment: not shipped).

    .venv/bin/python benchmarks/reader_small_collections.py

1,000 answerable held-out questions and 1,000 made unanswerable from other held-out ones
(scripts/squad_reader_data.py); hybrid mode, k=5. Prints containment of the top sentence, answerable answered
correctly, unanswerable declined and correct behaviour, per collection and per weights. Caches under
.bench/reader/ (first run: the per-article indexes and features, a few minutes on 2 cores).
"""

import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'scripts'))
import squad_reader_data as sd  # noqa: E402
import train_reader as T  # noqa: E402
from rag.reader_model import DECLINE_FEATURES, MODEL_FEATURES, ReaderModel, base_feature  # noqa: E402
from rag.trees import Scorer  # noqa: E402


def main() -> None:
    index, enc = sd.open_index()
    rows = sd.questions_with_offsets()
    vectors = {}
    for split in ("train", "heldout"):
        vectors.update(sd.squad_question_vectors(split, enc))
    tr = [r for r in rows if not r['held_out']]; he = [r for r in rows if r['held_out']]
    titles = sorted({r['title'] for r in rows})
    contexts = {d.doc_id: index.document_text(d.doc_id) for d in index.documents}
    sh = list(tr); random.Random(3).shuffle(sh)
    tr_un = sd.unanswerable(sh[:2000], contexts, seed=3)
    hs_ = list(he); random.Random(7).shuffle(hs_)
    he_ans = hs_[:1000]
    he_un = sd.unanswerable(hs_[1000:2000], contexts, seed=7)
    new = sorted({r["question"] for r in tr_un + he_un} - set(vectors))
    vectors |= dict(zip(new, sd.embed(new, "queries", enc)))
    index.retriever.encoder = sd.CachedEncoder(enc, vectors)
    mode = 'hybrid'
    names = [f for f in MODEL_FEATURES if base_feature(f) not in T.SEED_SPECIFIC]
    cols = [MODEL_FEATURES.index(f) for f in names]
    def load(kind, rs, name):
        if kind == 'full': return T.expand(sd.cached_extract(index, rs, mode, name))
        return T.expand(sd.article_extract(index, rs, mode, name))
    def combine(a, b, n):
        out = {k: np.concatenate([a[k], b[k] + (n if k in ('q', 'asked') else 0)]) for k in a}
        return out
    def behaviour(sent_predict, decline, thr, ans, un, ans_rows, un_rows):
        s = sent_predict(ans['x'][:, cols]); t = T.top_of(ans['q'], s)
        right = T.contained_top(index, ans, ans_rows, t)
        xa = T.decline_rows(index, ans, ans_rows, s, t)
        su = sent_predict(un['x'][:, cols]); tu = T.top_of(un['q'], su)
        xu = T.decline_rows(index, un, un_rows, su, tu)
        pa = 1 / (1 + np.exp(-decline(xa))); pu = 1 / (1 + np.exp(-decline(xu)))
        ans_ok = np.mean(right & (pa >= thr)); dec = np.mean(pu < thr)
        return dict(containment=round(float(right.mean()), 4), answered_right=round(float(ans_ok), 4), declined=round(float(dec), 4), behaviour=round(float(0.5 * ans_ok + 0.5 * dec), 4))
    # current weights
    m = ReaderModel.load(str(ROOT/'rag/reader_weights.json'))
    cur_sent = Scorer(m.sets['dense']); cur_dec = Scorer(m.data['decline_model']['dense']); cur_thr = m.data['decline']['hybrid']
    assert cur_sent.features == names
    evals = {}
    for kind in ('full', 'articles'):
        ans = load(kind, he_ans, 'heldout-ans1000'); un = load(kind, he_un, 'heldout-un1000')
        evals[kind] = (ans, un)
        print('shipped weights,', kind, behaviour(cur_sent.logits, cur_dec.logits, cur_thr, ans, un, he_ans, he_un), flush=True)
    # retrain with articles added
    trf, tra = load('full', tr, 'train'), load('articles', tr, 'train')
    unf, una = load('full', tr_un, 'train-unanswerable'), load('articles', tr_un, 'train-unanswerable')
    train = combine(trf, tra, len(tr)); rows2 = tr + tr
    unans = combine(unf, una, len(tr_un)); urows2 = tr_un + tr_un
    groups = np.asarray([titles.index(r['title']) for r in rows2]); ugroups = np.asarray([titles.index(r['title']) for r in urows2])
    scores, u_scores = T.oof_scores(train, cols, groups, unans, ugroups, kind='hgb')
    print('cv top1 combined', T.top1(train, scores), flush=True)
    tops = T.top_of(train['q'], scores); right = T.contained_top(index, train, rows2, tops)
    utops = T.top_of(unans['q'], u_scores)
    xa = T.decline_rows(index, train, rows2, scores, tops); xu = T.decline_rows(index, unans, urows2, u_scores, utops)
    dentry, thr, beh, _ = T.fit_decline(xa, right, xu, groups[train['q'][tops]], ugroups[unans['q'][utops]])
    print('train oof behaviour', beh, 'threshold', thr, dentry['kind'], flush=True)
    pred, entry = T.fit_kind('hgb', train['x'][:, cols], train['y'])
    dec = Scorer({'features': list(DECLINE_FEATURES), **dentry})
    for kind in ('full', 'articles'):
        ans, un = evals[kind]
        print('refitted on both,', kind, behaviour(pred, dec.logits, thr, ans, un, he_ans, he_un), flush=True)


if __name__ == "__main__":
    main()
