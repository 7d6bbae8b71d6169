"""seeds/questions.jsonl: well-formed, varied enough, and every gold answer checkable against the article."""

from pathlib import Path

from rag.evaluation import load_questions

QUESTIONS = Path(__file__).resolve().parent.parent / "seeds" / "questions.jsonl"


def test_every_line_parses_and_ids_are_unique():
    questions, problems = load_questions(QUESTIONS, strict=True)
    assert problems == []
    assert len({q.id for q in questions}) == len(questions)
    assert len({q.question for q in questions}) == len(questions)


def test_enough_answerable_and_unanswerable_questions():
    questions, _ = load_questions(QUESTIONS)
    assert sum(q.answerable for q in questions) >= 40
    assert sum(not q.answerable for q in questions) >= 6
    starts = {q.question.split()[0].lower() for q in questions}
    assert {"who", "what", "when", "where", "why", "how", "which"} <= starts


def test_evidence_is_verbatim_in_the_article_and_holds_every_answer(seed_text):
    questions, _ = load_questions(QUESTIONS)
    for q in questions:
        if not q.answerable:
            assert q.evidence is None, q.id
            continue
        assert q.evidence, f"{q.id} has no evidence"
        assert q.evidence in seed_text, f"{q.id}: evidence is not verbatim in the article"
        for answer in q.answers:
            assert answer in q.evidence, f"{q.id}: answer {answer!r} is not in its evidence"
