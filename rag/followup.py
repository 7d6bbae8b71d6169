"""Rewrite a follow-up question into a standalone search query, from the previous turn, without a language model.

    >>> rewrite("When was he appointed there?",
    ...         "Which province did Muzammil govern before Balkh?",
    ...         "Muzammil was the governor of Nangarhar.")
    'When was Muzammil appointed in Nangarhar?'

BM25 and the reader only see the words of the question, so "When was he appointed there?" finds nothing useful.
This module carries the entities (capitalised names) of the last question and answer over into the new one:
person pronouns ("he", "his", ...) become the subject of the last question, place and thing references
("there", "it", ...) become the name the last answer added, and a question that names nothing and refers to
nothing gets the last question's names appended. It is a heuristic on purpose: deterministic, instant and
explainable, which is why the caller shows the rewritten query to the user. It does not retrieve, does not
resolve anything across more than one turn (callers pass the previous *rewritten* query, so chains still
work), and leaves standalone questions exactly as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that are capitalised because they start a sentence or a question, not because they name something.
_FUNCTION_WORDS = frozenset(
    """
    a about above after again against all also although an and another any are as at because been before
    being below between both but by can could did do does during each either even every few for from further
    had has have having he her here hers him his how however i if in initially into is it its later let many
    may meanwhile might more most much must my neither no nor not now of on once only or other our over
    perhaps since she should so some still such than that the their them then there these they this those
    though through thus to today too under unlike until up upon us was we were what when where whereas
    whether which while who whom whose why will with within without would yet you your yesterday tomorrow
    according accordingly besides furthermore moreover nevertheless nonetheless overall meanwhile
    """.split()
)
_PERSON_PRONOUNS = {"he": "", "him": "", "she": "", "her": "", "his": "’s", "hers": "’s", "they": "",
                    "them": "", "their": "’s", "theirs": "’s"}
_PLACE_WORDS = ("there",)
_THING_WORDS = ("it", "its")
# A place is usually named after one of these ("governor of Nangarhar", "in Balkh").
_PLACE_PREPOSITIONS = frozenset("in of at to from near into before after across within around".split())
_BE = frozenset("is are was were be been".split())
_TOKEN = re.compile(r"[A-Za-z][\w’'\-]*|\S")
_SENTENCE_END = frozenset(".!?:;\"“”")


@dataclass(frozen=True)
class Entity:
    """A run of capitalised words, with the word before it (lower-cased; "" at the start)."""

    text: str
    before: str
    position: int  # token index of its first word, for nearness


def entities(text: str) -> list[Entity]:
    """Capitalised names in order of appearance, each once; sentence-initial function words are skipped.

    >>> [e.text for e in entities("After the Taliban’s return, he became the governor of Nangarhar.")]
    ['Taliban', 'Nangarhar']
    """
    tokens = _TOKEN.findall(text or "")
    found: list[Entity] = []
    seen: set[str] = set()
    run: list[str] = []
    run_start = 0

    def close() -> None:
        if run:
            name = " ".join(run)
            if name.lower() not in seen:
                seen.add(name.lower())
                before = tokens[run_start - 1].lower() if run_start > 0 else ""
                found.append(Entity(name, before, run_start))
            run.clear()

    for i, token in enumerate(tokens):
        word = _strip_possessive(token)
        capitalised = word[:1].isupper() and word.lower() not in _FUNCTION_WORDS
        # "I" and all-caps words of one letter are not names.
        if capitalised and len(word) > 1:
            if not run:
                run_start = i
            run.append(word)
            if word != token:  # "Taliban’s" ends the name
                close()
        else:
            close()
    close()
    return found


def _strip_possessive(token: str) -> str:
    for suffix in ("’s", "'s", "’", "'"):
        if token.endswith(suffix) and len(token) > len(suffix):
            return token[: -len(suffix)]
    return token


def _words(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text or "")]


def _similar(a: str, b: str) -> bool:
    """Same word or same first five letters ("govern" and "governor"): a stemmer-free match."""
    return a == b or (len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5])


def _answer_focus(question: str, answer: str) -> list[Entity]:
    """The answer's names that the question did not already use, nearest to the question's words first.

    In an extractive answer the name that answers sits next to the words it shares with the question
    ("governor of Nangarhar" for "which province did he govern"); names far from them are background.
    """
    asked = {e.text.lower() for e in entities(question)}
    question_words = [w for w in _words(question) if w.isalpha() and w not in _FUNCTION_WORDS]
    tokens = _words(answer)
    anchors = [i for i, t in enumerate(tokens) if any(_similar(t, q) for q in question_words)]
    new = [e for e in entities(answer) if e.text.lower() not in asked]

    def distance(entity: Entity) -> int:
        return min((abs(entity.position - a) for a in anchors), default=len(tokens))

    return sorted(new, key=lambda e: (distance(e), e.position))


def is_followup(question: str) -> bool:
    """Whether the question leans on the previous turn: it uses a pronoun or "there", or names nothing at all
    and starts like a continuation ("and ...", "what about ...")."""
    words = _words(question)
    if any(w in _PERSON_PRONOUNS or w in _THING_WORDS for w in words):
        return True
    if any(w in _PLACE_WORDS and not _existential(words, i) for i, w in enumerate(words)):
        return True
    return not entities(question) and bool(words) and (words[0] in ("and", "also") or words[:2] == ["what", "about"])


def _existential(words: list[str], i: int) -> bool:
    """ "Is there ..." / "there was ..." use "there" without pointing at a place."""
    return (i + 1 < len(words) and words[i + 1] in _BE) or (i > 0 and words[i - 1] in _BE)


def rewrite(question: str, previous_question: str | None, previous_answer: str | None) -> str:
    """The question with its references to the previous turn replaced by names from that turn.

    `previous_question` should be the query actually searched last time (itself rewritten), and
    `previous_answer` the quoted answer text (None or "" when the bot declined). Returns `question` unchanged
    when it is not a follow-up or there is nothing to carry over.
    """
    question = question.strip()
    if not previous_question or not is_followup(question):
        return question
    asked = entities(previous_question)
    focus = _answer_focus(previous_question, previous_answer or "")
    # Who "he" is: a name the last question used as a subject (not after "in", "of", ...); after a "who"
    # question the person is in the answer instead.
    people = [e for e in asked if e.before not in _PLACE_PREPOSITIONS]
    if _words(previous_question)[:1] == ["who"]:
        # Full names have several words ("Mohammad Daoud Muzammil"); organisations and places rarely do.
        named = [e for e in focus if e.before not in _PLACE_PREPOSITIONS]
        people = sorted(named, key=lambda e: (" " not in e.text, e.position)) + people
    people = people or asked or focus
    # What "there" is: the place the last answer added, else a place the last question named.
    places = [e for e in focus if e.before in _PLACE_PREPOSITIONS] + [
        e for e in asked if e.before in _PLACE_PREPOSITIONS
    ]
    places = places or focus or asked
    things = focus + asked

    own = {e.text.lower() for e in entities(question)}
    used: set[str] = set()
    tokens = re.split(r"(\W+)", question)
    lowered = [t.lower() for t in tokens]
    words = [t for t in lowered if t and t[0].isalnum()]
    word_index = -1
    out = []
    for token, low in zip(tokens, lowered):
        if low and low[0].isalnum():
            word_index += 1
        replacement = None
        if low in _PERSON_PRONOUNS and people:
            replacement = people[0].text + _PERSON_PRONOUNS[low]
        elif low in _PLACE_WORDS and not _existential(words, word_index) and places and not own:
            replacement = "in " + places[0].text
        elif low in _THING_WORDS and things and not own:
            replacement = things[0].text + ("’s" if low == "its" else "")
        if replacement is not None:
            used.add(replacement.split("’")[0].removeprefix("in ").lower())
            token = replacement
        out.append(token)
    rewritten = "".join(out)
    if not used and not own:
        # Nothing to substitute ("And in 2015?"): append the names the last turn was about.
        carried = [e.text for e in asked + focus[:1]]
        if carried:
            rewritten = f"{rewritten.rstrip('?').rstrip()} ({', '.join(carried)})?"
    return _capitalise_first(rewritten)


def _capitalise_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


__all__ = ["Entity", "entities", "is_followup", "rewrite"]
