"""Split documents into sentences and sentence-aware passages, with offsets computed while splitting.

Layout first, then sentences. Lines are read as plain text and light Markdown:
  - a blank line ends a paragraph; a line break inside a paragraph is soft (the paragraph was hard-wrapped)
    when the line before it is full, i.e. the next line's first word would not have fitted on it at the
    document's wrap width, or when it breaks off mid-sentence before a lower-case word;
  - any other line break is hard: the seed's layout (one paragraph per line, headings on their own line
    without a full stop) splits exactly as before, and a short line without terminal punctuation stays a
    heading instead of starting the next sentence;
  - list items, indented or fenced code, Markdown tables, ATX/setext headings and rules are blocks of their
    own, never glued to their neighbours (a list item's indented continuation lines are part of it).
Sentences come from NLTK's Punkt algorithm, run on each block with its soft breaks read as spaces and its
text NFC-normalised, given a list of common English abbreviations because no pretrained Punkt model can be
downloaded here. Offsets stay on the original characters (a BOM, CRLF or lone CR, decomposed accents): the
text of a span is always `text[start:end]` of the text as given, never found again with `str.find`, and a
sentence of a wrapped paragraph contains the line breaks it had. This module does not tokenise, embed, or
rewrite the document.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

# Lower-case, without the final period, as Punkt expects.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    u.s u.k u.n e.g i.e etc vs al approx dept est inc ltd co corp no nos vol pp fig eq
    jan feb mar apr jun jul aug sep sept oct nov dec a.m p.m d.c""".split()
)
# A document whose typical line is longer than this was not hard-wrapped: wrapping tools default to 70-80
# columns (textwrap 70, fmt 75, git and PEP 8 72/79, Emacs fill-column 70) and 100-120 is already rare, while
# unwrapped paragraphs (the seed's are 150-700 characters) run well past it.
MAX_WRAP_WIDTH = 160
# The wrap width is this percentile of the lengths of lines that are followed by another line of the same
# paragraph: in a wrapped document nearly all of them sit just under the width, and a high percentile rather
# than the maximum ignores the odd overlong line (a URL) that the wrapper could not break.
WRAP_PERCENTILE = 0.9

# A line is a heading when at least this share of its words of 4+ letters is capitalised (title case leaves
# "with", "from", "into" in lower case), it has no comma or sentence end, and it follows a sentence end. SQuAD
# training paragraphs wrapped at 72 columns: 0.47% of line breaks before a capitalised word have a line that
# passes the share alone (1.1% at 0.6, 0.41% at 0.8); the seed's five headings score 0.83-1.0.
HEADING_WORD_LENGTH = 4
HEADING_CAPITALISED = 0.75

_LINE_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\x85\x0b\x0c]")
_WORD_BREAK = re.compile(r"\s+")
_FIRST_WORD = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_][\w\u2019']*")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+\u2022\u2023\u25e6]|\d{1,3}[.)]|[a-z][.)])[ \t]+\S")
_FENCE = re.compile(r"[ \t]{0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"[ \t]{0,3}(?:(?:[-=_*][ \t]*){3,})$")
_TABLE_ROW = re.compile(r"[ \t]*\|.*|.*\|.*\|.*|[ \t]*:?-{3,}:?[ \t]*\|.*")
_INDENTED = re.compile(r"(?: {4}|\t)")
# A sentence ends with one of these, possibly followed by closing quotes or brackets.
_TERMINAL = re.compile(r"[.!?\u2026:;][\"'\u2019\u201d)\]]*$")

# Kinds of line.
_BLANK, _PROSE, _QUOTE, _ITEM, _CODE, _TABLE, _HEADING = range(7)


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


# --------------------------------------------------------------------------- lines and blocks
@dataclass(frozen=True)
class _Line:
    start: int  # content start (after a BOM), in the original text
    end: int  # content end, before the line break
    kind: int
    length: int  # visible length, trailing whitespace excluded, for the wrap width


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    start = 1 if text.startswith("\ufeff") else 0
    fenced = False
    in_item = False  # the previous non-blank line belongs to a list item
    previous = _BLANK
    breaks = [m for m in _LINE_BREAK.finditer(text, start)] + [None]
    for brk in breaks:
        end = brk.start() if brk is not None else len(text)
        content = text[start:end]
        stripped = content.rstrip()
        if _FENCE.match(content):
            kind, fenced = _CODE, not fenced
        elif fenced:
            kind = _CODE
        elif not stripped.strip():
            kind = _BLANK
        elif _ATX_HEADING.match(content) or _RULE.match(content):
            kind = _HEADING
        elif _LIST_ITEM.match(content):
            kind = _ITEM
        elif in_item and content[:1] in " \t":
            kind = _ITEM  # an indented continuation of the list item above
        elif _INDENTED.match(content) and previous in (_BLANK, _CODE):
            kind = _CODE
        elif _TABLE_ROW.fullmatch(stripped):
            kind = _TABLE
        elif stripped.lstrip().startswith(">"):
            kind = _QUOTE
        else:
            kind = _PROSE
        in_item = kind == _ITEM  # a blank line ends the item: indented lines after it are code
        lines.append(_Line(start, end, kind, len(stripped)))
        previous = kind
        if brk is not None and brk.group() == "\u2029":  # a paragraph separator is a blank line
            lines.append(_Line(brk.end(), brk.end(), _BLANK, 0))
            previous, in_item = _BLANK, False
        start = brk.end() if brk is not None else len(text)
    return lines


def _wrap_width(text: str, lines: list[_Line]) -> int | None:
    """The column the document was hard-wrapped at, or None when it was not wrapped."""
    lengths = sorted(a.length for a, b in zip(lines, lines[1:]) if a.kind == b.kind and a.kind in (_PROSE, _QUOTE))
    if not lengths:
        return None
    width = lengths[min(len(lengths) - 1, int(WRAP_PERCENTILE * len(lengths)))]
    return width if width <= MAX_WRAP_WIDTH else None


def _soft(text: str, block: list[_Line], after: _Line, width: int | None) -> bool:
    """Whether the line break between the block so far and the next line of its paragraph is only wrapping."""
    before = block[-1]
    if before.kind != after.kind or before.kind not in (_PROSE, _QUOTE, _ITEM):
        return False
    if after.kind == _ITEM and _LIST_ITEM.match(text, after.start, after.end):
        return False  # a new item
    word = _FIRST_WORD.search(text, after.start, after.end)
    if word is None:
        return False
    last = text[before.start : before.start + before.length]
    full = width is not None and before.length + 1 + len(word.group()) > width
    if word.group()[:1].isupper() and _looks_like_heading(last) and (len(block) == 1 or _ends_sentence(text, block[-2])):
        # A heading: it starts after a sentence end and the next line starts another, unless the heading
        # itself was wrapped and goes on in title case.
        following = text[after.start : after.start + after.length]
        return full and not _TERMINAL.search(following) and _capitalised_share(following)[1] == 1.0
    if full:
        return True  # the wrapper moved the word down because it did not fit
    # Broken off mid-sentence: no sentence end before, a lower-case word after. A heading is followed by a
    # capitalised sentence, so it never lands here.
    return not _TERMINAL.search(last) and word.group()[:1].islower()


def _ends_sentence(text: str, line: _Line) -> bool:
    return bool(_TERMINAL.search(text, line.start, line.start + line.length))


def _looks_like_heading(line: str) -> bool:
    """A title-case line without a sentence end or a comma ("Muzammil's Dispute with the Taliban")."""
    if _TERMINAL.search(line) or "," in line:
        return False
    words, share = _capitalised_share(line)
    return words >= 2 and share >= HEADING_CAPITALISED


def _capitalised_share(line: str) -> tuple[int, float]:
    """How many words of 4+ letters the line has, and the share of them that is capitalised."""
    long_words = [w for w in _WORD.findall(line) if len(w) >= HEADING_WORD_LENGTH]
    return len(long_words), sum(w[:1].isupper() for w in long_words) / max(1, len(long_words))


def _blocks(text: str) -> list[list[_Line]]:
    """Runs of lines joined by soft breaks; every other break (and every blank line) separates blocks."""
    lines = _lines(text)
    width = _wrap_width(text, lines)
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.kind == _BLANK:
            if current:
                blocks.append(current)
            current = []
        elif current and _soft(text, current, line, width):
            current.append(line)
        else:
            if current:
                blocks.append(current)
            current = [line]
    if current:
        blocks.append(current)
    return blocks


# --------------------------------------------------------------------------- analysed text with an offset map
class _Analysed:
    """The text Punkt reads for one block: NFC-normalised, soft breaks as single spaces, with a map back.

    The map is a list of pieces (analysed start, original start, original end, identity): an identity piece
    maps character for character; any other piece (a normalisation unit, or a line break with its
    indentation) maps all its analysed characters to its whole original range.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pieces: list[tuple[int, int, int, bool]] = []
        self.keys: list[int] = []

    def add(self, analysed: str, start: int, end: int, identity: bool) -> None:
        if not analysed:
            return
        self.pieces.append((self.length, start, end, identity))
        self.keys.append(self.length)
        self.parts.append(analysed)
        self.length += len(analysed)

    def text(self) -> str:
        return "".join(self.parts)

    def start(self, position: int) -> int:
        a, start, end, identity = self.pieces[bisect_right(self.keys, position) - 1]
        return start + (position - a) if identity else start

    def end(self, position: int) -> int:
        """Original offset just after the analysed character before `position`."""
        a, start, end, identity = self.pieces[bisect_right(self.keys, position - 1) - 1]
        return start + (position - a) if identity else end


def _add_normalised(out: _Analysed, text: str, start: int, end: int) -> None:
    """Add text[start:end] in NFC, exact offsets for every character that normalisation leaves alone."""
    segment = text[start:end]
    if segment.isascii() or unicodedata.is_normalized("NFC", segment):
        out.add(segment, start, end, True)
        return
    units = _normalisation_units(segment)
    if "".join(unicodedata.normalize("NFC", segment[a:b]) for a, b in units) != unicodedata.normalize("NFC", segment):
        units = [(0, len(segment))]  # a composition across our unit boundary: normalise the line as one unit
    for a, b in units:
        piece = segment[a:b]
        normal = unicodedata.normalize("NFC", piece)
        out.add(normal, start + a, start + b, normal == piece)


def _normalisation_units(segment: str) -> list[tuple[int, int]]:
    """Spans of `segment` that NFC-normalise independently: each starts at a stable starter character."""
    boundaries = [0]
    for i in range(1, len(segment)):
        ch = segment[i]
        if ch.isascii() or (unicodedata.combining(ch) == 0 and unicodedata.is_normalized("NFD", ch)
                            and not "\u1100" <= ch <= "\u11ff"):  # Hangul jamo compose with their neighbours
            boundaries.append(i)
    boundaries.append(len(segment))
    units: list[tuple[int, int]] = []
    stable: list[bool] = []
    for a, b in zip(boundaries, boundaries[1:]):
        same = unicodedata.is_normalized("NFC", segment[a:b])
        if units and same and stable[-1]:
            units[-1] = (units[-1][0], b)  # characters NFC leaves alone share one identity unit
        else:
            units.append((a, b))
            stable.append(same)
    return units


def _analyse(text: str, block: list[_Line]) -> _Analysed:
    out = _Analysed()
    for i, line in enumerate(block):
        if i:
            # The soft break and the next line's indentation read as one space.
            previous_end = block[i - 1].start + block[i - 1].length
            content_start = line.start
            while content_start < line.end and text[content_start] in " \t":
                content_start += 1
            out.add(" ", previous_end, content_start, False)
            _add_normalised(out, text, content_start, line.start + line.length)
        else:
            _add_normalised(out, text, line.start, line.start + line.length)
    return out


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
            if start >= end:
                continue
            if max_chars is not None and end - start > max_chars:
                spans.extend(_cut(text, start, end, max_chars))
            else:
                spans.append((start, end))
    return spans


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
