"""Fit the reader's sentence scorer on SQuAD training articles and write rag/reader_weights.json.

    .venv/bin/python scripts/train_reader.py [--out rag/reader_weights.json] [--report REPORT.json]

Everything is chosen on the 20 training articles (rag.squad.is_held_out false), cross-validated with folds
grouped by article: which features to keep (one backward pass: a feature goes when leaving it out does not lower
out-of-fold top-1 accuracy), the logistic weights, and the Platt map from the best candidate's score to the
probability that its sentence holds the answer. The held-out articles are only scored at the end, to report:
containment of the top sentence, expected calibration error, and each feature's effect (ablation: refit on all
training articles without it). With the cross reader's fold models (scripts/train_cross_reader.py, run first),
it also fits the second stage (how many of the first stage's best to read, and a logistic over first-stage and
cross-reader scores) and a decline model with the cross reader's features, out of fold on training articles.
Features come from .bench/reader/ (scripts/squad_reader_data.py; first run embeds
the SQuAD sentences and builds the index, a few minutes on 2 cores; later runs take about a minute).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rag.reader_model import ALL_FEATURES, DENSE_FEATURES, GAP_FEATURES, MODEL_FEATURES, base_feature  # noqa: E402

FOLDS = 5
C = 1.0
SEED_SPECIFIC = ("answer_noun", "contrast")
UNANSWERABLE = 2000  # unanswerable questions made from training articles for choosing the decline rule


def _standardise(x):
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit(x, y):
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(x)
    model = LogisticRegression(C=C, max_iter=300, tol=1e-3)
    model.fit((x - mean) / scale, y)
    return {"mean": mean, "scale": scale, "coef": model.coef_[0], "intercept": float(model.intercept_[0])}


def logits(params, x):
    return ((x - params["mean"]) / params["scale"]) @ params["coef"] + params["intercept"]


def top_of(q, scores):
    """Index of the best candidate of each question (questions in order of first appearance)."""
    order = np.lexsort((-scores, q))
    first = np.ones(len(order), dtype=bool)
    first[1:] = q[order][1:] != q[order][:-1]
    return order[first]


def margins(q, scores, tops):
    out = np.full(len(tops), 5.0)
    second = {}
    order = np.lexsort((-scores, q))
    qs = q[order]
    for j in range(1, len(order)):
        if qs[j] == qs[j - 1] and (j == 1 or qs[j - 1] != qs[j - 2]):
            second[qs[j]] = scores[order[j]]
    for n, t in enumerate(tops):
        if q[t] in second:
            out[n] = min(scores[t] - second[q[t]], 5.0)
    return out


def oof_scores(data, columns, groups, extra=None, extra_groups=None, kind="logistic"):
    """Out-of-fold logits of every candidate (folds grouped by article); with `extra` (features of other
    questions of the same articles, e.g. unanswerable ones), also their logits from the fold model that did not
    see their article."""
    from sklearn.model_selection import GroupKFold

    x, y, q = data["x"][:, columns], data["y"], data["q"]
    scores = np.zeros(len(y))
    extra_scores = None if extra is None else np.zeros(len(extra["y"]))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups[q]):
        predict = fit_kind(kind, x[train], y[train])[0]
        scores[test] = predict(x[test])
        if extra is not None:
            held = set(groups[q[test]].tolist())
            mask = np.isin(extra_groups[extra["q"]], list(held))
            if mask.any():
                extra_scores[mask] = predict(extra["x"][mask][:, columns])
    return scores if extra is None else (scores, extra_scores)


def expand(data):
    """The cached base columns (ALL_FEATURES) with the per-question gap columns added (MODEL_FEATURES order)."""
    x, q = data["x"], data["q"]
    base = [ALL_FEATURES.index(f[:-4]) for f in GAP_FEATURES]
    best = np.full((q.max() + 1, len(base)), -np.inf)
    np.maximum.at(best, q, x[:, base])
    return dict(data, x=np.hstack([x, x[:, base] - best[q]]))


def decline_rows(index, data, rows, scores, tops):
    """Decline features (rag.reader_model.decline_features) of each question's best candidate."""
    from rag.lexical import analyze
    from rag.reader_model import DECLINE_FEATURES, decline_features

    cols = {f: ALL_FEATURES.index(f) for f in ALL_FEATURES}
    q = data["q"]
    order = np.argsort(q, kind="stable")
    bounds = np.searchsorted(q[order], q[tops])
    ends = np.searchsorted(q[order], q[tops], side="right")
    out = []
    for t, a, b in zip(tops, bounds, ends):
        row = rows[int(q[t])]
        doc = int(data["doc"][t])
        best = {f: float(data["x"][t, cols[f]]) for f in ("coverage", "coverage_own", "similarity", "dense_passage")}
        feats = decline_features(row["question"], index.store.text(doc), best, scores[order[a:b]], analyze,
                                 index.store.idf)
        out.append([feats[f] for f in DECLINE_FEATURES])
    return np.asarray(out)


def fit_decline(xa, right, xu, ga, gu):
    """The decline model on answerable (label: answered right) and unanswerable (label 0) training questions
    weighted half and half; out-of-fold probabilities (grouped by article) choose the threshold."""
    from sklearn.model_selection import GroupKFold

    x = np.vstack([xa, xu])
    y = np.concatenate([right.astype(int), np.zeros(len(xu), dtype=int)])
    g = np.concatenate([ga, gu])
    best = None
    for kind in SPAN_KINDS:  # logistic or trees, whichever behaves better out of fold
        prob = np.zeros(len(y))
        for tr, te in GroupKFold(n_splits=FOLDS).split(x, y, g):
            prob[te] = 1 / (1 + np.exp(-fit_kind(kind, x[tr], y[tr], subsample=False)[0](x[te])))
        threshold, behaviour = choose_decline(prob[: len(xa)], right, prob[len(xa) :])
        print(f"decline {kind}: out-of-fold correct behaviour {behaviour:.4f}", flush=True)
        if best is None or behaviour > best[2]:
            best = (kind, threshold, behaviour, prob)
    kind, threshold, behaviour, prob = best
    return fit_kind(kind, x, y, subsample=False)[1], threshold, behaviour, prob


def choose_decline(conf_a, right_a, conf_u):
    """The threshold with the most correct behaviour when answerable and unanswerable questions weigh half each."""
    options = np.unique(np.concatenate([conf_a, conf_u, [0.0]]))
    mids = np.concatenate([[0.0], (options[:-1] + options[1:]) / 2])
    best, value = 0.0, -1.0
    for t in mids:
        v = 0.5 * np.mean(right_a & (conf_a >= t)) + 0.5 * np.mean(conf_u < t)
        if v > value + 1e-12:
            best, value = float(t), float(v)
    return best, value


def top1(data, scores):
    return float(data["y"][top_of(data["q"], scores)].mean()) / 1.0


def ece(prob, right, bins=10):
    prob, right = np.asarray(prob), np.asarray(right, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (prob >= lo) & ((prob < hi) | (hi == 1.0))
        if inside.any():
            total += inside.sum() / len(prob) * abs(prob[inside].mean() - right[inside].mean())
    return float(total)


def platt(top_scores, margin, right):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0, max_iter=500)
    model.fit(np.column_stack([top_scores, margin]), right)
    return [float(model.coef_[0][0]), float(model.coef_[0][1])], float(model.intercept_[0])


def apply_platt(a, b, top_scores, margin):
    return 1 / (1 + np.exp(-(a[0] * top_scores + a[1] * margin + b)))


def contained_top(index, data, rows, tops):
    """Whether each question's top candidate contains a gold answer as text (the evaluation's containment)."""
    from rag.evaluation.metrics import contains_answer

    out = []
    for t in tops:
        text = index.store.text(int(data["doc"][t]))[int(data["start"][t]) : int(data["end"][t])]
        out.append(contains_answer(text, [a for a, _ in rows[int(data["q"][t])]["answers"]]))
    return np.asarray(out)


def gold_sentences(index, rows):
    """Per question, (document, start, end) of the sentence that holds the first gold answer's characters (None
    when the answer crosses sentences)."""
    store = index.store
    by_doc = {}
    for i in range(store.manifest.sentences):
        row = store.sentence(i)
        by_doc.setdefault(row.doc_index, []).append((row.start, row.end))
    out = []
    for r in rows:
        doc = store.document_position(r["doc_id"])
        found = None
        for answer, start in r["answers"]:
            found = next(((doc, s, e) for s, e in by_doc[doc] if s <= start and start + len(answer) <= e), None)
            if found:
                break
        out.append(found)
    return out


def span_data(index, rows, entities: bool):
    """Candidate spans of each question's gold sentence: feature matrix, labels (normalised text equals a gold
    answer), question number, span texts, column names."""
    from rag.evaluation.metrics import normalize_answer
    from rag.reader_model import answer_noun
    from rag.spans import question_word_set, span_candidates, span_matrix

    store = index.store
    xs, ys, qs, texts, names = [], [], [], [], None
    for n, (r, gold) in enumerate(zip(rows, gold_sentences(index, rows))):
        if gold is None:
            continue
        doc, start, end = gold
        sentence = store.text(doc)[start:end]
        qwords = question_word_set(r["question"])
        toks, spans = span_candidates(sentence, qwords)
        if not spans:
            continue
        tagged = None
        if entities:
            tagged = [(a - start, b - start, label) for a, b, label in store.entities(doc, start, end)]
        noun = answer_noun(r["question"])
        x, names = span_matrix(r["question"], toks, spans, qwords, noun.lower() if noun else None, tagged)
        xs.append(x)
        golds = {normalize_answer(a) for a, _ in r["answers"]}
        for i, j in spans:
            t = sentence[toks[i][1] : toks[j][2]]
            ys.append(normalize_answer(t) in golds)
            qs.append(n)
            texts.append(t)
    return np.vstack(xs), np.asarray(ys, dtype=np.int8), np.asarray(qs), texts, names


# The short-answer model's two candidates, chosen between by grouped cross-validation (span F1 in the gold
# sentence). The trees' settings are scikit-learn's defaults but for 200 rounds and l2 1.0, fixed, not tuned.
SPAN_KINDS = ("logistic", "hgb")
NEGATIVES_KEPT = 0.3


def fit_kind(kind, x, y, subsample=True):
    """A fitted model of `kind` and its weights-file entry (without "features")."""
    if kind == "logistic":
        p = fit(x, y)
        return (lambda z: logits(p, z)), {"kind": "logistic", "mean": p["mean"].tolist(),
                                           "scale": p["scale"].tolist(), "coef": p["coef"].tolist(),
                                           "intercept": p["intercept"]}
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rag.trees import export

    # Trees see every positive and a seeded 30% of the negatives (about 60 spans per question, 1 right): only
    # the ranking within a question is used, which subsampling negatives leaves alone (it shifts the intercept),
    # and it makes the fit about 3 times quicker.
    keep = (y == 1) | (np.random.default_rng(0).random(len(y)) < (NEGATIVES_KEPT if subsample else 1.0))
    model = HistGradientBoostingClassifier(max_iter=200, l2_regularization=1.0, random_state=0).fit(x[keep], y[keep])
    return model.decision_function, export(model)


def span_scores(rows, q, texts, scores):
    """Exact match and F1 (SQuAD normalisation) of each question's best span."""
    from rag.evaluation.metrics import exact_match, token_f1

    tops = top_of(q, scores)
    golds = [[a for a, _ in rows[int(q[t])]["answers"]] for t in tops]
    em = float(np.mean([exact_match(texts[t], g) for t, g in zip(tops, golds)]))
    f1 = float(np.mean([token_f1(texts[t], g) for t, g in zip(tops, golds)]))
    return round(em, 4), round(f1, 4)


def train_spans(index, train_rows, held_rows, titles, report):
    """Two short-answer models, with entity columns (indexes that tagged entities) and without: for each, the
    kind with the better grouped-CV F1 on the gold sentences of training questions, refitted on all of them.
    Held-out exact match and F1 within the gold sentence are reported (the reader's sentence is scored later)."""
    from sklearn.model_selection import GroupKFold

    models, report["span"] = {}, {}
    groups = np.asarray([titles.index(r["title"]) for r in train_rows])
    for key, entities in (("entities", True), ("plain", False)):
        x, y, q, texts, names = span_data(index, train_rows, entities)
        hx, _, hq, htexts, _ = span_data(index, held_rows, entities)
        cv = {}
        for kind in SPAN_KINDS:
            scores = np.zeros(len(y))
            for tr, te in GroupKFold(n_splits=FOLDS).split(x, y, groups[q]):
                scores[te] = fit_kind(kind, x[tr], y[tr])[0](x[te])
            cv[kind] = span_scores(train_rows, q, texts, scores)
            print(f"span {key} {kind}: cv EM/F1 in gold sentence {cv[kind]}", flush=True)
        kind = max(SPAN_KINDS, key=lambda k: cv[k][1])
        predict, entry = fit_kind(kind, x, y)
        held = span_scores(held_rows, hq, htexts, predict(hx))
        report["span"][key] = {"cv_em_f1_in_gold_sentence": cv, "chosen": kind,
                               "heldout_em_f1_in_gold_sentence": held}
        print(f"span {key}: {kind} chosen; held-out EM/F1 in gold sentence {held}", flush=True)
        models[key] = {"features": list(names), **entry}
    return models


MORE_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)  # shares of training questions that may read further, tried in turn


def per_question(cand, qn, s2, nq):
    """Per question (0..nq-1): the candidates read, best first by the first stage, and their second-stage logits
    (stage2_matrix's rows are grouped by question in that order)."""
    bounds = np.searchsorted(qn, np.arange(nq + 1))
    return [(cand[a:b], s2[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def adaptive_picks(tables, n, more, nq):
    """What the reader picks when it reads n and, below more["below"], more["reads"] in all: per question the
    chosen candidate, the second-stage logits of those read, the chosen one's position, whether it read further.
    `tables`: reads -> (candidate, question, logit) arrays of stage2_matrix with that many reads."""
    first = per_question(*tables[n], nq)
    further = per_question(*tables[more["reads"]], nq) if more else None
    picked, stage2s, ats, flags = [], [], [], []
    for k in range(nq):
        c, s2 = first[k]
        flag = more is not None and float(s2.max()) < more["below"] and len(further[k][0]) > len(c)
        if flag:
            c, s2 = further[k]
        at = int(np.argmax(s2))
        picked.append(c[at])
        stage2s.append(s2)
        ats.append(at)
        flags.append(flag)
    return np.asarray(picked), stage2s, ats, np.asarray(flags)


def choose_more(train, tables, n, max_fraction):
    """Reading further when unsure, chosen out of fold: the threshold on the second stage's best logit after n
    reads (a quantile of the training questions' out-of-fold logits, so that a given share of them reads further;
    shares up to max_fraction) and how many to read then; the best top-1, and within 0.1 point the fewest questions
    and reads."""
    cand, qn, s2 = tables[n]
    nq = int(qn.max()) + 1
    best = np.full(nq, -np.inf)
    np.maximum.at(best, qn, s2)
    options = {}
    for reads in sorted(k for k in tables if k > n):
        for share in (f for f in MORE_FRACTIONS if f <= max_fraction + 1e-9):
            more = {"reads": reads, "below": float(np.quantile(best, share))}
            options[(share, reads)] = (float(train["y"][adaptive_picks(tables, n, more, nq)[0]].mean()), more)
            top1 = options[(share, reads)][0]
            print(f"  reading {reads} for the least sure {share:.0%}: out-of-fold top-1 {top1:.4f}", flush=True)
    if not options:
        return None
    key = max(options, key=lambda k: (round(options[k][0], 3), -k[0], -k[1]))
    return options[key][1] | {"share_of_training_questions": key[0]}


def fit_cross(index, train, train_rows, scores, unans, unans_rows, u_scores, groups, unans_groups, readers, mode,
              report, max_reads: int, more_fraction: float):
    """The second stage (how many of the first stage's best to read, and the logistic over their features) and
    the decline model with the cross reader's features, all chosen out of fold on training articles."""
    from sklearn.model_selection import GroupKFold

    from cross_stage import MAX_TOP, choose, read_tops, span_texts, stage2_matrix
    from rag.reader_model import CROSS_DECLINE_FEATURES, DECLINE_FEATURES, cross_decline_features
    from rag.second_stage import SHORT_ANSWER_FEATURES, STAGE2_FEATURES

    tops, cross, spans = read_tops(index, train, train_rows, scores, readers, f"train-{mode}")
    utops, ucross, uspans = read_tops(index, unans, unans_rows, u_scores, readers, f"train-unanswerable-{mode}")
    texts, utexts = span_texts(index, train, tops, spans), span_texts(index, unans, utops, uspans)
    asked = [train_rows[int(train["q"][t[0]])]["question"] for t in tops]
    uasked = [unans_rows[int(unans["q"][t[0]])]["question"] for t in utops]
    options = {}
    # The second stage's features: without and with the short answer's, whichever gives the better out-of-fold
    # top-1 (reading further as chosen below for each; within 0.1 point, the fewer features).
    for names in (tuple(f for f in STAGE2_FEATURES if f not in SHORT_ANSWER_FEATURES), STAGE2_FEATURES):
        columns = [STAGE2_FEATURES.index(f) for f in names]
        by_n = {}
        for n in range(1, MAX_TOP + 1):
            x, cand, qn = stage2_matrix(scores, tops, cross, n, texts, asked)
            x = x[:, columns]
            y, g = train["y"][cand], groups[train["q"][cand]]
            ux, ucand, uqn = stage2_matrix(u_scores, utops, ucross, n, utexts, uasked)
            ux = ux[:, columns]
            ug = unans_groups[unans["q"][ucand]]
            s2, us2 = np.zeros(len(y)), np.zeros(len(ux))
            for tr, te in GroupKFold(n_splits=FOLDS).split(x, y, g):
                predict = fit_kind("logistic", x[tr], y[tr])[0]
                s2[te] = predict(x[te])
                mask = np.isin(ug, np.unique(g[te]))
                us2[mask] = predict(ux[mask])
            chosen, chosen_rows = choose(qn, s2, cand)
            by_n[n] = (float(train["y"][chosen].mean()), x, y, cand, qn, s2, chosen, chosen_rows, ux, ucand, uqn,
                       us2)
            print(f"{mode}: second stage over the best {n} ({len(names)} features): out-of-fold top-1 "
                  f"{by_n[n][0]:.4f}", flush=True)
        # fewer reads when within 0.1 point; at most max_reads
        n = max((k for k in by_n if k <= max_reads), key=lambda k: (round(by_n[k][0], 3), -k))
        more = choose_more(train, {k: v[3:6] for k, v in by_n.items()}, n, more_fraction) if more_fraction else None
        picked = adaptive_picks({k: v[3:6] for k, v in by_n.items()}, n, more, len(tops))[0]
        options[names] = (float(train["y"][picked].mean()), by_n, n, more)
        print(f"{mode}: {len(names)} features, reading {n} and {more}: out-of-fold top-1 {options[names][0]:.4f}",
              flush=True)
    names = max(options, key=lambda k: (round(options[k][0], 3), -len(k)))
    _, by_n, n, more = options[names]
    a_picked, a_stage2, a_at, a_more = adaptive_picks({k: v[3:6] for k, v in by_n.items()}, n, more, len(tops))
    u_picked, u_stage2, u_at, _ = adaptive_picks({k: v[9:12] for k, v in by_n.items()}, n, more, len(utops))
    _, x, y = by_n[n][:3]
    right = contained_top(index, train, train_rows, a_picked)

    def decline_x(data, rows, first, picked, stage2s, ats, readings):
        """The decline features of each question's chosen candidate, as the reader computes them."""
        base = decline_rows(index, data, rows, first, picked)
        out = []
        for k, (b, s2_, at) in enumerate(zip(base, stage2s, ats)):
            features = cross_decline_features(dict(zip(DECLINE_FEATURES, b)), readings[k][at], s2_, at)
            out.append([features[f] for f in CROSS_DECLINE_FEATURES])
        return np.asarray(out)

    xa = decline_x(train, train_rows, scores, a_picked, a_stage2, a_at, cross)
    xu = decline_x(unans, unans_rows, u_scores, u_picked, u_stage2, u_at, ucross)
    dentry, threshold, behaviour, dprob = fit_decline(xa, right, xu, groups[train["q"][a_picked]],
                                                     unans_groups[unans["q"][u_picked]])
    stage2 = fit_kind("logistic", x, y)[1]

    report.setdefault("cross", {})[mode] = {
        "top1_oof_by_reads": {k: v[0] for k, v in by_n.items()}, "reads": n, "more": more,
        "stage2_features": list(names), "top1_oof_adaptive_by_features": {len(k): v[0] for k, v in options.items()},
        "top1_oof_adaptive": float(train["y"][a_picked].mean()), "reading_more_oof": float(np.mean(a_more)),
        "decline_threshold": threshold, "train_oof_correct_behaviour": behaviour,
        "train_oof_ece_mix": ece(dprob, np.concatenate([right, np.zeros(len(xu))]))}
    print(f"{mode}: with the cross reader, reading {n}: out-of-fold correct behaviour {behaviour:.4f} "
          f"at threshold {threshold:.3f}", flush=True)
    fitted = {"top": n, "more": None, "stage2_more": None}
    if more is not None:
        mx, my = by_n[more["reads"]][1:3]
        fitted |= {"more": more, "stage2_more": {"features": list(names), **fit_kind("logistic", mx, my)[1]},
                   "train_x_more": mx, "train_y_more": my}
    return fitted | {"threshold": threshold, "stage2": {"features": list(names), **stage2},
            "decline_model": {"features": list(CROSS_DECLINE_FEATURES), **dentry}, "train_x": x, "train_y": y}


def heldout_cross(index, held, held_rows, scores, fitted, mode):
    """Held-out top-sentence containment after the second stage (reading further when unsure, as the reader does),
    the short answer's EM/F1, and the second stage's ablation (over the first reads) (reported only)."""
    from cross_stage import choose, read_tops, shipped_reader, span_texts, stage2_matrix
    from rag.evaluation.metrics import exact_match, token_f1
    from rag.second_stage import STAGE2_FEATURES
    from rag.trees import Scorer

    tops, cross, spans = read_tops(index, held, held_rows, scores, shipped_reader(), f"heldout-{mode}")
    texts = span_texts(index, held, tops, spans)
    asked = [held_rows[int(held["q"][t[0]])]["question"] for t in tops]
    names = fitted["stage2"]["features"]
    columns = [STAGE2_FEATURES.index(f) for f in names]
    x, cand, qn = stage2_matrix(scores, tops, cross, fitted["top"], texts, asked)
    x = x[:, columns]
    tables = {fitted["top"]: (cand, qn, Scorer(fitted["stage2"]).logits(x))}
    more = fitted["more"]
    if more is not None:
        mx, mcand, mqn = stage2_matrix(scores, tops, cross, more["reads"], texts, asked)
        tables[more["reads"]] = (mcand, mqn, Scorer(fitted["stage2_more"]).logits(mx[:, columns]))
    picked, _, ats, flags = adaptive_picks(tables, fitted["top"], more, len(tops))
    right = contained_top(index, held, held_rows, picked)
    fixed = contained_top(index, held, held_rows, choose(qn, tables[fitted["top"]][2], cand)[0]).mean()
    ablation = {}  # each second-stage feature left out, refitted on the training articles' out-of-fold readings
    for j, name in enumerate(names):
        keep = [i for i in range(len(names)) if i != j]
        s = fit_kind("logistic", fitted["train_x"][:, keep], fitted["train_y"])[0](x[:, keep])
        ablation[f"without {name}"] = float(contained_top(index, held, held_rows, choose(qn, s, cand)[0]).mean()
                                            - fixed)
    first = top_of(held["q"], scores)
    ablation["first stage alone"] = float(contained_top(index, held, held_rows, first).mean() - fixed)
    em = f1 = 0.0
    for k, (c, at) in enumerate(zip(picked, ats)):
        a, b = spans[k][at]
        text = index.store.text(int(held["doc"][c]))[int(held["start"][c]) + a : int(held["start"][c]) + b]
        golds = [g for g, _ in held_rows[int(held["q"][c])]["answers"]]
        em += exact_match(text, golds)
        f1 += token_f1(text, golds)
    return {"top_sentence_containment_of_retrieved": float(right.mean()), "span_em": em / len(picked),
            "span_f1": f1 / len(picked), "questions_retrieved": len(picked), "reading_more": float(flags.mean()),
            "containment_first_reads_only": float(fixed), "ablation": ablation}


def main(argv=None) -> int:
    from cross_stage import LATENCY_READS, MAX_TOP, fold_readers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "rag" / "reader_weights.json"))
    parser.add_argument("--report", help="write the cross-validation, ablation and held-out figures here (JSON)")
    parser.add_argument("--keep-features", action="store_true",
                        help="skip the backward selection and refit on the features the current weights file "
                             "chose (quicker; the selection is the slow part)")
    parser.add_argument("--no-ablation", action="store_true", help="skip the held-out ablation")
    parser.add_argument("--no-cross", action="store_true", help="fit without the cross reader's second stage")
    parser.add_argument("--max-reads", type=int, default=LATENCY_READS, choices=range(1, MAX_TOP + 1),
                        help=f"read at most this many sentences with the cross reader (default {LATENCY_READS}, what "
                             f"fits the latency goal: scripts/cross_stage.py); the number is chosen out of fold up "
                             f"to it")
    parser.add_argument("--more-fraction", type=float, default=0.4, metavar="F",
                        help="let at most this share of training questions (the least sure after the first reads) "
                             "read further, up to 5 (default 0.4: the p50 answer still reads only the first; 0 for "
                             "never); the share and the number read are chosen out of fold")
    args = parser.parse_args(argv)
    import squad_reader_data as sd

    index, encoder = sd.open_index()
    rows = sd.questions_with_offsets()
    vectors = {}
    for split in ("train", "heldout"):
        vectors.update(sd.squad_question_vectors(split, encoder))
    index.retriever.encoder = sd.CachedEncoder(encoder, vectors)
    train_rows = [r for r in rows if not r["held_out"]]
    held_rows = [r for r in rows if r["held_out"]]
    titles = sorted({r["title"] for r in rows})
    report = {"cv": {}, "ablation": {}, "heldout": {}, "decline": {}}
    # Unanswerable questions from the training articles (SQuAD 2.0 style), for the decline rule only.
    contexts = {d.doc_id: index.document_text(d.doc_id) for d in index.documents}
    import random

    shuffled = list(train_rows)
    random.Random(3).shuffle(shuffled)
    train_unanswerable = sd.unanswerable(shuffled[:UNANSWERABLE], contexts, seed=3)
    new = sorted({r["question"] for r in train_unanswerable} - set(vectors))
    vectors |= dict(zip(new, sd.embed(new, "queries", encoder)))
    sets = {}
    decline_models = {}
    cross_sets = {}
    readers = None if args.no_cross else fold_readers()
    if readers is None and not args.no_cross:
        raise SystemExit("the cross reader's fold models are missing: run scripts/train_cross_reader.py first "
                         "(or pass --no-cross)")
    for set_name, mode in (("dense", "hybrid"), ("lexical", "lexical")):
        train = expand(sd.cached_extract(index, train_rows, mode, "train"))
        held = expand(sd.cached_extract(index, held_rows, mode, "heldout"))
        groups = np.asarray([titles.index(r["title"]) for r in train_rows])
        unans = expand(sd.cached_extract(index, train_unanswerable, mode, "train-unanswerable"))
        unans_groups = np.asarray([titles.index(r["title"]) for r in train_unanswerable])
        # The two features that replaced rules written for one seed question each are left out (issue 12).
        names = [f for f in MODEL_FEATURES if (set_name == "dense" or base_feature(f) not in DENSE_FEATURES)
                 and base_feature(f) not in SEED_SPECIFIC]
        col = {f: MODEL_FEATURES.index(f) for f in names}
        bases = list(dict.fromkeys(base_feature(f) for f in names))
        base = top1(train, oof_scores(train, [col[f] for f in names], groups))
        drops = {}
        previous = None
        if args.keep_features and Path(args.out).is_file():
            entry = json.loads(Path(args.out).read_text())["sets"][set_name]
            previous = entry.get("logistic_features", entry["features"])
        for f in bases if previous is None else ():  # a feature and its gap column go together
            kept = [col[g] for g in names if base_feature(g) != f]
            drops[f] = top1(train, oof_scores(train, kept, groups)) - base
            print(f"{set_name}: cv without {f:15} {drops[f]:+.4f}", flush=True)
        # Backward: try leaving out, one at a time and from the least useful, each feature whose own removal did
        # not lower out-of-fold accuracy; a removal stays when accuracy does not drop with it.
        removed: list[str] = []
        cv_chosen = base
        for f in sorted((f for f in bases if drops.get(f, -1) >= 0), key=lambda f: -drops[f]):
            kept = [col[g] for g in names if base_feature(g) not in removed + [f]]
            value = top1(train, oof_scores(train, kept, groups))
            if value >= cv_chosen:
                removed.append(f)
                cv_chosen = value
            print(f"{set_name}: leaving out {f}: {value:.4f} ({'out' if f in removed else 'kept'})", flush=True)
        chosen = [f for f in names if base_feature(f) not in removed]
        if previous is not None:
            chosen = [f for f in names if f in previous]
        logistic_features = list(chosen)
        # The kind of model: logistic on the features chosen above, or trees on all of them (they choose their own
        # splits), whichever has the better out-of-fold top-1 accuracy.
        cv_kinds = {"logistic": top1(train, oof_scores(train, [col[f] for f in chosen], groups)),
                    "hgb": top1(train, oof_scores(train, [col[f] for f in names], groups, kind="hgb"))}
        kind = max(cv_kinds, key=cv_kinds.get)
        print(f"{set_name}: cv top-1 by kind {cv_kinds}: {kind}", flush=True)
        if kind == "hgb":
            chosen = list(names)
        scores, u_scores = oof_scores(train, [col[f] for f in chosen], groups, unans, unans_groups, kind=kind)
        cv_chosen = top1(train, scores)
        tops = top_of(train["q"], scores)
        right = contained_top(index, train, train_rows, tops)
        a, b = platt(scores[tops], margins(train["q"], scores, tops), right)
        conf_a = apply_platt(a, b, scores[tops], margins(train["q"], scores, tops))
        utops = top_of(unans["q"], u_scores)
        conf_u = apply_platt(a, b, u_scores[utops], margins(unans["q"], u_scores, utops))
        platt_threshold, platt_behaviour = choose_decline(conf_a, right, conf_u)
        xa = decline_rows(index, train, train_rows, scores, tops)
        xu = decline_rows(index, unans, train_unanswerable, u_scores, utops)
        dentry, threshold, behaviour, dprob = fit_decline(
            xa, right, xu, groups[train["q"][tops]], unans_groups[unans["q"][utops]])
        from rag.reader_model import DECLINE_FEATURES

        decline_models[set_name] = {"features": list(DECLINE_FEATURES), **dentry}
        if readers is not None:
            cross_sets[set_name] = fit_cross(index, train, train_rows, scores, unans, train_unanswerable, u_scores,
                                             groups, unans_groups, readers, mode, report,
                                             args.max_reads, args.more_fraction)
        report["decline"][set_name] = {"threshold": threshold, "train_oof_correct_behaviour": behaviour,
                                       "platt_only_threshold": platt_threshold,
                                       "platt_only_train_oof_correct_behaviour": platt_behaviour,
                                       "train_unanswerable": len(utops),
                                       "train_oof_ece_mix": ece(dprob, np.concatenate([right, np.zeros(len(xu))]))}
        print(f"{set_name}: decline threshold {threshold:.3f}, out-of-fold correct behaviour on training "
              f"articles {behaviour:.3f} (top-score confidence alone: {platt_behaviour:.3f})", flush=True)
        report["cv"][set_name] = {"all_features": base, "chosen": cv_chosen, "by_kind": cv_kinds, "kind": kind,
                                  "drop_one": drops, "chosen_features": chosen,
                                  "cv_ece": ece(apply_platt(a, b, scores[tops], margins(train["q"], scores, tops)),
                                                right)}
        predict, entry = fit_kind(kind, train["x"][:, [col[f] for f in chosen]], train["y"])
        sets[set_name] = {"features": chosen, **entry, "platt": a, "platt_intercept": b, "mode_fitted": mode,
                          "logistic_features": logistic_features}
        # Held-out: reported, never used to choose.
        hs = predict(held["x"][:, [col[f] for f in chosen]])
        htops = top_of(held["q"], hs)
        hright = contained_top(index, held, held_rows, htops)
        prob = apply_platt(a, b, hs[htops], margins(held["q"], hs, htops))
        report["heldout"][set_name] = {"questions": len(held_rows), "top_sentence_label": float(held["y"][htops].mean()),
                                       "top_sentence_containment_of_retrieved": float(hright.mean()),
                                       "ece": ece(prob, hright), "mean_confidence": float(prob.mean())}
        if set_name in cross_sets:
            report["heldout"][set_name]["with_cross_reader"] = heldout_cross(
                index, held, held_rows, hs, cross_sets[set_name], mode)
            print(f"{set_name}: held-out with the cross reader {report['heldout'][set_name]['with_cross_reader']}",
                  flush=True)
        ablation = {}
        chosen_bases = list(dict.fromkeys(base_feature(f) for f in chosen))
        for f in [] if args.no_ablation else chosen_bases + [g for g in bases if g not in chosen_bases]:
            group = [g for g in names if base_feature(g) == f]
            kept = ([col[g] for g in chosen if base_feature(g) != f] if f in chosen_bases
                    else [col[g] for g in chosen + group])
            s = fit_kind(kind, train["x"][:, kept], train["y"])[0](held["x"][:, kept])
            t = top_of(held["q"], s)
            ablation[("without " if f in chosen_bases else "with ") + f] = float(
                contained_top(index, held, held_rows, t).mean() - hright.mean())
        report["ablation"][set_name] = ablation
        print(json.dumps({k: report[k][set_name] for k in ("cv", "heldout", "ablation")}, indent=1), flush=True)
    span_models = train_spans(index, train_rows, held_rows, titles, report)
    decline = {"lexical": report["decline"]["lexical"]["threshold"],
               "hybrid": report["decline"]["dense"]["threshold"],
               # dense mode is not fitted separately: it uses the dense feature set and hybrid's threshold
               "dense": report["decline"]["dense"]["threshold"]}
    cross = None
    if cross_sets:
        from rag.cross_reader import adapters_version

        for v in cross_sets.values():
            for key in ("train_x", "train_y", "train_x_more", "train_y_more"):
                v.pop(key, None)
        top = {k: v["top"] for k, v in cross_sets.items()}
        more = {k: v["more"] for k, v in cross_sets.items() if v["more"] is not None}
        cross = {"adapters": adapters_version(), "top": top,
                 **({"more": more, "stage2_more": {k: cross_sets[k]["stage2_more"] for k in more}} if more else {}),
                 "stage2": {k: v["stage2"] for k, v in cross_sets.items()},
                 "decline_model": {k: v["decline_model"] for k, v in cross_sets.items()},
                 "decline": {"lexical": cross_sets["lexical"]["threshold"], "hybrid": cross_sets["dense"]["threshold"],
                             "dense": cross_sets["dense"]["threshold"]}}
    body = {"sets": sets, "span_models": span_models, "cross": cross, "decline": decline, "decline_model": decline_models, "trained_on": "SQuAD v1.1 dev, 20 training articles (rag.squad.is_held_out false)",
            "label": "candidate sentence contains a gold answer's characters (answer_start)",
            "model": "sentence scorer per feature set: its kind (hgb: gradient-boosted trees; logistic: logistic "
                     "regression on standardised features); the cross reader's second stage: logistic regression; the "
                     "decline models: each its recorded kind, chosen out of fold; the confidence is the decline "
                     "model's probability"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    data = {"version": f"r2-{digest}", **body}
    Path(args.out).write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} (version {data['version']})")
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
