"""Rewrite a follow-up question into a standalone search query, from the previous turn, without a language model.

    >>> rewrite("When was he appointed there?",
    ...         "Which province did Muzammil govern before Balkh?",
    ...         "Muzammil was the governor of Nangarhar.")
    'When was Muzammil appointed in Nangarhar?'

BM25 and the reader only see the words of the question, so "When was he appointed there?" finds nothing useful.
This module takes the typed names of the last question and answer (`entities`: person, place, group, time,
thing, or unknown) and replaces each reference by a name of the matching type:
  - "he/she/him/her/his" by a person; "they/them/their" by a group, organisation or plural;
  - "it/its" by the last non-person name; "there" by a place ("in Paris"); "then" by a time ("in 1889");
  - after a question that asked for a name (what/which/who/where), the name the answer added comes first.
An answer that is a heading names nothing by itself. A question that names its own subject, or whose reference
has no name of the right type, keeps that word as it is (the chat then shows what it searched for). Callers
that tagged sentences at indexing time can pass typed spans instead (`question_entities`, `answer_entities`).
It is a heuristic on purpose: deterministic, instant and explainable, with no model on the query path. It does
not find or type names itself (that is `entities`, re-exported here), does not retrieve, does not resolve
across more than one turn (callers pass the previous *rewritten* query, so chains still work), and leaves
standalone questions exactly as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .entities import (
    GROUP,
    PERSON,
    PLACE,
    THING,
    TIME,
    UNKNOWN,
    _FUNCTION_WORDS,
    _MONTHS,
    Entity,
    TypedSpan,
    _tokens,
    entities,
)

_PERSON_PRONOUNS = {"he": "", "him": "", "she": "", "her": "", "his": "’s", "hers": "’s"}
_GENDER = {"he": ("he", "him", "his"), "she": ("she", "her", "hers")}
_GROUP_PRONOUNS = {"they": "", "them": "", "their": "’s", "theirs": "’s"}
_THING_PRONOUNS = {"it": "", "its": "’s"}
_BE = frozenset("is are was were be been".split())

_DAY_FIRST = re.compile(r"\d|(?:%s)\.?\s+\d{1,2}\b" % "|".join(m.capitalize() for m in _MONTHS))
_TERMINAL = re.compile(r"[.!?…:;][\"'’”)\]]*\s*$")


def _is_heading(text: str) -> bool:
    """A title-case line without a sentence end: a heading quoted as an answer names nothing by itself."""
    words = [w for w in re.findall(r"[^\W\d_][\w’']*", text) if len(w) >= 4]
    return bool(words) and not _TERMINAL.search(text) and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def _words(text: str) -> list[str]:
    return [t.group().lower() for t in _tokens(text)]


def _similar(a: str, b: str) -> bool:
    """Same word or same first five letters ("govern" and "governor"): a stemmer-free match."""
    return a == b or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5])


def _answer_focus(question: str, answer: str, found: list[Entity], asked: list[Entity]) -> list[Entity]:
    """The answer's names that the question did not already use, nearest to the question's words first.

    In an extractive answer the name that answers sits next to the words it shares with the question
    ("governor of Nangarhar" for "which province did he govern"); names far from them are background. A name
    that contains one the question used ("Republic of Kenya" after "Kenya") is the same thing, not a new one.
    """
    asked_names = [e.text.lower() for e in asked]
    question_words = [w for w in _words(question) if w.isalpha() and w not in _FUNCTION_WORDS]
    tokens = _words(answer)
    anchors = [i for i, t in enumerate(tokens) if any(_similar(t, q) for q in question_words)]
    new = [e for e in found if not any(re.search(rf"\b{re.escape(a)}\b", e.text.lower()) for a in asked_names)]

    def distance(entity: Entity) -> int:
        return min((abs(entity.position - a) for a in anchors), default=len(tokens))

    return sorted(new, key=lambda e: (distance(e), e.position))


def is_followup(question: str) -> bool:
    """Whether the question leans on the previous turn: it uses a pronoun, "there" or "then", or names nothing
    at all and starts like a continuation ("and ...", "what about ...")."""
    words = _words(question)
    if any(w in _PERSON_PRONOUNS or w in _GROUP_PRONOUNS or w in _THING_PRONOUNS or w == "then" for w in words):
        return True
    if any(w == "there" and not _existential(words, i) for i, w in enumerate(words)):
        return True
    names = [e for e in entities(question) if e.type != TIME]
    return not names and bool(words) and (words[0] in ("and", "also") or words[:2] == ["what", "about"])


def _existential(words: list[str], i: int) -> bool:
    """ "Is there ..." / "there was ..." use "there" without pointing at a place."""
    return (i + 1 < len(words) and words[i + 1] in _BE) or (i > 0 and words[i - 1] in _BE)


def _asks_for(question: str) -> str:
    """What the previous question asked for: "name" (what/which ...), "person", "place", "time" or ""."""
    words = [w for w in _words(question) if w.isalpha()]
    head = words[:3]
    if head[:1] in (["who"], ["whom"], ["whose"]):
        return PERSON
    if "where" in head:
        return PLACE
    if "when" in head or any(w in ("year", "date", "month", "century") for w in words[:4] if "what" in head or
                             "which" in head):
        return TIME
    if "what" in head or "which" in head:
        return "name"
    return ""


def rewrite(question: str, previous_question: str | None, previous_answer: str | None, *,
            question_entities: Sequence[TypedSpan] | None = None,
            answer_entities: Sequence[TypedSpan] | None = None) -> str:
    """The question with its references to the previous turn replaced by names from that turn.

    `previous_question` should be the query actually searched last time (itself rewritten), and
    `previous_answer` the quoted answer text (None or "" when the bot declined). `question_entities` and
    `answer_entities` are typed spans of those two texts from a tagger, when the caller has them; without them
    the names are found and typed by the heuristics above. Returns `question` unchanged when it is not a
    follow-up or nothing of the right type can be carried over.
    """
    question = question.strip()
    if not previous_question or not is_followup(question):
        return question
    answer = previous_answer or ""
    if answer and answer_entities is None and _is_heading(answer):
        answer = ""  # a heading is not a sentence: its capitals name nothing by themselves
    asked = entities(previous_question, answer, question_entities)
    found = entities(answer, previous_question, answer_entities) if answer else []
    asked = _alias_types(asked, found)
    found = _alias_types(found, asked)
    focus = _answer_focus(previous_question, answer, found, asked)
    wants = _asks_for(previous_question)

    def pick(types: tuple[str, ...], answer_first: bool, question_order=lambda xs: xs) -> Entity | None:
        from_question = question_order([e for e in asked if e.type in types])
        from_answer = [e for e in focus if e.type in types]
        ordered = from_answer + from_question if answer_first else from_question + from_answer
        return ordered[0] if ordered else None

    # Who "he" is: the person a "who" question was answered with, else the question's first person, else a
    # name of unknown type in the question (an unknown name in the answer is too often a place or a group).
    if wants == PERSON:
        people = [e for e in focus + asked if e.type == PERSON] + [e for e in asked if e.type == UNKNOWN]
    else:
        people = [e for e in asked if e.type in (PERSON, UNKNOWN)] + [e for e in focus if e.type == PERSON]
    # "he" and "her" in one question are two people: each gender takes the next person in that order.
    genders = [g for g in ("he", "she") if any(w in _GENDER[g] for w in _words(question))]
    person_for = {g: people[min(i, len(people) - 1)] for i, g in enumerate(genders)} if people else {}
    group = pick((GROUP,), wants in ("name", PERSON))
    if group is None and wants == PERSON:
        group = next((e for e in focus if e.type == UNKNOWN and e not in people), None)
    thing = pick((THING, GROUP, PLACE, UNKNOWN), wants == "name", question_order=lambda xs: xs[::-1])
    place = pick((PLACE,), wants in (PLACE, "name"), question_order=lambda xs: xs[::-1])
    time = pick((TIME,), wants in (TIME, "name"))

    own = [e for e in entities(question) if e.type != TIME]  # "in 2015" narrows the question, names nothing
    tokens = re.split(r"(\W+)", question)
    words = [t.lower() for t in tokens if t and t[0].isalnum()]
    word_index = -1
    used = False
    out = []
    for token in tokens:
        low = token.lower()
        if low and low[0].isalnum():
            word_index += 1
        replacement = None
        gender = "he" if low in _GENDER["he"] else "she"
        if low in _PERSON_PRONOUNS and gender in person_for:
            replacement = person_for[gender].text + _PERSON_PRONOUNS[low]
        elif low in _GROUP_PRONOUNS and group is not None:
            replacement = group.text + _GROUP_PRONOUNS[low]
        elif low in _THING_PRONOUNS and thing is not None and not own:
            replacement = thing.text + _THING_PRONOUNS[low]
        elif low == "there" and not _existential(words, word_index) and place is not None and not own:
            replacement = "in " + place.text
        elif low == "then" and time is not None:
            replacement = ("on " if _DAY_FIRST.match(time.text) and not time.text.isdigit() else "in ") + time.text
        if replacement is not None:
            used = True
            token = replacement
        out.append(token)
    rewritten = "".join(out)
    continuation = not any(w in _PERSON_PRONOUNS or w in _GROUP_PRONOUNS or w in _THING_PRONOUNS or w in
                           ("there", "then") for w in words)
    if not used and not own and continuation:
        # Nothing to substitute ("And in 2015?"): append the names the last turn was about.
        carried = [e.text for e in asked + focus[:1] if e.type != TIME]
        if carried:
            rewritten = f"{rewritten.rstrip('?').rstrip()} ({', '.join(carried)})?"
    return rewritten[:1].upper() + rewritten[1:] if rewritten else rewritten


def _alias_types(names: list[Entity], others: list[Entity]) -> list[Entity]:
    """An untyped single name takes the type of a longer name it ends ("Luther" after "Martin Luther")."""
    out = []
    for e in names:
        if e.type == UNKNOWN:
            match = next((o for o in names + others if o is not e and o.type != UNKNOWN and
                          o.text.lower().endswith(" " + e.text.lower())), None)
            if match is not None:
                e = Entity(e.text, e.before, e.position, match.type)
        out.append(e)
    return out


__all__ = ["Entity", "TypedSpan", "entities", "is_followup", "rewrite"]
