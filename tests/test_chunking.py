"""Sentence and passage offsets always point at the text they claim, whatever the document looks like."""

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


@settings(max_examples=300, deadline=None)
@given(documents(), st.integers(50, 400), st.integers(0, 3))
def test_every_span_is_its_text(text, max_chars, overlap):
    sentences, passages = chunk(text, max_chars=max_chars, overlap=overlap)
    for start, end in sentences:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        assert len(text[start:end]) <= max_chars
    assert sentences == sorted(sentences)
    assert all(a[1] <= b[0] for a, b in zip(sentences, sentences[1:])), "sentences must not overlap"
    for p in passages:
        assert text[p.start : p.end] == text[sentences[p.first_sentence][0] : sentences[p.last_sentence - 1][1]]
        assert p.end - p.start <= max_chars or p.last_sentence - p.first_sentence == 1
    covered = {i for p in passages for i in range(p.first_sentence, p.last_sentence)}
    assert covered == set(range(len(sentences))), "every sentence is in some passage"


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


def test_overlap_repeats_sentences_between_passages():
    sentences = [(i * 10, i * 10 + 9) for i in range(10)]
    passages = make_passages(sentences, max_chars=40, overlap=1)
    for a, b in zip(passages, passages[1:]):
        assert b.first_sentence == a.last_sentence - 1
