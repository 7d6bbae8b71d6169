"""Sentence scores for the reader: how well each candidate sentence answers a question.

Each candidate sentence is scored on
  - coverage: the share of the question's terms (weighted by idf) that the sentence uses; a term met only in
    the sentence before it counts half, because answers often say "he" where the question names the person;
  - answer type: a "when" question wants a date, "how many" a number, "who"/"where"/"which" a name that the
    question does not already contain;
  - novelty: a sentence that only repeats the question answers nothing;
  - similarity: with a semantic model, the cosine between question and sentence embeddings;
  - the passage's retrieval rank.
The score is the confidence, in [0, 1]. This is the earlier, hand-set reader (`Config.reader = "rules"`), kept
as the baseline the learned reader (`reader_model.py`) is measured against: its weights (0.55 / 0.2 /
0.15 / 0.1 and 0.6 / 0.4) have no measured origin, which is why the default reader is learned. Two rules it had,
written for single seed questions (the answer noun's weight x0.3 and a "before/after X" penalty x0.5), are gone:
on SQuAD they were neutral or harmful. `answer_noun` and `contrasted_names` remain as the learned models' inputs
(the short-answer model uses the answer noun; the learned sentence scorer leaves both out as seed-specific).
`trim_to_clause` narrows a sentence to the clause that carries the
answer. This module only scores text it is given: gathering candidates and declining is `reader.py`, and it
neither retrieves nor verifies citations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|several|many|few)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|"
    r"november|december|spring|summer|autumn|fall|winter|yesterday|today|week|month|year|century|decade)\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<![\w’'])([A-Z][\w’'-]*)")
_WORDS = re.compile(r"\w+")

QUESTION_TYPES = (
    ("number", re.compile(r"\bhow (many|much|long|old|far)\b|\bwhat (number|percentage|amount)\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\bwhat (year|date|month|day|time)\b|\bwhich (year|month|day)\b", re.I)),
    ("name", re.compile(r"\bwho(m|se)?\b|\bwhere\b|\bwhich\b|\bwhat (is|was) the name\b", re.I)),
)


_ANSWER_NOUN = re.compile(r"\b(?:which|what)\s+(\w+)", re.IGNORECASE)


def answer_noun(question: str) -> str | None:
    """The noun that names the kind of answer: "province" in "Which province did he govern?"."""
    match = _ANSWER_NOUN.search(question)
    if not match or match.group(1).lower() in ("is", "was", "are", "were", "did", "does", "do", "has", "had"):
        return None
    return match.group(1)


_CONTRAST = re.compile(
    r"\b(?:before|after|prior to|other than|besides|apart from|except|instead of)\s+((?:[A-Z][\w’'-]*\s?)+)"
)


def contrasted_names(question: str) -> list[str]:
    """Names the answer must differ from: "Balkh" in "Which province did he govern before Balkh?"."""
    return [m.group(1).strip() for m in _CONTRAST.finditer(question)]


def question_type(question: str) -> str | None:
    for name, pattern in QUESTION_TYPES:
        if pattern.search(question):
            return name
    return None


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage: `doc_text[start:end]`, with the sentence before it for context."""

    hit_rank: int
    passage_id: int
    doc_index: int
    start: int
    end: int
    text: str
    previous_text: str
    sentence_id: int = -1  # the store's sentence row, for vectors stored at indexing


@dataclass(frozen=True)
class Reading:
    candidate: Candidate
    confidence: float
    start: int
    end: int
    features: dict[str, float]


def _word_match(word: str, stem: str, words: dict[str, str]) -> float:
    """How well a question word (with its stem) is met by a sentence's words (surface form -> stem).

    Stems alone are too coarse for picking a sentence: Snowball makes "government" and "govern" one term but
    leaves "governor" apart. So an inflection of the same word counts fully, a short derivation ("govern" ->
    "governor") almost fully, and a long one that only shares the stem ("government") partly.
    """
    if word in words:
        return 1.0
    best = 0.0
    for other, other_stem in words.items():
        short, long = (word, other) if len(word) <= len(other) else (other, word)
        close = len(long) - len(short) <= 3
        if other_stem == stem:
            best = max(best, 1.0 if close else 0.6)
        elif close and len(short) >= 4 and long.startswith(short):
            best = max(best, 0.8)
    return best


def _type_match(kind: str | None, text: str, question_words: set[str]) -> float:
    if kind == "number":
        return 1.0 if _NUMBER.search(text) else 0.0
    if kind == "date":
        return 1.0 if _DATE.search(text) else 0.0
    if kind == "name":
        for match in _CAPITALISED.finditer(text):
            word = match.group(1)
            if match.start() > 0 and word.lower().strip("’'") not in question_words:
                return 1.0
        return 0.0
    return 0.5


def _content_words(text: str, analyze) -> dict[str, str]:
    """Lower-cased words of the text that the analyser keeps (no stop words), each with its stem."""
    words = [w.lower() for w in _WORDS.findall(text)]
    stems = analyze(words) if words else []
    return {w: s[0] for w, s in zip(words, stems) if s}


def score_candidates(
    question: str,
    candidates: list[Candidate],
    analyze: Callable[[list[str]], list[list[str]]],
    idf: Callable[[str], float],
    similarities: list[float] | None = None,
) -> list[Reading]:
    """Readings of every candidate, best first.

    `analyze` turns texts into index terms (the retriever's analyser); `idf` weighs a term by rarity;
    `similarities` are question-sentence cosines when a semantic model is loaded.
    """
    question_words = _content_words(question, analyze)
    weights = {word: idf(stem) for word, stem in question_words.items()}
    total = sum(weights.values()) or 1.0
    kind = question_type(question)
    all_question_words = {w.lower() for w in _WORDS.findall(question)}
    question_stems = set(question_words.values())
    readings = []
    for i, candidate in enumerate(candidates):
        own = _content_words(candidate.text, analyze)
        before = _content_words(candidate.previous_text, analyze) if candidate.previous_text else {}
        coverage = sum(
            w * max(_word_match(q, question_words[q], own), 0.5 * _word_match(q, question_words[q], before))
            for q, w in weights.items()
        ) / total
        novel_terms = set(own.values()) - question_stems
        novelty = min(len(novel_terms), 3) / 3
        type_score = _type_match(kind, candidate.text, all_question_words)
        prior = 1.0 / (1 + candidate.hit_rank)
        features = {"coverage": coverage, "type": type_score, "novelty": novelty, "rank": prior}
        # Coverage gates the rest: a sentence that shares little with the question cannot score high on
        # answer type or rank alone, which is what lets the reader decline.
        support = 0.55 + 0.2 * type_score + 0.15 * novelty + 0.1 * prior
        relevance = coverage
        if similarities is not None:
            similarity = max(0.0, float(similarities[i]))
            features["similarity"] = similarity
            relevance = 0.6 * coverage + 0.4 * similarity
        confidence = relevance * support
        confidence = min(1.0, max(0.0, confidence))
        readings.append(Reading(candidate, confidence, candidate.start, candidate.end, features))
    readings.sort(key=lambda r: (-r.confidence, r.candidate.hit_rank, r.start))
    return readings


_CLAUSE_BREAK = re.compile(r"[;:]\s+|,\s+(?=(?:and|but|while|whereas|although|who|which|where)\b)")


def trim_to_clause(reading: Reading, question_terms: list[str], analyze) -> tuple[int, int]:
    """Offsets of the clause of the sentence that holds most of the question's terms.

    Only cuts at semicolons, colons and commas before a conjunction or relative pronoun, so every piece is a
    readable clause. Returns the whole sentence when it has one clause or no clause stands out.
    """
    text = reading.candidate.text
    cuts = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(text)] + [len(text)]
    if len(cuts) <= 2:
        return reading.start, reading.end
    pieces = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]
    texts = [text[a:b] for a, b in pieces]
    terms = analyze(texts)
    wanted = set(question_terms)
    counts = [len(wanted & set(t)) for t in terms]
    best = max(range(len(pieces)), key=lambda j: counts[j])
    if counts[best] == 0 or counts.count(counts[best]) > 1:
        return reading.start, reading.end
    a, b = pieces[best]
    piece = texts[best]
    a += len(piece) - len(piece.lstrip())
    b -= len(piece) - len(piece.rstrip(" ,;:"))
    return reading.start + a, reading.start + b
