"""Checks of what callers pass in (questions, k), shared by the library, the CLI, the chat and evaluation.

Each check returns the cleaned value or raises `InputError` with a message that names the fix. This module
knows nothing of indexes.
"""

from __future__ import annotations

import numpy as np

from .config import MAX_QUESTION_CHARS
from .errors import InputError


def validate_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}, so shorten it"
        )
    return question.strip()


def validate_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise InputError(f"k must be a whole number of at least 1 (got {k!r}); for example --k 5")
    return int(k)
