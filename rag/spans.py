"""Short answers: the span of the chosen sentence that answers the question ("1066", "William the Conqueror").

`span_candidates` lists the word n-grams of a sentence (up to `MAX_WORDS` words) that neither start nor end on
a stop word or punctuation and are not made only of the question's words; `span_features` describes each one
(answer type against the question's, closeness to the question's words in the sentence, capitals, digits,
boundaries at punctuation, ...). A logistic model fitted on SQuAD training articles (scripts/train_reader.py,
weights in reader_weights.json under "span") picks the best. Offsets are the sentence's, so the caller adds the
sentence start to get document offsets. This module neither retrieves nor reads sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .entity_tagger import ENTITY_LABELS, NOUN_CHUNK
from .scoring import _DATE, question_type
from .trees import Scorer

MAX_WORDS = 7
_TOKEN = re.compile(r"\w+(?:[’'.,:/-]\w+)*%?|[^\w\s]")
_NUMBERISH = re.compile(r"^\d|^(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                        r"forty|fifty|hundred|thousand|million|billion|dozen)$", re.I)
_STOP = frozenset("""a an the of in on at by for to from with and or but as is was are were be been being that which
who whom whose this these those it its their his her he she they we you i not no than then so such into onto over
under about after before during while when where what how why also there here has have had do does did can could
will would may might must shall should""".split())
_ARTICLE_LIKE = frozenset(("the", "a", "an"))
_WH = (("who", re.compile(r"\bwho(m|se)?\b", re.I)), ("when", re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b", re.I)),
       ("where", re.compile(r"\bwhere\b", re.I)), ("howmany", re.compile(r"\bhow (many|much)\b", re.I)),
       ("how", re.compile(r"\bhow\b", re.I)), ("why", re.compile(r"\bwhy\b", re.I)),
       ("which", re.compile(r"\bwhich\b", re.I)), ("what", re.compile(r"\bwhat\b", re.I)))
WH_KINDS = tuple(k for k, _ in _WH) + ("other",)

SPAN_FEATURES = (
    "len1", "len2", "len3", "len4", "len5plus", "question_overlap", "capitalised", "all_capitalised", "digit",
    "date", "numberish", "distance", "near", "left_question", "right_question", "after_punct", "before_punct",
    "inside_parens", "has_comma", "first_in_sentence", "last_in_sentence", "type_date", "type_number",
    "type_name", "who_cap", "where_cap", "when_date", "howmany_num", "what_cap", "which_cap", "how_num",
    "after_noun", "before_noun", "prep_before", "cap_run", "cuts_left", "cuts_right", "lower_words", "inner_stop",
    "log_words", "year_exact", "number_unit", "ends_lower_after_cap", "followed_by_verbish",
)


def wh_kind(question: str) -> str:
    for kind, pattern in _WH:
        if pattern.search(question):
            return kind
    return "other"


def tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def span_candidates(sentence: str, question_words: set[str]) -> tuple[list[tuple[str, int, int]], list[tuple[int, int]]]:
    """The sentence's tokens and candidate spans as (first token, last token) inclusive."""
    toks = tokens(sentence)
    spans = []
    for i, (w, _, _) in enumerate(toks):
        if not w[0].isalnum() or w.lower() in _STOP:
            continue
        for j in range(i, min(len(toks), i + MAX_WORDS)):
            last = toks[j][0]
            if not last[0].isalnum():
                if last in ".;:!?":
                    break
                continue
            if last.lower() in _STOP:
                continue
            words = [t[0].lower() for t in toks[i : j + 1] if t[0][0].isalnum()]
            if all(x in question_words or x in _STOP for x in words):
                continue
            spans.append((i, j))
    return toks, spans


def span_features(question: str, toks: list[tuple[str, int, int]], spans: Sequence[tuple[int, int]],
                  question_words: set[str], noun: str | None) -> np.ndarray:
    kind = question_type(question)
    wh = wh_kind(question)
    lower = [t[0].lower() for t in toks]
    in_q = np.array([w in question_words and w not in _STOP for w in lower])
    q_positions = np.flatnonzero(in_q)
    depth = np.zeros(len(toks), dtype=int)
    d = 0
    for n, w in enumerate(lower):
        if w == "(":
            d += 1
        depth[n] = d
        if w == ")":
            d = max(0, d - 1)
    cap = [t[0][0].isupper() for t in toks]
    rows = np.zeros((len(spans), len(SPAN_FEATURES)))
    col = {f: n for n, f in enumerate(SPAN_FEATURES)}
    for r, (i, j) in enumerate(spans):
        words = [t[0] for t in toks[i : j + 1] if t[0][0].isalnum()]
        n = len(words)
        f = rows[r]
        f[col["len1" if n == 1 else "len2" if n == 2 else "len3" if n == 3 else "len4" if n == 4 else "len5plus"]] = 1
        f[col["question_overlap"]] = sum(w.lower() in question_words for w in words) / max(n, 1)
        caps = [w[0].isupper() for w in words]
        f[col["capitalised"]] = float(caps[0]) if caps else 0
        f[col["all_capitalised"]] = float(all(c or w.lower() in _STOP for c, w in zip(caps, words)))
        text = " ".join(words)
        f[col["digit"]] = float(any(ch.isdigit() for ch in text))
        f[col["date"]] = float(bool(_DATE.search(text)))
        f[col["numberish"]] = float(any(_NUMBERISH.search(w) for w in words))
        if len(q_positions):
            dist = min(abs(p - i) if p < i else abs(p - j) for p in q_positions)
            f[col["distance"]] = np.log1p(dist)
            f[col["near"]] = float(dist <= 3)
        else:
            f[col["distance"]] = np.log1p(len(toks))
        f[col["left_question"]] = float(i > 0 and in_q[i - 1])
        f[col["right_question"]] = float(j + 1 < len(toks) and in_q[j + 1])
        f[col["after_punct"]] = float(i == 0 or not toks[i - 1][0][0].isalnum())
        f[col["before_punct"]] = float(j + 1 >= len(toks) or not toks[j + 1][0][0].isalnum())
        f[col["inside_parens"]] = float(depth[i] > 0 and depth[j] > 0)
        f[col["has_comma"]] = float(any(t[0] == "," for t in toks[i : j + 1]))
        f[col["first_in_sentence"]] = float(i == 0)
        f[col["last_in_sentence"]] = float(j + 2 >= len(toks))
        is_cap = caps[0] if caps else False
        f[col["type_date"]] = float(kind == "date" and (f[col["date"]] or f[col["digit"]]))
        f[col["type_number"]] = float(kind == "number" and (f[col["numberish"]] or f[col["digit"]]))
        f[col["type_name"]] = float(kind == "name" and is_cap)
        f[col["who_cap"]] = float(wh == "who" and is_cap)
        f[col["where_cap"]] = float(wh == "where" and is_cap)
        f[col["when_date"]] = float(wh == "when" and (f[col["date"]] or f[col["digit"]]))
        f[col["howmany_num"]] = float(wh == "howmany" and (f[col["numberish"]] or f[col["digit"]]))
        f[col["what_cap"]] = float(wh == "what" and is_cap)
        f[col["which_cap"]] = float(wh == "which" and is_cap)
        f[col["how_num"]] = float(wh == "how" and (f[col["numberish"]] or f[col["digit"]]))
        if noun:
            f[col["after_noun"]] = float(i > 0 and lower[i - 1] == noun)
            f[col["before_noun"]] = float(j + 1 < len(toks) and lower[j + 1].startswith(noun[:5]))
        f[col["prep_before"]] = float(i > 0 and lower[i - 1] in ("in", "on", "at", "by", "from", "to", "of"))
        left_cap = i > 0 and cap[i - 1] and toks[i - 1][0][0].isalnum() and i - 1 > 0
        right_cap = j + 1 < len(toks) and cap[j + 1] and toks[j + 1][0][0].isalnum()
        f[col["cap_run"]] = float(all(cap[i : j + 1]) and not left_cap and not right_cap)
        f[col["cuts_left"]] = float(cap[i] and left_cap)
        f[col["cuts_right"]] = float(cap[j] and right_cap)
        content = [w for w in words if w.lower() not in _STOP]
        f[col["lower_words"]] = sum(w[0].islower() for w in content) / max(len(content), 1)
        f[col["inner_stop"]] = min(sum(w.lower() in _STOP for w in words), 3) / 3
        f[col["log_words"]] = np.log1p(n)
        f[col["year_exact"]] = float(n == 1 and bool(re.fullmatch(r"1\d{3}|20\d\d", words[0])))
        f[col["number_unit"]] = float(n == 2 and bool(_NUMBERISH.search(words[0])) and words[1][0].islower())
        f[col["ends_lower_after_cap"]] = float(cap[i] and not cap[j])
        f[col["followed_by_verbish"]] = float(j + 1 < len(toks) and bool(re.search(r"(ed|ing|s)$", lower[j + 1]))
                                              and lower[j + 1] not in _STOP)
    return rows


# Entity columns (spaCy NER tags stored at indexing): how the span lines up with an entity, that entity's label,
# and the question's wh-word, so a tree model can pair "who" with PERSON and "when" with DATE.
ENTITY_ALIGNMENTS = ("ent_exact", "ent_inside", "ent_covers", "ent_cross", "ent_none")
# How the span lines up with the noun chunks (base noun phrases, from the parser) it overlaps.
CHUNK_FEATURES = ("np_exact", "np_inside", "np_covers", "np_cross")
ENTITY_FEATURES = (ENTITY_ALIGNMENTS + tuple(f"label_{label}" for label in ENTITY_LABELS)
                   + tuple(f"wh_{kind}" for kind in WH_KINDS) + CHUNK_FEATURES)


def _aligned(a: int, b: int, i: int, toks, ea: int, eb: int) -> bool:
    """The tagged span [ea, eb) is the candidate [a, b), or is it with a leading article ("the Normans")."""
    return (ea, eb) == (a, b) or (eb == b and ea < a and i > 0 and toks[i - 1][0].lower() in _ARTICLE_LIKE)


def entity_features(question: str, toks: list[tuple[str, int, int]], spans: Sequence[tuple[int, int]],
                    entities: Sequence[tuple[int, int, str]]) -> np.ndarray:
    """Entity and noun-chunk columns of each span; `entities` are (start, end, label) in the sentence's offsets."""
    col = {f: n for n, f in enumerate(ENTITY_FEATURES)}
    rows = np.zeros((len(spans), len(ENTITY_FEATURES)))
    rows[:, col[f"wh_{wh_kind(question)}"]] = 1
    named = [e for e in entities if e[2] != NOUN_CHUNK]
    chunks = [(ea, eb) for ea, eb, label in entities if label == NOUN_CHUNK]
    for r, (i, j) in enumerate(spans):
        a, b = toks[i][1], toks[j][2]
        kind, label = "ent_none", None
        for ea, eb, entity_label in named:
            if eb <= a or ea >= b:
                continue
            if _aligned(a, b, i, toks, ea, eb):
                kind, label = "ent_exact", entity_label
                break
            if ea <= a and b <= eb:
                kind, label = "ent_inside", entity_label
            elif a <= ea and eb <= b and kind != "ent_inside":
                kind, label = "ent_covers", entity_label
            elif kind == "ent_none":
                kind, label = "ent_cross", entity_label
        rows[r, col[kind]] = 1
        if label is not None:
            rows[r, col[f"label_{label}"]] = 1
        for ca, cb in chunks:
            if cb <= a or ca >= b:
                continue
            if _aligned(a, b, i, toks, ca, cb):
                rows[r, col["np_exact"]] = 1
                break
            rows[r, col["np_inside" if ca <= a and b <= cb else "np_covers" if a <= ca and cb <= b else "np_cross"]] = 1
    return rows


def question_word_set(question: str) -> set[str]:
    return {t[0].lower() for t in tokens(question) if t[0][0].isalnum()}


def span_matrix(question: str, toks: list[tuple[str, int, int]], spans: Sequence[tuple[int, int]],
                question_words: set[str], noun: str | None,
                entities: Sequence[tuple[int, int, str]] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every column of the spans (SPAN_FEATURES, then ENTITY_FEATURES when entities were tagged) and their names."""
    x = span_features(question, toks, spans, question_words, noun)
    if entities is None:
        return x, SPAN_FEATURES
    return np.hstack([x, entity_features(question, toks, spans, entities)]), SPAN_FEATURES + ENTITY_FEATURES


def best_span(question: str, sentence: str, scorer: Scorer, noun: str | None = None,
              entities: Sequence[tuple[int, int, str]] | None = None) -> tuple[int, int, float] | None:
    """(start, end, logit) of the best short answer in the sentence, sentence offsets; None without candidates.

    `entities`: the sentence's tagged entities in sentence offsets, or None when the index has none (then
    `scorer` must be one fitted without entity columns).
    """
    qwords = question_word_set(question)
    toks, spans = span_candidates(sentence, qwords)
    if not spans:
        return None
    x, names = span_matrix(question, toks, spans, qwords, noun, entities)
    position = {name: n for n, name in enumerate(names)}
    scores = scorer.logits(x[:, [position[f] for f in scorer.features]])
    k = int(np.argmax(scores))
    i, j = spans[k]
    return toks[i][1], toks[j][2], float(scores[k])
