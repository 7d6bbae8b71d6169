"""Read a SQuAD v1.1 file into documents (one per paragraph) and evaluation questions.

Each paragraph becomes a `Document` whose id is its content hash (as for files) and whose source reads
"squad-dev/<title>/<n>"; each question names the paragraph it was written on, which is what a retrieval hit
must find. This module only adapts the format: it neither indexes nor scores (see `rag.evaluation`), and it
never copies the data set anywhere.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .documents import doc_id_for
from .errors import InputError
from .evaluation import Question
from .types import Document

logger = logging.getLogger(__name__)


def load_squad(path: str | Path, prefix: str = "squad-dev") -> tuple[list[Document], list[Question]]:
    """Paragraphs as documents and questions with their gold answers and paragraph, in file order."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
    except FileNotFoundError:
        raise InputError(f"SQuAD file not found: {path}; give the path of dev-v1.1.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a SQuAD v1.1 file ({exc!r}); expected {{\"data\": [articles]}}") from None
    documents: list[Document] = []
    questions: list[Question] = []
    seen: set[str] = set()
    duplicates = 0
    try:
        for article in articles:
            title = str(article["title"])
            for n, paragraph in enumerate(article["paragraphs"]):
                text = paragraph["context"]
                doc_id = doc_id_for(text)
                if doc_id in seen:
                    # Same text twice is one document; its questions still point at it.
                    duplicates += 1
                else:
                    seen.add(doc_id)
                    documents.append(Document(doc_id=doc_id, source=f"{prefix}/{title}/{n}", text=text))
                for qa in paragraph["qas"]:
                    answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip()))
                    questions.append(Question(id=str(qa["id"]), question=qa["question"].strip(), answers=answers,
                                              doc_ids=(doc_id,)))
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path} does not follow the SQuAD v1.1 layout (missing or bad {exc}); "
                         "each article needs a title and paragraphs with context and qas") from None
    if duplicates:
        logger.info("%d paragraphs repeat an earlier one's text and were indexed once", duplicates)
    return documents, questions
