"""`Reader`: picks the sentence of the retrieved passages that answers a question, or declines.

It gathers the sentences of the hits as candidates (each once, with the sentence before it for context), turns
them into features (`reader_model.sentence_features`: coverage of the question's terms, answer type, retrieval
rank and scores, position, and the question-sentence cosine when the question was embedded) and scores them with
the learned model shipped in `reader_weights.json` (`reader_model.ReaderModel`). The best two are then read with
the question by the cross reader (`cross_reader.CrossReader`, the bundled encoder with LoRA adapters), and a second
stage picks among them from both scores; when its best score is low (the least sure questions), the next few are
read too and a second stage fitted for that many picks. The cross reader's best span is the short answer. The
confidence is the calibrated probability that the chosen sentence holds the answer (the decline model sees the
cross reader's score too); below the decline threshold the reader declines. Without the cross reader (its adapters
missing, or the ONNX export impossible) the first stage answers alone, with its own decline model and threshold.
Sentence vectors come from the store when it kept them at indexing, so a question costs one query embedding,
not one per candidate. `scorer="rules"` keeps the earlier hand-set scores (`scoring.score_candidates`) for
comparison. The result is a span of a document, optionally trimmed to a clause, with the short answer inside
it when one is found. It works on any `Store`. It neither retrieves passages nor builds or verifies citations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .encoding import Encoder
from .lexical import analyze, analyze_words
from .cross_reader import CrossReader, default_cross_reader
from .errors import ModelUnavailableError
from .onnx_encoder import OnnxUnavailableError
from .reader_model import (
    ReaderModel,
    cross_decline_features,
    decline_features,
    default_model,
    sentence_features,
)
from .second_stage import stage2_features
from .scoring import Candidate, Reading, answer_noun, score_candidates, trim_to_clause
from .spans import best_span
from .store import Store
from .types import Hit

logger = logging.getLogger(__name__)
DEFAULT_DECLINE_THRESHOLD = 0.4
SCORERS = ("learned", "rules")


@dataclass(frozen=True)
class Verdict:
    """The best reading, whether it clears the threshold, and the document span to quote."""

    reading: Reading
    accepted: bool
    doc_index: int
    start: int
    end: int
    span: tuple[int, int] | None = None  # the short answer, document offsets inside [start, end)

    @property
    def confidence(self) -> float:
        return self.reading.confidence


class Reader:
    def __init__(self, store: Store, encoder: Encoder | None, model: ReaderModel | None = None,
                 scorer: str = "learned", use_cross: bool = True):
        self.store = store
        self.encoder = encoder
        self.scorer = scorer
        self._model = model
        self.use_cross = use_cross
        self._cross: CrossReader | bool | None = None

    @property
    def model(self) -> ReaderModel:
        if self._model is None:
            self._model = default_model()
        return self._model

    @property
    def version(self) -> str:
        if self.scorer != "learned":
            return "rules"
        if self.model.cross_version and self.cross_reader is None:
            return f"{self.model.version}-first-stage"  # its own thresholds: without the cross reader it differs
        return self.model.version

    def default_threshold(self, mode: str) -> float:
        """The decline threshold shipped with the weights for this mode (chosen on SQuAD training articles)."""
        shipped = self.model.data.get("decline") or {}
        if self.cross_reader is not None:
            shipped = self.model.data["cross"]["decline"]
        return float(shipped.get(mode, shipped.get("default", DEFAULT_DECLINE_THRESHOLD)))

    def read(self, question: str, hits: list[Hit], query_vector: np.ndarray | None, threshold: float,
             trim: bool = False) -> Verdict | None:
        """The verdict on the hits (None when there are none). `query_vector` is given in dense modes."""
        if not hits:
            return None
        if self.scorer == "rules":
            best, span = self._read_rules(question, hits, query_vector), None
        else:
            best, span = self._read_learned(question, hits, query_vector)
        accepted = best.confidence >= threshold
        start, end = best.start, best.end
        if accepted and trim:
            start, end = trim_to_clause(best, analyze([question])[0], analyze)
        if not accepted:
            span = None
        elif span is None:
            span = self._span(question, best.candidate)
        if span is not None and not (start <= span[0] and span[1] <= end):
            span = None
        return Verdict(best, accepted, best.candidate.doc_index, start, end, span)

    def _read_learned(self, question: str, hits: list[Hit], query_vector: np.ndarray | None
                      ) -> tuple[Reading, tuple[int, int] | None]:
        """The learned reader's best sentence with its confidence, and the short answer when the cross reader
        found it. The first stage scores every candidate; with the cross reader, its best few are read with the
        question and rescored (the second stage), and the decline model sees the cross reader's score."""
        candidates, cols, bm25 = self.featurize(question, hits, query_vector)
        dense = query_vector is not None
        logits = self.model.scores(cols, dense)
        cross = self.cross_reader
        i = int(np.argmax(logits))
        if cross is not None:
            order = np.argsort(-logits, kind="stable")
            top = order[: self.model.cross_top(dense)]
            readings = cross.read(question, [candidates[j].text for j in top])
            stage2 = self.model.stage2_scores(self._stage2_rows(question, candidates, logits, top, readings), dense)
            more = self.model.cross_more(dense)
            if more is not None and float(stage2.max()) < more["below"] and len(order) > len(top):
                # Unsure after the first reads (the weights say how unsure, chosen on training articles)
                readings += cross.read(question, [candidates[j].text for j in order[len(top) : more["reads"]]])
                top = order[: len(readings)]
                stage2 = self.model.stage2_scores(self._stage2_rows(question, candidates, logits, top, readings),
                                                  dense, more=True)
            at = int(np.argmax(stage2))
            i = int(top[at])
        c = candidates[i]
        features = {name: float(v[i]) for name, v in cols.items()}
        row = self.store.passage(c.passage_id)
        passage = self.store.text(c.doc_index)[row.start : row.end]
        declining = decline_features(question, passage, features, logits, analyze, self.store.idf)
        span = None
        if cross is not None:
            reading = readings[at]
            declining = cross_decline_features(declining, reading.score, stage2, at)
            if reading.end > reading.start:
                span = (c.start + reading.start, c.start + reading.end)
        confidence = self.model.decline_probability(declining, dense, cross=cross is not None)
        if confidence is None:
            confidence = self.model.confidence(logits, dense)
        return Reading(c, confidence, c.start, c.end, features), span

    @staticmethod
    def _stage2_rows(question, candidates, logits, top, readings) -> np.ndarray:
        spans = [candidates[j].text[r.start : r.end] for j, r in zip(top, readings)]
        return stage2_features(logits[top], [r.score for r in readings], spans, question)

    @property
    def cross_reader(self) -> CrossReader | None:
        """The cross reader the weights were fitted with, or None (rules scorer, weights without a second stage,
        or its adapters missing or of another version)."""
        if self.scorer != "learned" or not self.use_cross:
            return None
        if self._cross is None:
            self._cross = default_cross_reader() or False
            wanted = self.model.cross_version
            if self._cross and self._cross.version != wanted:
                self._cross = False
            if self._cross:
                try:
                    self._cross.load()
                except (OnnxUnavailableError, ModelUnavailableError) as exc:
                    logger.warning("the cross reader is unavailable (%s); reading with the first stage only", exc)
                    self._cross = False
        return self._cross or None

    def _span(self, question: str, candidate: Candidate) -> tuple[int, int] | None:
        """Document offsets of the short answer in the chosen sentence, or None."""
        entities = self.store.entities(candidate.doc_index, candidate.start, candidate.end)
        scorer = self.model.span_scorer(entities is not None)
        if scorer is None:
            return None
        if entities is not None:
            entities = [(s - candidate.start, e - candidate.start, label) for s, e, label in entities]
        noun = answer_noun(question)
        found = best_span(question, candidate.text, scorer, noun.lower() if noun else None, entities)
        if found is None:
            return None
        return candidate.start + found[0], candidate.start + found[1]

    def _read_rules(self, question: str, hits: list[Hit], query_vector: np.ndarray | None) -> Reading:
        candidates, _ = self.candidates(hits)
        similarities = None
        if query_vector is not None:
            similarities = (self._sentence_vectors(candidates) @ query_vector).tolist()
        return score_candidates(question, candidates, analyze_words, self.store.idf, similarities)[0]

    def featurize(self, question: str, hits: list[Hit], query_vector: np.ndarray | None
                  ) -> tuple[list[Candidate], dict[str, np.ndarray], list[float]]:
        """The candidate sentences of the hits, their feature columns, and each one's passage BM25."""
        candidates, positions = self.candidates(hits)
        terms = None
        bm25 = {}
        missing = [h.passage_id for h in hits if "bm25" not in h.scores]
        if missing:  # dense mode: BM25 of its passages, for the feature
            terms = analyze([question])[0]
            bm25 = dict(zip(missing, self.store.lexical_scores(terms, missing).tolist()))
        bm25 |= {h.passage_id: h.scores["bm25"] for h in hits if "bm25" in h.scores}
        dense_passage = similarities = None
        if query_vector is not None:
            dense = {h.passage_id: h.scores["dense"] for h in hits if "dense" in h.scores}
            missing = [h.passage_id for h in hits if h.passage_id not in dense]
            if missing:
                dense |= dict(zip(missing, self.store.dense_similarity(query_vector, missing).tolist()))
            dense_passage = [dense[c.passage_id] for c in candidates]
            similarities = (self._sentence_vectors(candidates) @ query_vector).tolist()
        raw = [bm25[c.passage_id] for c in candidates]
        cols = sentence_features(question, candidates, analyze, self.store.idf, positions=positions,
                                 bm25=raw, dense_passage=dense_passage, similarities=similarities)
        return candidates, cols, raw

    def _sentence_vectors(self, candidates: list[Candidate]) -> np.ndarray:
        """Vectors stored at indexing when the store has them (float16 is enough for a cosine), else embedded."""
        stored = self.store.sentence_vectors([c.sentence_id for c in candidates])
        if stored is not None:
            return np.asarray(stored, dtype=np.float32)
        return self.encoder.encode_sentences([c.text for c in candidates])

    def candidates(self, hits: list[Hit]) -> tuple[list[Candidate], list[int]]:
        """Each sentence of the hits once (first hit wins), and its index in that passage."""
        seen: set[tuple[int, int]] = set()
        candidates, positions = [], []
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
                positions.append(s - row.first_sentence)
        return candidates, positions
