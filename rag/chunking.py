"""Split documents into sentences and sentence-aware passages, with offsets computed while splitting.

Sentences come from NLTK's Punkt algorithm (run per line, so headings and paragraphs never merge into one
sentence), given a list of common English abbreviations because no pretrained Punkt model can be downloaded
here. Every span is a pair of character offsets into the document text; the text of a span is always
`text[start:end]`, never found again with `str.find`. This module does not tokenise or embed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Lower-case, without the final period, as Punkt expects.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    u.s u.k u.n e.g i.e etc vs al approx dept est inc ltd co corp no nos vol pp fig eq
    jan feb mar apr jun jul aug sep sept oct nov dec a.m p.m d.c""".split()
)
_LINE = re.compile(r"[^\n]+")
_WORD_BREAK = re.compile(r"\s+")


@dataclass(frozen=True)
class PassageSpan:
    """Characters [start, end) of a document, made of sentences [first_sentence, last_sentence)."""

    start: int
    end: int
    first_sentence: int
    last_sentence: int


@lru_cache(maxsize=1)
def _punkt():
    # Imported here: NLTK takes seconds to import and only indexing needs it.
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def split_sentences(text: str, max_chars: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of `text`, in order, without surrounding whitespace.

    A sentence longer than `max_chars` is cut at whitespace (or hard, for a long run without any) so that no
    passage has to hold more than `max_chars` characters.
    """
    tokenizer = _punkt()
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        for start, end in tokenizer.span_tokenize(line.group()):
            start, end = _strip(text, base + start, base + end)
            if start >= end:
                continue
            if max_chars is not None and end - start > max_chars:
                spans.extend(_cut(text, start, end, max_chars))
            else:
                spans.append((start, end))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        limit = start + max_chars
        breaks = [m.start() for m in _WORD_BREAK.finditer(text, start + max_chars // 2, limit)]
        cut = breaks[-1] if breaks else limit
        piece = _strip(text, start, cut)
        if piece[0] < piece[1]:
            pieces.append(piece)
        start = _strip(text, cut, end)[0]
    if start < end:
        pieces.append((start, end))
    return pieces


def make_passages(sentences: list[tuple[int, int]], max_chars: int, overlap: int) -> list[PassageSpan]:
    """Pack consecutive sentences into passages of at most `max_chars` characters.

    Consecutive passages share their last/first `overlap` sentences, so an answer that straddles a boundary is
    whole in one of them. A sentence longer than `max_chars` (only possible when the splitter did not cut it)
    becomes a passage of its own.
    """
    passages: list[PassageSpan] = []
    first = 0
    while first < len(sentences):
        last = first + 1
        while last < len(sentences) and sentences[last][1] - sentences[first][0] <= max_chars:
            last += 1
        passages.append(PassageSpan(sentences[first][0], sentences[last - 1][1], first, last))
        if last == len(sentences):
            break
        first = max(last - overlap, first + 1)
    return passages


def chunk(text: str, max_chars: int = 700, overlap: int = 1) -> tuple[list[tuple[int, int]], list[PassageSpan]]:
    """Sentences and passages of one document."""
    sentences = split_sentences(text, max_chars=max_chars)
    return sentences, make_passages(sentences, max_chars, overlap)
