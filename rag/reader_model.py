"""The learned sentence scorer: features of each candidate sentence and a logistic model over them.

`sentence_features` turns a question and its candidate sentences into one row of numbers per candidate
(coverage of the question's terms, answer type, novelty, retrieval rank and scores, position in the passage,
dense similarity when a query vector exists, ...). `ReaderModel` holds weights fitted on SQuAD training articles
by `scripts/train_reader.py` and shipped as `reader_weights.json` (plain JSON, versioned; never pickled): one
weight set per feature set ("dense" when the question was embedded, "lexical" when not), so a BM25-only index is
scored by weights fitted without the dense features rather than with them set to zero. A second, one-feature
logistic map (Platt scaling, fitted on out-of-fold scores) turns the best candidate's score into the probability
that its sentence holds the answer: that probability is the reader's confidence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .second_stage import STAGE2_FEATURES
from .trees import Scorer
from .scoring import (
    _CAPITALISED,
    _DATE,
    _WORDS,
    Candidate,
    _type_match,
    _word_match,
    answer_noun,
    contrasted_names,
    question_type,
)

WEIGHTS_FILE = Path(__file__).with_name("reader_weights.json")

# Every feature the code can compute; the weights file names the ones each feature set uses, in order.
ALL_FEATURES = (
    "coverage", "coverage_own", "coverage_gap", "coverage_prev", "type", "type_number", "type_date", "type_name",
    "novelty", "rank", "bm25_rel", "position", "first", "length", "bigrams", "capitals_new", "numbers_new",
    "answer_noun", "contrast", "dense_passage", "similarity", "similarity_gap", "similarity_rank",
)
DENSE_FEATURES = ("dense_passage", "similarity", "similarity_gap", "similarity_rank")
# Each feature also relative to the question's best candidate ("<name>_gap" = value - max over candidates), so a
# linear model can compare candidates of one question rather than questions.
QUESTION_LEVEL = ("coverage_gap", "similarity_gap", "similarity_rank")
GAP_FEATURES = tuple(f"{f}_gap" for f in ALL_FEATURES if f not in QUESTION_LEVEL and f"{f}_gap" not in ALL_FEATURES)
MODEL_FEATURES = ALL_FEATURES + GAP_FEATURES


def base_feature(name: str) -> str:
    return name[:-4] if name in GAP_FEATURES else name


def with_gaps(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(cols)
    for name in GAP_FEATURES:
        v = cols[name[:-4]]
        out[name] = v - v.max() if len(v) else v
    return out


def _bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:]))


def sentence_features(
    question: str,
    candidates: Sequence[Candidate],
    analyze: Callable[[list[str]], list[list[str]]],
    idf: Callable[[str], float],
    *,
    positions: Sequence[int],
    bm25: Sequence[float],
    dense_passage: Sequence[float] | None = None,
    similarities: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Feature columns (name -> one value per candidate).

    `positions`: each sentence's index in its passage; `bm25`: its passage's BM25 score; `dense_passage` and
    `similarities`: its passage's and its own cosine with the question (None without a query vector).
    """
    n = len(candidates)
    # One call of the analyser for every word of the question and the candidates (it is the costly part).
    vocabulary = sorted({w.lower() for text in [question] + [c.text for c in candidates]
                         + [c.previous_text for c in candidates] for w in _WORDS.findall(text)})
    stem_of = dict(zip(vocabulary, analyze(vocabulary))) if vocabulary else {}

    def content_words(text: str) -> dict[str, str]:
        words = (w.lower() for w in _WORDS.findall(text))
        return {w: stem_of[w][0] for w in words if stem_of.get(w)}

    question_words = content_words(question)
    weights = {word: idf(stem) for word, stem in question_words.items()}
    total = sum(weights.values()) or 1.0
    kind = question_type(question)
    all_question_words = {w.lower() for w in _WORDS.findall(question)}
    question_stems = set(question_words.values())
    question_seq = [w for w in (x.lower() for x in _WORDS.findall(question)) if w in question_words]
    q_bigrams = _bigrams([question_words[w] for w in question_seq])
    noun = answer_noun(question)
    noun = noun.lower() if noun else None
    contrasted = {w for name in contrasted_names(question) for w in content_words(name)}
    cols = {name: np.zeros(n, dtype=np.float64) for name in ALL_FEATURES}
    best_bm25 = max(bm25) if len(bm25) and max(bm25) > 0 else 1.0
    matched: dict[str, tuple[dict[str, str], dict[str, float]]] = {}  # a sentence is often the next one's previous

    def words_and_matches(text: str) -> tuple[dict[str, str], dict[str, float]]:
        if text not in matched:
            words = content_words(text)
            matched[text] = words, {q: _word_match(q, question_words[q], words) for q in weights}
        return matched[text]

    for i, candidate in enumerate(candidates):
        own, own_match = words_and_matches(candidate.text)
        before_match = words_and_matches(candidate.previous_text)[1] if candidate.previous_text else {}
        own_cov = prev_cov = mixed = 0.0
        for q, w in weights.items():
            a, b = own_match[q], before_match.get(q, 0.0)
            own_cov += w * a
            prev_cov += w * b
            mixed += w * max(a, 0.5 * b)
        cols["coverage"][i] = mixed / total
        cols["coverage_own"][i] = own_cov / total
        cols["coverage_prev"][i] = prev_cov / total
        type_score = _type_match(kind, candidate.text, all_question_words)
        cols["type"][i] = type_score
        cols["type_number"][i] = type_score if kind == "number" else 0.0
        cols["type_date"][i] = type_score if kind == "date" else 0.0
        cols["type_name"][i] = type_score if kind == "name" else 0.0
        cols["novelty"][i] = min(len(set(own.values()) - question_stems), 3) / 3
        cols["rank"][i] = 1.0 / (1 + candidate.hit_rank)
        cols["bm25_rel"][i] = bm25[i] / best_bm25
        cols["position"][i] = math.log1p(positions[i])
        cols["first"][i] = float(positions[i] == 0)
        cols["length"][i] = math.log1p(len(candidate.text))
        if q_bigrams:
            words = [w.lower() for w in _WORDS.findall(candidate.text)]
            stems = [own[w] for w in words if w in own]
            cols["bigrams"][i] = len(q_bigrams & _bigrams(stems)) / len(q_bigrams)
        capitals = {m.group(1).lower() for m in _CAPITALISED.finditer(candidate.text) if m.start() > 0}
        cols["capitals_new"][i] = min(len(capitals - all_question_words), 3) / 3
        numbers = set(re.findall(r"\d[\d,.]*", candidate.text)) - set(re.findall(r"\d[\d,.]*", question))
        cols["numbers_new"][i] = float(bool(numbers) or bool(_DATE.search(candidate.text) and kind == "date"))
        cols["answer_noun"][i] = float(bool(noun) and noun in own)
        cols["contrast"][i] = float(bool(contrasted & set(own)))
    coverage = cols["coverage"]
    cols["coverage_gap"] = coverage - coverage.max() if n else coverage
    if similarities is not None:
        sims = np.asarray(similarities, dtype=np.float64)
        cols["similarity"] = sims
        cols["similarity_gap"] = sims - sims.max() if n else sims
        order = np.argsort(-sims, kind="stable")
        ranks = np.empty(n)
        ranks[order] = np.arange(n)
        cols["similarity_rank"] = 1.0 / (1 + ranks)
        cols["dense_passage"] = np.asarray(dense_passage, dtype=np.float64)
    return with_gaps(cols)


# No negation feature: the made-up unanswerable questions include negated ones, so "the question says not"
# would be learned as "unanswerable" (an artefact of how they were made, wrong for real questions). No raw BM25
# either: its scale grows with the collection's size (idf), so weights fitted on 2,067 SQuAD paragraphs would
# decline far more on a 27-passage index; what it says relative to the other hits is in the sentence scores.
DECLINE_FEATURES = ("top_logit", "margin", "coverage", "coverage_own", "similarity", "dense_passage",
                    "names_missing", "terms_missing")
_NEGATION = re.compile(r"\b(not|never|no|n't)\b", re.IGNORECASE)


def decline_features(question: str, passage_text: str, best: dict[str, float], logits: np.ndarray,
                     analyze, idf) -> dict[str, float]:
    """What tells an answerable question from one the passages do not answer, for the best candidate:
    its score and lead over the next, its coverage and similarity, and what of the question the passage lacks
    (the question's names and numbers; its idf-weighted terms)."""
    ordered = np.sort(logits)
    margin = float(ordered[-1] - ordered[-2]) if len(ordered) > 1 else 5.0
    lower = passage_text.lower()
    names = [m.group(1) for m in _CAPITALISED.finditer(question) if m.start() > 0]
    names += re.findall(r"\d[\d,.]*\d|\d", question)
    missing_names = sum(n.lower() not in lower for n in names) / len(names) if names else 0.0
    terms = set(analyze([question])[0])
    present = set(analyze([passage_text])[0]) if terms else set()
    weights = {t: idf(t) for t in terms}
    total = sum(weights.values()) or 1.0
    terms_missing = sum(w for t, w in weights.items() if t not in present) / total
    return {"top_logit": float(ordered[-1]), "margin": min(margin, 5.0), "coverage": best["coverage"],
            "coverage_own": best["coverage_own"], "similarity": best.get("similarity", 0.0),
            "dense_passage": best.get("dense_passage", 0.0),
            "names_missing": missing_names, "terms_missing": terms_missing,
            "negation": float(bool(_NEGATION.search(question)))}


# The decline model with the cross reader: its features and the second stage's verdict on the chosen sentence.
CROSS_DECLINE_FEATURES = DECLINE_FEATURES + ("cross", "stage2", "stage2_margin")


def cross_decline_features(base: dict[str, float], cross: float, stage2: np.ndarray, chosen: int) -> dict[str, float]:
    """The decline features with the chosen sentence's cross-reader score and second-stage logit and lead."""
    others = np.delete(stage2, chosen)
    margin = float(stage2[chosen] - others.max()) if len(others) else 5.0
    return dict(base, cross=float(cross), stage2=float(stage2[chosen]), stage2_margin=min(margin, 5.0))


class ReaderModel:
    """Logistic weights per feature set, from a JSON file written by scripts/train_reader.py."""

    def __init__(self, data: dict):
        self.data = data
        self.version = str(data["version"])
        self.sets = data["sets"]
        self._scorers: dict[str, Scorer] = {}

    def _scorer(self, key: str, entry: dict) -> Scorer:
        """The model of `entry`, built once (trees become an ONNX Runtime session on first use)."""
        if key not in self._scorers:
            self._scorers[key] = Scorer(entry)
        return self._scorers[key]

    @classmethod
    def load(cls, path: str | Path = WEIGHTS_FILE) -> ReaderModel:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def feature_set(self, dense: bool) -> str:
        return "dense" if dense and "dense" in self.sets else "lexical"

    def scores(self, cols: dict[str, np.ndarray], dense: bool) -> np.ndarray:
        """Logits of each candidate holding the answer."""
        key = self.feature_set(dense)
        scorer = self._scorer(key, self.sets[key])
        return scorer.logits(np.column_stack([cols[name] for name in scorer.features]))

    def span_scorer(self, entities: bool) -> Scorer | None:
        """The short-answer model: the one fitted with entity columns when the store tagged entities, else the
        one fitted without them; None when the weights have no short-answer model."""
        models = self.data.get("span_models") or {}
        key = "entities" if entities and "entities" in models else "plain"
        if key not in models:
            return None
        return self._scorer(f"span-{key}", models[key])

    @property
    def cross_version(self) -> str | None:
        """The version of the cross reader's adapters the second stage was fitted with (None: no second stage)."""
        return (self.data.get("cross") or {}).get("adapters")

    def cross_top(self, dense: bool) -> int:
        """How many of the first stage's best candidates the cross reader reads."""
        return int(self.data["cross"]["top"][self.feature_set(dense)])

    def cross_more(self, dense: bool) -> dict | None:
        """When to read further: {"below": b, "reads": n} means that when the second stage's best logit over the
        first reads is below b, the cross reader reads the first stage's best n in all and the second stage fitted
        for n reads rescores them. None: never (weights without it)."""
        return ((self.data.get("cross") or {}).get("more") or {}).get(self.feature_set(dense))

    def stage2_scores(self, x: np.ndarray, dense: bool, more: bool = False) -> np.ndarray:
        """Second-stage logits of the candidates read, from their stage2_features rows (the model uses the columns
        its weights name; `more`: the model fitted for reading further)."""
        key = self.feature_set(dense)
        table = "stage2_more" if more else "stage2"
        scorer = self._scorer(f"{table}-{key}", self.data["cross"][table][key])
        return scorer.logits(x[:, [STAGE2_FEATURES.index(f) for f in scorer.features]])

    def decline_probability(self, features: dict[str, float], dense: bool, cross: bool = False) -> float | None:
        """P(the best sentence answers the question) from the decline model, when the weights have one (with
        `cross`, the one fitted with the cross reader's features)."""
        models = (self.data.get("cross") or {}).get("decline_model") if cross else self.data.get("decline_model")
        entry = (models or {}).get(self.feature_set(dense))
        if entry is None:
            return None
        scorer = self._scorer(f"decline-{'cross-' if cross else ''}{self.feature_set(dense)}", entry)
        z = float(scorer.logits(np.array([[features[name] for name in scorer.features]]))[0])
        return 1.0 / (1.0 + math.exp(-z))

    def confidence(self, logits: np.ndarray, dense: bool) -> float:
        """Calibrated probability that the best candidate's sentence holds the answer."""
        entry = self.sets[self.feature_set(dense)]
        a, b = entry["platt"]
        top = float(np.max(logits))
        others = np.sort(logits)[:-1]
        margin = top - float(others[-1]) if len(others) else entry.get("margin_default", 5.0)
        z = a * top + b * min(margin, 5.0) + entry["platt_intercept"]
        return 1.0 / (1.0 + math.exp(-z))


@lru_cache(maxsize=4)
def default_model(path: str = str(WEIGHTS_FILE)) -> ReaderModel:
    return ReaderModel.load(path)
