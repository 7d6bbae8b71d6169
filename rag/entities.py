"""Find the names in a text and give each a type, without a language model.

    >>> [(e.text, e.type) for e in entities("In 1889 Gustave Eiffel finished the tower in Paris.")]
    [('1889', 'time'), ('Gustave Eiffel', 'person'), ('Paris', 'place')]

Names are runs of capitalised words ("University of Erfurt", "Newcastle upon Tyne") and dates. Each gets a type
from capitalisation, cue words and a small gazetteer: person, place, group, time, thing, or unknown. Month and
weekday names and sentence-initial capitals are never names by themselves. Callers that tagged the text with a
model (spaCy at indexing time) pass typed spans instead, and this module only turns them into `Entity`s. It is
a heuristic on purpose: deterministic, instant and explainable. It does not resolve pronouns or rewrite
questions (that is `followup`), and does not look beyond the text and context it is given.
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


__all__ = ["GROUP", "PERSON", "PLACE", "THING", "TIME", "UNKNOWN", "Entity", "TypedSpan", "entities"]
