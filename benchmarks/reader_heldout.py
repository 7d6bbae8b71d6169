"""The reader on held-out SQuAD articles, answerable and unanswerable mixed: answering, declining, calibration.

    .venv/bin/python benchmarks/reader_heldout.py [--limit 1500] [--mode hybrid] [--collection full|article]
        [--reader all|learned|first-stage|rules] [--plot FILE.png] [--json OUT]

Open retrieval over all 2,067 SQuAD v1.1 dev paragraphs (whole paragraphs, k=5, the index of
scripts/squad_reader_data.py). From the 28 held-out articles it takes `--limit` answerable questions and makes
as many unanswerable ones from other held-out questions the SQuAD 2.0 way (`squad_reader_data.unanswerable`: a
name, number or year swapped for one from elsewhere in the article that the paragraph does not contain; a
negation added or removed; or the question asked with its gold paragraph taken out of what the reader sees).
Nothing here was used to fit or choose anything: the weights and the decline thresholds come from the 20
training articles (scripts/train_reader.py).

The readers answer every question through `Index.answer` in the same run, each at its own threshold (the
learned reader's shipped threshold for the mode, with or without the cross reader's second stage; the earlier
rules reader's default 0.40). `--collection article` asks each question of an index of its own article alone. Reported: answerable
answered correctly (the quote contains a gold answer), unanswerable declined, correct behaviour over all
(always declining scores the unanswerable share, about 0.5), containment never declining, short-answer EM/F1,
and the expected calibration error of the confidence on the answerable questions.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


class _Without:
    """The retriever with the gold paragraph of "removed" questions taken out of the results."""

    def __init__(self, retriever, removed: dict[str, str]):
        self._retriever = retriever
        self.removed = removed

    def retrieve(self, question, k, mode):
        drop = self.removed.get(question)
        hits, qv = self._retriever.retrieve(question, k + (10 if drop else 0), mode)
        if drop:
            hits = [h for h in hits if h.doc_id != drop][:k]
        return hits, qv

    def __getattr__(self, name):
        return getattr(self._retriever, name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1500, help="answerable questions (and as many unanswerable)")
    parser.add_argument("--mode", default="hybrid", choices=["lexical", "dense", "hybrid"])
    parser.add_argument("--reader", default="all", choices=["all", "both", "learned", "first-stage", "rules"],
                        help="learned: the shipped reader (with the cross reader's second stage); first-stage: "
                             "the learned reader without it (the previous version); both: learned and rules")
    parser.add_argument("--collection", default="full", choices=["full", "article"],
                        help="full: every question asked of all 2,067 paragraphs; article: each asked of an index "
                             "of its own article's paragraphs alone (a small collection, about 75 paragraphs)")
    parser.add_argument("--plot", help="draw the learned reader's trade-off and reliability diagram here (PNG)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    if not (ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json").is_file():
        print("SQuAD v1.1 dev not found; skipping")
        return 0
    import numpy as np

    import squad_reader_data as sd
    from rag.evaluation import Question, evaluate
    from rag.evaluation.calibration import _point
    from rag.evaluation.plots import plot, reliability

    index, encoder = sd.open_index()
    rows = [r for r in sd.questions_with_offsets() if r["held_out"]]
    rng = random.Random(12)
    rng.shuffle(rows)
    answerable = rows[: args.limit]
    contexts = {d.doc_id: index.document_text(d.doc_id) for d in index.documents}
    made = sd.unanswerable(rows[args.limit : 2 * args.limit], contexts, seed=12)
    vectors = sd.squad_question_vectors("heldout", encoder)
    new = sorted({r["question"] for r in made} - set(vectors))
    if new and args.mode != "lexical":
        vectors |= dict(zip(new, sd.embed(new, "queries", encoder)))
    removed = {r["question"]: r["doc_id"] for r in made if r["kind"] == "removed"}
    # A question text that is both answerable and "removed" would be ambiguous; keep it answerable.
    for r in answerable:
        removed.pop(r["question"], None)
    questions = [Question(id=r["id"], question=r["question"], answers=tuple(a for a, _ in r["answers"]),
                          doc_ids=(r["doc_id"],)) for r in answerable]
    questions += [Question(id=r["id"], question=r["question"], answers=()) for r in made]
    # Where each question is asked: the index of all paragraphs, or (--collection article) its article's alone.
    asked = [(index, questions)]
    if args.collection == "article":
        title_of = {r["id"]: r["title"] for r in answerable + made}
        asked = []
        for title in sorted(set(title_of.values())):
            doc_ids = list(dict.fromkeys(d.doc_id for d in index.documents
                                         if d.source.startswith(f"squad-dev/{title}/")))
            asked.append((sd.article_index(index, title, doc_ids), [q for q in questions if title_of[q.id] == title]))
    for idx, _ in asked:
        idx.retriever.encoder = sd.CachedEncoder(encoder, vectors)
        idx.retriever = _Without(idx.retriever, removed)
    kinds = {}
    for r in made:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(answerable)} answerable and {len(made)} unanswerable held-out questions ({kinds}); "
          f"mode {args.mode}, k=5, {'each asked of its own article' if args.collection == 'article' else 'all paragraphs'}")
    figures = {}
    readers = {"all": ["learned", "first-stage", "rules"], "both": ["learned", "rules"]}.get(args.reader, [args.reader])
    for scorer in readers:
        results, latencies = [], []
        for idx, members in asked:
            idx.reader.scorer = "rules" if scorer == "rules" else "learned"
            idx.reader.use_cross = scorer == "learned"
            report = evaluate(members, idx, mode=args.mode, k=5)
            results += report.modes[args.mode].results
            latencies.append((report.modes[args.mode].latency["p50_s"], len(members)))
            threshold = idx.threshold_for(args.mode)
        order = {q.id: n for n, q in enumerate(questions)}
        results.sort(key=lambda r: order[r.id])
        mode = argparse.Namespace(results=results, answers={"would_be_containment": float(np.mean(
            [r.would_be_contained for r in results if r.answerable]))},
            latency={"p50_s": sorted(p for p, n in latencies for _ in range(n))[sum(n for _, n in latencies) // 2]})
        point = _point(mode.results, threshold)
        n_a, n_u = len(answerable), len(made)
        _, ece = reliability(mode.results)
        conf = np.array([r.confidence for r in mode.results])
        right = np.array([r.answerable and r.would_be_contained for r in mode.results], dtype=float)
        ece_mix = _ece(conf, right)
        by_kind = {}
        for r, q in zip(mode.results, questions):
            if not r.answerable:
                kind = r.id.rsplit("-", 1)[1]
                by_kind.setdefault(kind, []).append(r.declined)
        figures[scorer] = {
            "threshold": threshold,
            "answerable_answered_correctly": point.answered_correctly / n_a,
            "unanswerable_declined": point.unanswerable_declined / n_u,
            "correct_behaviour": point.correct_behaviour,
            "containment_never_declining": mode.answers["would_be_containment"],
            "span_em_never_declining": float(np.mean([r.would_be_span is not None and
                                                      _em(r.would_be_span, r.answers) for r in mode.results
                                                      if r.answerable])),
            "span_f1_never_declining": float(np.mean([_f1(r.would_be_span, r.answers) for r in mode.results
                                                      if r.answerable])),
            "ece_answerable": ece,
            "ece_mix": ece_mix,
            "declined_by_kind": {k: float(np.mean(v)) for k, v in by_kind.items()},
            "answer_p50_ms": mode.latency["p50_s"] * 1000,
        }
        print(f"{scorer:11} threshold {threshold:.3f}: answerable answered correctly "
              f"{figures[scorer]['answerable_answered_correctly']:.3f}, unanswerable declined "
              f"{figures[scorer]['unanswerable_declined']:.3f}, correct behaviour {point.correct_behaviour:.3f}; "
              f"never declining: containment {figures[scorer]['containment_never_declining']:.3f}, "
              f"span EM {figures[scorer]['span_em_never_declining']:.3f} F1 "
              f"{figures[scorer]['span_f1_never_declining']:.3f}; ECE on the mix {ece_mix:.3f}, on answerable "
              f"{ece:.3f}; declined by kind "
              + ", ".join(f"{k} {v:.2f}" for k, v in figures[scorer]["declined_by_kind"].items()), flush=True)
        if args.plot and scorer == "learned":
            plot(mode.results, threshold, args.plot,
                 title=f"held-out SQuAD, {n_a} answerable + {n_u} unanswerable, {args.mode}, learned reader")
            print(f"drew {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


def _ece(conf, right, bins=10):
    import numpy as np

    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if inside.any():
            total += inside.sum() / len(conf) * abs(conf[inside].mean() - right[inside].mean())
    return float(total)


def _em(span, answers):
    from rag.evaluation.metrics import exact_match

    return exact_match(span, answers)


def _f1(span, answers):
    from rag.evaluation.metrics import token_f1

    return token_f1(span, answers)


if __name__ == "__main__":
    sys.exit(main())
