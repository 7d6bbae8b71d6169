"""`Reader`: picks the sentence of the retrieved passages that answers a question, or declines.

It gathers the sentences of the hits as candidates (each once, with the sentence before it for context), has
`scoring.py` score them (with question-sentence cosines in dense and hybrid modes), and keeps the best unless its
confidence is below the decline threshold. Sentence vectors come from the store when it kept them at indexing,
so a question costs one query embedding, not one per candidate. The result is a span of a document, optionally trimmed to a clause.
It works on any `Store`. It neither retrieves passages nor builds or verifies citations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoding import Encoder
from .lexical import analyze, analyze_words
from .scoring import Candidate, Reading, score_candidates, trim_to_clause
from .store import Store
from .types import Hit

DEFAULT_DECLINE_THRESHOLD = 0.4


@dataclass(frozen=True)
class Verdict:
    """The best reading, whether it clears the threshold, and the document span to quote."""

    reading: Reading
    accepted: bool
    doc_index: int
    start: int
    end: int

    @property
    def confidence(self) -> float:
        return self.reading.confidence


class Reader:
    def __init__(self, store: Store, encoder: Encoder | None):
        self.store = store
        self.encoder = encoder

    def read(self, question: str, hits: list[Hit], query_vector: np.ndarray | None, threshold: float,
             trim: bool = False) -> Verdict | None:
        """The verdict on the hits (None when there are none). `query_vector` is given in dense modes."""
        if not hits:
            return None
        candidates = self.candidates(hits)
        similarities = None
        if query_vector is not None:
            similarities = (self._sentence_vectors(candidates) @ query_vector).tolist()
        best = score_candidates(question, candidates, analyze_words, self.store.idf, similarities)[0]
        accepted = best.confidence >= threshold
        start, end = best.start, best.end
        if accepted and trim:
            start, end = trim_to_clause(best, analyze([question])[0], analyze)
        return Verdict(best, accepted, best.candidate.doc_index, start, end)

    def _sentence_vectors(self, candidates: list[Candidate]) -> np.ndarray:
        """Vectors stored at indexing when the store has them (float16 is enough for a cosine), else embedded."""
        stored = self.store.sentence_vectors([c.sentence_id for c in candidates])
        if stored is not None:
            return np.asarray(stored, dtype=np.float32)
        return self.encoder.encode_sentences([c.text for c in candidates])

    def candidates(self, hits: list[Hit]) -> list[Candidate]:
        seen: set[tuple[int, int]] = set()
        candidates = []
        for hit in hits:
            row = self.store.passage(hit.passage_id)
            text = self.store.text(row.doc_index)
            for s in range(row.first_sentence, row.last_sentence):
                sentence = self.store.sentence(s)
                if (row.doc_index, sentence.start) in seen:
                    continue
                seen.add((row.doc_index, sentence.start))
                previous = ""
                if s > 0:
                    before = self.store.sentence(s - 1)
                    if before.doc_index == row.doc_index:
                        previous = text[before.start : before.end]
                candidates.append(Candidate(hit.rank - 1, hit.passage_id, row.doc_index, sentence.start,
                                            sentence.end, text[sentence.start : sentence.end], previous, s))
        return candidates
