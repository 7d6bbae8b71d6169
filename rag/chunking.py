"""Split documents into sentences and sentence-aware passages, with offsets computed while splitting.

Layout first (`layout`: blocks of text and the map from analysed to original characters), then sentences.
Sentences come from NLTK's Punkt algorithm, run on each block with its soft breaks read as spaces and its
text NFC-normalised, given a list of common English abbreviations because no pretrained Punkt model can be
downloaded here. Offsets stay on the original characters (a BOM, CRLF or lone CR, decomposed accents): the
text of a span is always `text[start:end]` of the text as given, never found again with `str.find`, and a
sentence of a wrapped paragraph contains the line breaks it had. Passages pack consecutive sentences up to a
size, with an overlap. This module does not decide where paragraphs, headings, lists or code begin and end
(that is `layout`), and does not tokenise, embed, or rewrite the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .layout import _analyse, _blocks

# Lower-case, without the final period, as Punkt expects.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    u.s u.k u.n e.g i.e etc vs al approx dept est inc ltd co corp no nos vol pp fig eq
    jan feb mar apr jun jul aug sep sept oct nov dec a.m p.m d.c""".split()
)
_WORD_BREAK = re.compile(r"\s+")
# Chinese and Japanese sentence ends (ideographic full stop, full-width ! ? and full stop), except inside a quote or
# bracket (one closes right after: 「本当？」と聞いた is one sentence): Punkt (English) splits only where a space
# follows, which these scripts do not write.
_CJK_END = re.compile(r"[\u3002\uff01\uff1f\uff0e]+(?![\u300d\u300f\uff09\u3011\u201d\u2019\"')])")


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


# --------------------------------------------------------------------------- sentences and passages
def split_sentences(text: str, max_chars: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of `text`, in order, without surrounding whitespace.

    A sentence longer than `max_chars` is cut at whitespace (or hard, for a long run without any) so that no
    passage has to hold more than `max_chars` characters.

    >>> text = "The tower was finished\\nin 1889. It is 330 m\\ntall.\\n\\nHistory\\nIt was built by Eiffel."
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['The tower was finished\\nin 1889.', 'It is 330 m\\ntall.', 'History', 'It was built by Eiffel.']
    """
    tokenizer = _punkt()
    spans: list[tuple[int, int]] = []
    for block in _blocks(text):
        analysed = _analyse(text, block)
        if not analysed.length:
            continue
        for a, b in tokenizer.span_tokenize(analysed.text()):
            start, end = _strip(text, analysed.start(a), analysed.end(b))
            if spans and start < spans[-1][1]:
                start = spans[-1][1]  # Punkt split inside one normalisation unit: keep spans disjoint
                start, end = _strip(text, start, end)
            for start, end in _cjk_sentences(text, start, end):
                if max_chars is not None and end - start > max_chars:
                    spans.extend(_cut(text, start, end, max_chars))
                else:
                    spans.append((start, end))
    return spans


def _cjk_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut after each Chinese or Japanese sentence end inside it (stripped, empty pieces dropped)."""
    pieces = []
    for m in _CJK_END.finditer(text, start, end):
        if m.end() < end:
            pieces.append(_strip(text, start, m.end()))
            start = m.end()
    pieces.append(_strip(text, start, end))
    return [(a, b) for a, b in pieces if a < b]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] == "\ufeff"):
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
    """Pack consecutive sentences into passages of at most `max_chars` characters of text.

    A passage's size is its sentences' characters plus one per gap between them, so layout (blank lines,
    CRLF, indentation, a wrapped paragraph) never changes which sentences share a passage; the span itself
    may hold more whitespace than that. Consecutive passages share their last/first `overlap` sentences, so an
    answer that straddles a boundary is whole in one of them. A sentence longer than `max_chars` (only possible
    when the splitter did not cut it) becomes a passage of its own.
    """
    # sizes[i]: characters of sentences [0, i) with one separator after each.
    sizes = [0]
    for start, end in sentences:
        sizes.append(sizes[-1] + end - start + 1)
    passages: list[PassageSpan] = []
    first = 0
    while first < len(sentences):
        last = first + 1
        while last < len(sentences) and sizes[last + 1] - sizes[first] - 1 <= max_chars:
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
