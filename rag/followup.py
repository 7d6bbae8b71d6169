"""Rewrite a follow-up question into a standalone search query, from the previous turn, without a language model.

    >>> rewrite("When was he appointed there?",
    ...         "Which province did Muzammil govern before Balkh?",
    ...         "Muzammil was the governor of Nangarhar.")
    'When was Muzammil appointed in Nangarhar?'

BM25 and the reader only see the words of the question, so "When was he appointed there?" finds nothing useful.
This module finds the names of the last question and answer (runs of capitalised words, dates), gives each a
type from capitalisation, cue words and a small gazetteer (person, place, group, time, thing, or unknown), and
replaces each reference by a name of the matching type:
  - "he/she/him/her/his" by a person; "they/them/their" by a group, organisation or plural;
  - "it/its" by the last non-person name; "there" by a place ("in Paris"); "then" by a time ("in 1889");
  - after a question that asked for a name (what/which/who/where), the name the answer added comes first.
Month and weekday names, headings and sentence-initial capitals are never names by themselves. A question
that names its own subject, or whose reference has no name of the right type, keeps that word as it is (the
chat then shows what it searched for). Callers that tagged sentences at indexing time can pass typed spans
instead (`question_entities`, `answer_entities`). It is a heuristic on purpose: deterministic, instant and
explainable, with no model on the query path. It does not retrieve, does not resolve across more than one turn
(callers pass the previous *rewritten* query, so chains still work), and leaves standalone questions exactly
as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

PERSON, PLACE, GROUP, TIME, THING, UNKNOWN = "person", "place", "group", "time", "thing", "unknown"

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
    according accordingly besides furthermore moreover nevertheless nonetheless overall meanwhile around
    """.split()
)
_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_NOT_NAMES = frozenset(_MONTHS + _WEEKDAYS)

_PERSON_PRONOUNS = {"he": "", "him": "", "she": "", "her": "", "his": "’s", "hers": "’s"}
_GENDER = {"he": ("he", "him", "his"), "she": ("she", "her", "hers")}
_GROUP_PRONOUNS = {"they": "", "them": "", "their": "’s", "theirs": "’s"}
_THING_PRONOUNS = {"it": "", "its": "’s"}
_BE = frozenset("is are was were be been".split())

# Cue words: a title before or in a name makes it a person; a keyword in it an organisation or a place.
_TITLES = frozenset("""mr mrs ms dr prof sir lord lady king queen prince princess emperor empress pope saint st
    president senator governor general admiral captain colonel chancellor bishop archbishop cardinal reverend
    mullah sheikh sultan tsar czar duke duchess count countess baron""".split())
_KINSHIP = frozenset("wife husband son daughter father mother brother sister uncle aunt nephew niece".split())
_GROUP_WORDS = frozenset("""university college school academy institute society association union company
    corporation corp inc ltd agency administration council committee commission church party army navy
    force forces government ministry department office bank league club band group court parliament congress
    senate assembly foundation museum library community organisation organization network federation team
    tribe dynasty order movement alliance coalition board""".split())
_PLACE_WORDS = frozenset("""river mountain mountains mount lake ocean sea city county province state states
    island islands valley republic kingdom empire street road bay gulf peninsula desert forest park square
    district region territory coast plain plains tower bridge castle palace cathedral hall airport port
    harbour harbor""".split())
_THING_WORDS = frozenset("""project program programme war battle exhibition treaty act prize award
    festival mission""".split())
# Places known by name alone: continents, countries and the largest cities. A gazetteer, so it is incomplete
# by nature: an unknown single name after "in", "at", "near", ... is taken as a place too.
_PLACES = frozenset(
    """
    africa antarctica asia australia europe eurasia oceania america americas
    afghanistan albania algeria andorra angola argentina armenia austria azerbaijan bahamas bahrain bangladesh
    barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil brunei bulgaria burundi
    cambodia cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czechia denmark
    djibouti dominica ecuador egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia
    germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran
    iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati kosovo kuwait kyrgyzstan laos
    latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg madagascar malawi malaysia
    maldives mali malta mauritania mauritius mexico micronesia moldova monaco mongolia montenegro morocco
    mozambique myanmar burma namibia nauru nepal netherlands holland nicaragua niger nigeria norway oman
    pakistan palau palestine panama paraguay peru philippines poland portugal qatar romania russia rwanda
    samoa senegal serbia seychelles singapore slovakia slovenia somalia spain sudan suriname sweden
    switzerland syria taiwan tajikistan tanzania thailand togo tonga tunisia turkey turkmenistan tuvalu
    uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen zambia zimbabwe britain england scotland
    wales prussia persia
    alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii idaho illinois
    indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi
    missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia
    washington wisconsin wyoming
    london paris berlin rome madrid moscow beijing tokyo delhi mumbai cairo nairobi lagos istanbul athens
    vienna prague warsaw budapest lisbon dublin edinburgh amsterdam brussels stockholm oslo copenhagen
    helsinki chicago boston philadelphia toronto montreal sydney melbourne shanghai kabul tehran baghdad
    jerusalem damascus karachi lahore dhaka bangkok jakarta manila seoul hanoi lima bogota santiago havana
    """.split()
)
_PLACE_PREPOSITIONS = frozenset("in at near from to into across within around before after of".split())
# Before a name of several words only these say "place": "to Hans Luder" and "of John Harvard" name people.
_STRONG_PLACE_PREPOSITIONS = frozenset("in at near from into across within around".split())
_PLURAL_GROUP = re.compile(r"(?:ans|ians|ese|ites|ists|men|ers|ics)$")
_INITIAL = r"[A-Z]\.(?=\s+[A-Z])"
_TOKEN = re.compile(_INITIAL + r"|[^\W\d_][\w’'&\-]*|\d+(?:[.,]\d+)*\w*|\S")
_DATE = re.compile(
    r"\b(?:(?:\d{1,2}\s+)?(?:%(m)s)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+\d{3,4}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:%(m)s)\b"
    r"|(?:1\d|20)\d\ds?|\d{1,2}(?:st|nd|rd|th)\s+century)\b" % {"m": "|".join(m.capitalize() for m in _MONTHS)}
)
_DAY_FIRST = re.compile(r"\d|(?:%s)\.?\s+\d{1,2}\b" % "|".join(m.capitalize() for m in _MONTHS))
_TERMINAL = re.compile(r"[.!?…:;][\"'’”)\]]*\s*$")


@dataclass(frozen=True)
class TypedSpan:
    """Characters [start, end) of a text that name something of a type: one of person, place, group, time,
    thing (what a tagger such as spaCy found when the sentence was indexed)."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Entity:
    """A name in a text, with the word before it (lower-cased; "" at the start) and its type."""

    text: str
    before: str
    position: int  # token index of its first word, for nearness
    type: str = UNKNOWN


def _tokens(text: str) -> list[re.Match]:
    return list(_TOKEN.finditer(text or ""))


def _strip_possessive(token: str) -> str:
    for suffix in ("’s", "'s", "’", "'"):
        if token.endswith(suffix) and len(token) > len(suffix):
            return token[: -len(suffix)]
    return token


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in _FUNCTION_WORDS and word.lower() not in _NOT_NAMES


def _is_heading(text: str) -> bool:
    """A title-case line without a sentence end: a heading quoted as an answer names nothing by itself."""
    words = [w for w in re.findall(r"[^\W\d_][\w’']*", text) if len(w) >= 4]
    return bool(words) and not _TERMINAL.search(text) and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def entities(text: str, context: str = "", spans: Sequence[TypedSpan] | None = None) -> list[Entity]:
    """Names in order of appearance, each once, typed; dates are names of type time.

    A capitalised word that only starts a sentence is a name when `text` or `context` also capitalises it
    elsewhere, when it runs on into more capitalised words, or when it is a known place or an acronym.

    >>> [e.text for e in entities("After the Taliban’s return, he became the governor of Nangarhar.")]
    ['Taliban', 'Nangarhar']
    """
    text = text or ""
    if spans is not None:
        return _from_spans(text, spans)
    tokens = _tokens(text)
    words = [_strip_possessive(t.group()) for t in tokens]
    support = {w for i, w in enumerate(words) if i and not _sentence_start(tokens, i)}
    support |= {_strip_possessive(t.group()) for i, t in enumerate(_tokens(context)) if i}
    found: list[Entity] = []
    seen: set[str] = set()

    def add(first: int, last: int, kind: str) -> None:
        name = text[tokens[first].start() : tokens[last].end()]
        name = _strip_possessive(name)
        if name.lower() in seen:
            return
        seen.add(name.lower())
        before = tokens[first - 1].group().lower() if first > 0 else ""
        found.append(Entity(name, before, first, kind))

    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    i = 0
    while i < len(tokens):
        date = next(((a, b) for a, b in dates if a == tokens[i].start()), None)
        if date is not None:
            last = i
            while last + 1 < len(tokens) and tokens[last + 1].end() <= date[1]:
                last += 1
            add(i, last, TIME)
            i = last + 1
            continue
        if not _capitalised(words[i]):
            i += 1
            continue
        last = i
        while last + 1 < len(tokens) and tokens[last].group() == words[last]:  # a possessive ends the name
            nxt = last + 1
            if _capitalised(words[nxt]) and not any(a == tokens[nxt].start() for a, _ in dates):
                last = nxt
            elif words[nxt] in ("of", "upon", "and", "&") and nxt + 1 < len(tokens) and _capitalised(words[nxt + 1]):
                # "University of Erfurt", "Newcastle upon Tyne"; "and" only inside an organisation's name
                # ("Victoria and Albert Museum"), never between two names.
                end = nxt + 1
                while end + 1 < len(tokens) and _capitalised(words[end + 1]):
                    end += 1
                if words[nxt] in ("and", "&") and words[end].lower() not in _GROUP_WORDS | _PLACE_WORDS:
                    break
                last = end
            else:
                break
        single = last == i
        if single and _sentence_start(tokens, i) and words[i] not in support and words[i].lower() not in _PLACES \
                and not words[i].isupper():
            i += 1
            continue
        add(i, last, _type(words, i, last))
        i = last + 1
    return found


def _sentence_start(tokens: list[re.Match], i: int) -> bool:
    return i == 0 or tokens[i - 1].group() in (".", "!", "?", ":", ";", "\"", "“", "(")


def _type(words: list[str], first: int, last: int) -> str:
    name = [w.lower() for w in words[first : last + 1]]
    before = words[first - 1].lower().rstrip(".") if first > 0 else ""
    if name[0].rstrip(".") in _TITLES or before in _TITLES or before in _KINSHIP:
        return PERSON
    if any(w in _GROUP_WORDS for w in name) or (len(name) == 1 and words[first].isupper() and len(name[0]) > 1):
        return GROUP
    if any(w in _PLACE_WORDS for w in name) or " ".join(name) in _PLACES or (name[0] in ("new", "north", "south",
                                                                                      "east", "west", "united")):
        return PLACE
    if any(w in _THING_WORDS for w in name):
        return THING
    if len(name) == 1 and _PLURAL_GROUP.search(name[0]) and len(name[0]) > 4:
        return GROUP
    if before in (_PLACE_PREPOSITIONS if len(name) == 1 else _STRONG_PLACE_PREPOSITIONS):
        return PLACE
    if 2 <= len(name) <= 4 and all(w.isalpha() or re.fullmatch(r"[a-z]\.", w) for w in name) and "of" not in name:
        return PERSON
    return UNKNOWN


def _from_spans(text: str, spans: Sequence[TypedSpan]) -> list[Entity]:
    tokens = _tokens(text)
    found, seen = [], set()
    for span in sorted(spans, key=lambda s: s.start):
        name = _strip_possessive(text[span.start : span.end].strip())
        if name.lower().startswith("the "):
            name = name[4:]
        if not name or name.lower() in seen or name.lower() in _NOT_NAMES:
            continue
        seen.add(name.lower())
        position = next((i for i, t in enumerate(tokens) if t.end() > span.start), len(tokens))
        before = tokens[position - 1].group().lower() if position > 0 else ""
        found.append(Entity(name, before, position, span.type))
    return found


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
