"""rag.followup: follow-up questions rewritten from the previous turn, with pure functions and no model."""

from __future__ import annotations

import pytest

from rag.followup import entities, is_followup, rewrite

QUESTION = "Which province did Muzammil govern before Balkh?"
ANSWER = ("In addition to possible secret meetings and encounters, Majid Sadeghi Dolatabadi, the acting consul of "
          "the Islamic Republic in Jalalabad, Afghanistan, met with him last year when Muzammil was the governor "
          "of Nangarhar.")


def test_the_issue_example_carries_the_person_and_the_answered_place():
    assert rewrite("When was he appointed there?", QUESTION, ANSWER) == "When was Muzammil appointed in Nangarhar?"


def test_entities_skip_sentence_initial_function_words_and_possessives():
    found = [e.text for e in entities("However, after the Taliban’s return, Mohammad Daoud Muzammil went to Balkh.")]
    assert found == ["Taliban", "Mohammad Daoud Muzammil", "Balkh"]


@pytest.mark.parametrize("question", [
    "Who claimed responsibility for the explosion?",
    "Is there a dam in Balkh?",          # existential "there" is not a reference
    "Which province did Muzammil govern?",
])
def test_standalone_questions_are_left_alone(question):
    assert not is_followup(question)
    assert rewrite(question, QUESTION, ANSWER) == question


def test_no_previous_turn_means_no_rewrite():
    assert rewrite("When was he appointed there?", None, None) == "When was he appointed there?"


def test_person_pronouns_after_a_who_question_come_from_the_answer():
    answer = "Mohammad Daoud Muzammil, the Taliban governor of Balkh province in Afghanistan, was killed."
    assert rewrite("When was he killed?", "Who governed Balkh?", answer) == "When was Mohammad Daoud Muzammil killed?"


def test_possessive_pronouns_keep_the_possessive():
    assert rewrite("What was his role?", QUESTION, ANSWER) == "What was Muzammil’s role?"


def test_a_question_that_names_nothing_gets_the_last_names_appended():
    rewritten = rewrite("And in 2015?", QUESTION, ANSWER)
    assert rewritten.startswith("And in 2015") and "Muzammil" in rewritten and "Balkh" in rewritten


def test_a_declined_previous_answer_still_carries_the_question_names():
    assert rewrite("When was he appointed there?", QUESTION, None) == "When was Muzammil appointed in Balkh?"


def test_chains_work_because_callers_pass_the_previous_rewritten_query():
    first = rewrite("When was he appointed there?", QUESTION, ANSWER)
    assert rewrite("Who killed him?", first, "He was killed in an explosion.") == "Who killed Muzammil?"


def test_rewritten_query_finds_the_answer(lexical_index):
    previous = lexical_index.answer(QUESTION)
    assert "governor of Nangarhar" in previous.text
    searched = rewrite("When was he appointed there?", QUESTION, previous.text)
    assert "Muzammil" in searched and "Nangarhar" in searched
    assert not lexical_index.answer(searched).declined
