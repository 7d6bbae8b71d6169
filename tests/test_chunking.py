"""Sentence and passage offsets always point at the text they claim, whatever the document looks like."""

import re
import textwrap
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk, make_passages, split_sentences

WORDS = st.sampled_from(
    ["Balkh", "governor", "Muzammil", "the", "Mr.", "U.S.", "2017", "naïve", "“quoted”", "ISIS-K", "日本",
     "e.g.", "café", "’s", "a", "…", "x"]
)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=12),
    st.sampled_from([".", "?", "!", "", ".\u201d", "..."]),
)
BLANK_LINE = re.compile(r"(?:\r\n|\r(?!\n)|\n)[ \t]*(?:\r\n|\r(?!\n)|\n)")
GAP = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n", "\u00a0", "\u2028"])


@st.composite
def documents(draw):
    sentences = draw(st.lists(SENTENCE, min_size=1, max_size=25))
    if draw(st.booleans()):  # repeated sentences must keep their own offsets
        sentences = sentences + sentences[: draw(st.integers(0, len(sentences)))]
    text = draw(st.sampled_from(["", " ", "\n"]))
    for sentence in sentences:
        text += sentence + draw(GAP)
    return text


@st.composite
def laid_out_documents(draw):
    """The same kind of text as it arrives from files: hard-wrapped, with CRLF or lone CR, NFD, a BOM."""
    paragraphs = [draw(documents()).strip() for _ in range(draw(st.integers(1, 4)))]
    width = draw(st.sampled_from([None, 20, 40, 72]))
    if width is not None:
        paragraphs = [textwrap.fill(p, width) for p in paragraphs]
    text = draw(st.sampled_from(["\n\n", "\n", "\n \n"])).join(paragraphs) + draw(st.sampled_from(["", "\n"]))
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD", "NFKD"])), text)
    text = text.replace("\n", draw(st.sampled_from(["\n", "\r\n", "\r"])))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


def check_spans(text, max_chars, overlap):
    sentences, passages = chunk(text, max_chars=max_chars, overlap=overlap)
    for start, end in sentences:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        assert "\ufeff" not in text[start:end]
        assert not BLANK_LINE.search(text[start:end]), "a sentence never crosses a blank line"
        assert len(text[start:end]) <= max_chars
    assert sentences == sorted(sentences)
    assert all(a[1] <= b[0] for a, b in zip(sentences, sentences[1:])), "sentences must not overlap"
    for p in passages:
        assert text[p.start : p.end] == text[sentences[p.first_sentence][0] : sentences[p.last_sentence - 1][1]]
        # The size counts one character per gap between sentences, however much whitespace the gap holds.
        size = sum(end - start for start, end in sentences[p.first_sentence : p.last_sentence])
        size += p.last_sentence - p.first_sentence - 1
        assert size <= max_chars or p.last_sentence - p.first_sentence == 1
    covered = {i for p in passages for i in range(p.first_sentence, p.last_sentence)}
    assert covered == set(range(len(sentences))), "every sentence is in some passage"
    return sentences


@settings(max_examples=300, deadline=None)
@given(documents(), st.integers(50, 400), st.integers(0, 3))
def test_every_span_is_its_text(text, max_chars, overlap):
    check_spans(text, max_chars, overlap)


@settings(max_examples=300, deadline=None)
@given(laid_out_documents(), st.integers(50, 400), st.integers(0, 3))
def test_every_span_is_its_text_in_wrapped_crlf_nfd_and_bom_documents(text, max_chars, overlap):
    check_spans(text, max_chars, overlap)


def test_no_text_is_lost_between_sentences(seed_text):
    spans = split_sentences(seed_text)
    gaps = [seed_text[a[1] : b[0]] for a, b in zip(spans, spans[1:])]
    assert all(not gap.strip() for gap in gaps)


def test_headings_stay_out_of_the_next_sentence(seed_text):
    spans = split_sentences(seed_text)
    texts = [seed_text[a:b] for a, b in spans]
    assert "The Return of ISIS" in texts
    assert all("\n" not in t for t in texts)


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met Dr. Jones in Washington D.C. on Jan. 5. They talked."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Mr. Smith met Dr. Jones in Washington D.C. on Jan. 5.",
        "They talked.",
    ]


def test_chinese_and_japanese_sentences_end_at_their_full_stops_but_not_inside_a_quote():
    text = "東京タワーは1958年に完成した。高さは333メートルである。「本当？」と彼は聞いた。北京是中国的首都！你去过吗？ Fine."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "東京タワーは1958年に完成した。", "高さは333メートルである。", "「本当？」と彼は聞いた。", "北京是中国的首都！",
        "你去过吗？", "Fine."]


def test_overlap_repeats_sentences_between_passages():
    sentences = [(i * 10, i * 10 + 9) for i in range(10)]
    passages = make_passages(sentences, max_chars=40, overlap=1)
    for a, b in zip(passages, passages[1:]):
        assert b.first_sentence == a.last_sentence - 1


# --------------------------------------------------------------------------- layout
PARAGRAPHS = [
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after "
    "the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.",
    "Locally nicknamed \"La dame de fer\", it was constructed as the centrepiece of the 1889 World's Fair. "
    "Although initially criticised by some of France's leading artists and intellectuals for its design, it "
    "has since become a global cultural icon of France and one of the most recognisable structures in the "
    "world. The tower received 5,889,000 visitors in 2022.",
]


def sentence_texts(text):
    return [" ".join(text[a:b].split()) for a, b in split_sentences(text)]


def test_a_hard_wrapped_paragraph_splits_like_the_unwrapped_one():
    plain = "\n\n".join(PARAGRAPHS)
    for width in (40, 72, 80):
        wrapped = "\n\n".join(textwrap.fill(p, width, break_on_hyphens=False) for p in PARAGRAPHS)
        assert sentence_texts(wrapped) == sentence_texts(plain)
    wrapped = textwrap.fill(PARAGRAPHS[0], 72)
    first = split_sentences(wrapped)[0]
    assert wrapped[first[0] : first[1]] == (
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in\nParis, France."
    )


def test_a_wrapped_heading_is_its_own_sentence():
    text = ("Construction of the Tower\nWork on the foundations started in January 1887 and the tower was\n"
            "completed in March 1889.\n")
    assert sentence_texts(text) == [
        "Construction of the Tower",
        "Work on the foundations started in January 1887 and the tower was completed in March 1889.",
    ]


def test_seed_layout_is_unchanged_one_paragraph_per_line(seed_text):
    # The seed: no blank lines, a paragraph per line, headings without a full stop. Every sentence is in one line.
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", seed_text)]
    for start, end in split_sentences(seed_text):
        assert any(a <= start and end <= b for a, b in lines)


def test_lists_code_and_tables_are_not_glued():
    text = (
        "Steps to climb the tower\n"
        "- buy a ticket at the\n  south pillar\n"
        "- take the lift\n"
        "1. walk up\n"
        "\n"
        "    pip install rag\n"
        "    rag index docs\n"
        "\n"
        "| Floor | Height |\n"
        "|-------|--------|\n"
        "| first | 57 m   |\n"
        "\n"
        "# Tickets\n"
        "Tickets are sold online\n"
        "and at the pillars.\n"
    )
    assert sentence_texts(text) == [
        "Steps to climb the tower",
        "- buy a ticket at the south pillar",
        "- take the lift",
        "1. walk up",
        "pip install rag",
        "rag index docs",
        "| Floor | Height |",
        "|-------|--------|",
        "| first | 57 m |",
        "# Tickets",
        "Tickets are sold online and at the pillars.",
    ]


def test_fenced_code_lines_stay_apart():
    text = "Run this:\n```\nx = 1\ny = 2\n```\nThen stop.\n"
    assert sentence_texts(text) == ["Run this:", "```", "x = 1", "y = 2", "```", "Then stop."]


def test_crlf_lone_cr_and_bom_keep_offsets_on_the_original_characters():
    plain = "\n".join(textwrap.fill(p, 60) for p in PARAGRAPHS)
    expected = sentence_texts(plain)
    for variant in (plain.replace("\n", "\r\n"), plain.replace("\n", "\r"), "\ufeff" + plain):
        spans = split_sentences(variant)
        assert [" ".join(variant[a:b].split()) for a, b in spans] == expected
        assert variant[spans[0][0]] == "T"  # not the BOM


def test_decomposed_text_is_split_as_nfc_with_offsets_on_the_decomposed_characters():
    nfc = "Le café est à Paris. Il a été construit en 1889 par M. Eiffel. Il est très haut."
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > len(nfc)
    spans = split_sentences(nfd)
    assert [unicodedata.normalize("NFC", nfd[a:b]) for a, b in spans] == sentence_texts(nfc)
    assert nfd[spans[-1][0] : spans[-1][1]] == unicodedata.normalize("NFD", "Il est très haut.")
