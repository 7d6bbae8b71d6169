"""BM25 over passages with bm25s: English stop words removed, Snowball-stemmed tokens.

The same analyser turns passages, queries and (for the reader) sentences into terms, so a question's words
match the index's. Document frequencies are kept beside the index so the reader can weigh terms by rarity.
This module does not fuse or read.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

BM25_DIR = "bm25"
DF_FILE = "document_frequency.npy"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: C Snowball stemmers

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> list[str]:
    # NLTK's 179-word English list (bm25s ships it): bm25s's default "en" list is 33 words and keeps
    # question words such as "which", "did" and "before", which then dominate short questions.
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return list(STOPWORDS_EN_PLUS)


def analyze(texts: list[str]) -> list[list[str]]:
    """Terms of each text: lower-cased words of 2+ characters, English stop words out, stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=stopwords(), stemmer=_stemmer(), return_ids=False, show_progress=False)


@lru_cache(maxsize=200_000)
def _word_terms(word: str) -> tuple[str, ...]:
    return tuple(analyze([word])[0])


def analyze_words(words: list[str]) -> list[list[str]]:
    """`analyze` of single words, one list per word, memoised: the reader analyses the same sentences' words for
    question after question, and one bm25s.tokenize call per word list costs more than the rest of reading."""
    return [list(_word_terms(word)) for word in words]


class LexicalIndex:
    def __init__(self, retriever, document_frequency: np.ndarray, folder: Path | None = None):
        self._retriever = retriever
        self._df = document_frequency
        self._folder = folder  # where its files are, when it was loaded from them
        self.size = int(retriever.scores["num_docs"])

    def save(self, folder: Path) -> None:
        if self._folder is not None:  # built into files (or loaded): link them, not a second copy through memory
            from .index_folder import link_tree

            link_tree(self._folder / BM25_DIR, folder / BM25_DIR)
            link_tree(self._folder / DF_FILE, folder / DF_FILE)
            return
        self._retriever.save(str(folder / BM25_DIR), show_progress=False)
        np.save(folder / DF_FILE, self._df, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25.load(str(folder / BM25_DIR), mmap=mmap, show_progress=False, verbosity=0)
        df = np.load(folder / DF_FILE, mmap_mode="r" if mmap else None, allow_pickle=False)
        return cls(retriever, df, Path(folder))

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for the query terms (zeros when no term is in the vocabulary)."""
        known = [t for t in terms if t in self._retriever.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def idf(self, term: str) -> float:
        """BM25's idf of a term; a term the corpus never uses gets the largest value, as the rarest term."""
        index = self._retriever.vocab_dict.get(term)
        df = int(self._df[index]) if index is not None and index < len(self._df) else 0
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    @staticmethod
    def stats(folder: Path) -> dict:
        return json.loads((folder / BM25_DIR / "params.index.json").read_text())


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k highest positive scores, best first (ties by id)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    return positive[order]
