"""Extractive, citation-first question answering over your documents.

    import rag
    hits = rag.retrieve("Which province did Muzammil govern before Balkh?", k=5)
    ans = rag.answer("Which province did Muzammil govern before Balkh?")
    print(ans.text, ans.citations[0].start, ans.citations[0].end)

Importing this package loads no model and touches no network; heavy libraries load on first use.
"""

__version__ = "0.1.0"

from .api import answer, default_index, retrieve  # noqa: E402
from .config import Config  # noqa: E402
from .errors import (  # noqa: E402
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InputError,
    ModelUnavailableError,
    RagError,
)
from .index import Index  # noqa: E402
from .types import Answer, Citation, Document, Hit, Span  # noqa: E402


def evaluate(*args, **kwargs):
    """Evaluate answers against a question set; see `rag.evaluation.evaluate`."""
    from .evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = [
    "Answer",
    "Citation",
    "Config",
    "Document",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "InputError",
    "ModelUnavailableError",
    "RagError",
    "Span",
    "answer",
    "default_index",
    "evaluate",
    "retrieve",
]
