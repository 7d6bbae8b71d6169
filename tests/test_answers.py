"""Known answers from the seed article, through the lexical path users get without a semantic model."""

import pytest

import rag

NANGARHAR = "Which province did Muzammil govern before Balkh?"
SPOKESPERSON = "Who is the Taliban government's spokesperson?"


def read_source(citation) -> str:
    with open(citation.source, encoding="utf-8") as handle:
        return handle.read()


def test_nangarhar_question_is_not_answered_wrongly(lexical_index):
    # The hand-set rules written for this one question (answer-noun weight, "before X" penalty) are gone; the
    # learned lexical reader does not find the sentence, and its low confidence makes it decline rather than
    # quote a wrong one.
    answer = lexical_index.answer(NANGARHAR)
    assert answer.declined or "governor of Nangarhar" in answer.text


def test_a_seed_answer_cites_the_sentence_that_says_so(lexical_index):
    answer = lexical_index.answer("Who is the Taliban government's spokesperson?")
    assert not answer.declined
    assert "Zabihullah Mujahid" in answer.text
    [citation] = answer.citations
    assert read_source(citation)[citation.start : citation.end] == citation.quote == answer.text
    assert citation.source.endswith("000_a2e84cf20c291977.txt")
    assert 0 < answer.confidence <= 1


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who claimed responsibility for the explosion at the governor's office?", "Islamic State Khorasan Province"),
        ("When did the Islamic State announce the creation of its Khorasan branch?", "January 10, 2015"),
        ("Which department sanctioned Muzammil in October 2018?", "US Treasury Department"),
        ("How many Taliban leaders pledged allegiance to ISIS in October 2014?", "six Taliban leaders"),
        ("Who is the Taliban government's spokesperson?", "Zabihullah Mujahid"),
        ("When was Muzammil appointed to lead the Quetta Shura military commission?", "early 2017"),
    ],
)
def test_seed_facts(lexical_index, question, expected):
    answer = lexical_index.answer(question)
    assert answer.text is not None and expected in answer.text
    for citation in answer.citations:
        assert read_source(citation)[citation.start : citation.end] == citation.quote


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How tall is Mount Everest?", "What is the population of Kabul?",
     "Who won the football world cup?"],
)
def test_questions_the_article_does_not_answer_are_declined(lexical_index, question):
    answer = lexical_index.answer(question)
    assert answer.declined and answer.text is None and answer.citations == []
    assert answer.confidence < lexical_index.decline_threshold


def test_answer_text_is_made_only_of_citation_quotes(lexical_index):
    answer = lexical_index.answer("Who is the Taliban government's spokesperson?")
    assert answer.text == " ".join(c.quote for c in answer.citations)


def test_trimmed_answer_is_still_a_verbatim_quote(lexical_index):
    answer = lexical_index.answer("Who pledged allegiance to ISIS on January 10, 2015?", trim=True)
    [citation] = answer.citations
    assert read_source(citation)[citation.start : citation.end] == answer.text
    assert "ten commanders" in answer.text


def test_hits_carry_offsets_into_the_source(lexical_index, seed_text):
    hits = lexical_index.retrieve(NANGARHAR, k=5, mode="lexical")
    assert len(hits) == 5 and [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert seed_text[hit.start : hit.end] == hit.text
        assert set(hit.scores) == {"bm25"}


def test_changed_source_file_drops_the_citation(tmp_path, seed_text, caplog):
    doc = tmp_path / "docs" / "article.txt"
    doc.parent.mkdir()
    doc.write_text(seed_text, encoding="utf-8")
    index = rag.Index.build([doc.parent], path=tmp_path / "idx", model="none", show_progress=False)
    doc.write_text("Rewritten.\n" + seed_text, encoding="utf-8")  # every offset moves by 11
    answer = index.answer(SPOKESPERSON)
    assert answer.declined and answer.citations == []
    assert "dropped a citation" in caplog.text


def test_module_level_api_builds_the_default_index(tmp_path, monkeypatch, seed_docs):
    monkeypatch.chdir(seed_docs.parent)
    (seed_docs.parent / "seeds").mkdir(exist_ok=True)
    (seed_docs.parent / "seeds" / "a.txt").write_text((seed_docs / "000_a2e84cf20c291977.txt").read_text("utf-8"), "utf-8")
    monkeypatch.setenv("RAG_INDEX", str(tmp_path / "auto-index"))
    monkeypatch.setenv("RAG_MODEL", "none")
    hits = rag.retrieve(NANGARHAR, k=3)
    assert len(hits) == 3 and (tmp_path / "auto-index" / "manifest.json").exists()
    assert "Zabihullah Mujahid" in rag.answer(SPOKESPERSON).text


def test_a_citation_names_its_file_absolutely_for_opening_from_any_folder(tmp_path, seed_docs, monkeypatch):
    monkeypatch.chdir(seed_docs.parent)
    index = rag.Index.build([seed_docs.name], path=tmp_path / "idx", config=rag.Config(model=None),
                            show_progress=False)
    monkeypatch.chdir(tmp_path)  # where the relative source means nothing
    [citation] = rag.Index.load(tmp_path / "idx").answer(SPOKESPERSON).citations
    assert citation.source == f"{seed_docs.name}/000_a2e84cf20c291977.txt"  # as indexed, for showing
    assert citation.path == str(seed_docs / "000_a2e84cf20c291977.txt")
    with open(citation.path, encoding="utf-8") as handle:
        assert handle.read()[citation.start : citation.end] == citation.quote
    assert index.manifest.source_root == str(seed_docs.parent)
