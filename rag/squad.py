"""Read a SQuAD v1.1 file into documents (one per paragraph) and evaluation questions.

Each paragraph becomes a `Document` whose id is its content hash (as for files) and whose source reads
"squad-dev/<title>/<n>"; each question names the paragraph it was written on, which is what a retrieval hit
must find. This module only adapts the format: it neither indexes nor scores (see `rag.evaluation`), and it
never copies the data set anywhere.

It also owns the one train / held-out split of the benchmark, by article (`is_held_out`): settings such as the
hybrid fusion weights are chosen on training articles' questions, and figures are reported on held-out ones.
Every paragraph is indexed whichever split is asked, so retrieval stays open over the whole corpus.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from .documents import doc_id_for
from .errors import InputError
from .evaluation import Question
from .types import Document

logger = logging.getLogger(__name__)

TRAIN, HELD_OUT, ALL = "train", "heldout", "all"
SPLITS = (TRAIN, HELD_OUT, ALL)


def is_held_out(title: str) -> bool:
    """Whether an article is held out: the SHA-1 of its UTF-8 title, read as an integer, is odd.

    A hash of the title rather than a position in the file, so the split does not move when articles are
    reordered or added. On SQuAD v1.1 dev it holds out 28 of 48 articles (5,708 of 10,570 questions).

    >>> is_held_out("Normans"), is_held_out("Nikola_Tesla")
    (True, False)
    """
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 2 == 1


def in_split(title: str, split: str) -> bool:
    """Whether an article's questions belong to `split` (train, heldout or all)."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split == ALL or is_held_out(title) == (split == HELD_OUT)


def load_squad(path: str | Path, prefix: str = "squad-dev", split: str = ALL) -> tuple[list[Document], list[Question]]:
    """Every paragraph as a document, and the questions of the articles in `split` with their gold answers and
    paragraph, in file order. Documents never depend on the split: retrieval is open over the whole file."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
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
            asked = in_split(title, split)
            for n, paragraph in enumerate(article["paragraphs"]):
                text = paragraph["context"]
                doc_id = doc_id_for(text)
                if doc_id in seen:
                    # Same text twice is one document; its questions still point at it.
                    duplicates += 1
                else:
                    seen.add(doc_id)
                    documents.append(Document(doc_id=doc_id, source=f"{prefix}/{title}/{n}", text=text))
                for qa in paragraph["qas"] if asked else ():
                    answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip()))
                    questions.append(Question(id=str(qa["id"]), question=qa["question"].strip(), answers=answers,
                                              doc_ids=(doc_id,)))
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path} does not follow the SQuAD v1.1 layout (missing or bad {exc}); "
                         "each article needs a title and paragraphs with context and qas") from None
    if duplicates:
        logger.info("%d paragraphs repeat an earlier one's text and were indexed once", duplicates)
    return documents, questions
