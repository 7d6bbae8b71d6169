"""Question sets: the JSONL format `rag eval` reads, parsed into typed `Question`s with line-level problems.

A question set is JSONL, one object per line:
    {"id": "q1", "question": "Which river runs through the city?", "answers": ["the Vltava"],
     "evidence": "The Vltava runs through the city."}
`answers` lists acceptable answers (an empty list: the documents do not answer it); `id` and `evidence` (verbatim
text of a document that supports the answer) are optional; other keys are ignored. A malformed line is reported
with its number and skipped, or stops the load with `strict`. This module neither scores nor runs anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..config import MAX_QUESTION_CHARS
from ..errors import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Question:
    """One question of a set. `doc_ids`, when given, are the documents that hold the answer (benchmarks)."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str | None = None
    doc_ids: tuple[str, ...] = ()
    line: int | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def parse_question(obj, line: int) -> Question:
    """A `Question` from one decoded JSONL object; ValueError says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f'"question" is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}')
    if "answers" not in obj:
        raise ValueError('"answers" is missing; give a list of answers, or [] when the documents do not answer it')
    answers = obj["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError('"answers" must be a list of non-empty strings ([] when the documents do not answer it)')
    evidence = obj.get("evidence")
    if evidence is not None and (not isinstance(evidence, str) or not evidence.strip()):
        raise ValueError('"evidence" must be a non-empty string when given')
    qid = obj.get("id", f"line-{line}")
    if not isinstance(qid, (str, int)) or isinstance(qid, bool):
        raise ValueError('"id" must be a string or a number when given')
    return Question(id=str(qid), question=question.strip(), answers=tuple(answers), evidence=evidence, line=line)


def load_questions(path: str | Path, strict: bool = False) -> tuple[list[Question], list[LineProblem]]:
    """Questions of a JSONL file, and the malformed lines that were skipped (an InputError instead with strict)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"question set not found: {path}; give the path of a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL") from None
    questions, problems = [], []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            questions.append(parse_question(json.loads(text), number))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            problem = LineProblem(number, str(exc))
            if strict:
                raise InputError(f"{path}: {problem}; fix the line or drop --strict to skip it") from None
            logger.warning("%s: skipped %s", path, problem)
            problems.append(problem)
    if not questions:
        raise InputError(f"{path} holds no usable questions; each line needs a JSON object with "
                         '"question" and "answers"')
    return questions, problems

