"""Build an index: read documents, split them into passages and sentences, analyse for BM25, embed, record.

`build_index` turns documents into a `BuiltIndex` (texts, passage and sentence tables, the bm25s index, the
FAISS index, the `Manifest`) that a store saves. When the default model cannot be loaded, the index is built for
BM25 alone with one warning that says how to turn semantic search on; a model the user named that cannot be
loaded is an error. This module neither saves (see
`local_store.py`) nor searches. `update_index` makes the index of a sync: documents an opened store already
holds keep their passages and vectors, and only new or changed documents are chunked and embedded.

Given a scratch folder, both work in bounded memory (BENCHMARKS.md, section 3): the passage and sentence tables are
made first (compact integer rows), then BM25, embeddings and copied vectors are made from them in batches
(`streaming.py`, `lexical_build.py`) into memory-mapped files there, which the save links into the index.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import __version__, entity_tagger, storage, streaming
from .chunking import chunk
from .config import Config
from .documents import content_hash
from .encoding import Encoder
from .errors import InputError, ModelUnavailableError
from .lexical_build import build_lexical
from .local_store import BuiltIndex
from .manifest import DocumentTable, Manifest, ModelRecord
from .types import Document

logger = logging.getLogger(__name__)


def _describe_dense(dense_index) -> str | None:
    if dense_index is None:
        return None
    from .dense import describe

    return describe(dense_index)


def _model_record(encoder: Encoder, vectors: np.ndarray, precomputed: bool) -> ModelRecord:
    """The manifest's model: name, dimension, and (when the encoder made the vectors) revision and weights hash."""
    if precomputed:  # vectors made elsewhere: the name is all we know, and the model need not be on this machine
        return ModelRecord(encoder.model_id, int(vectors.shape[1]))
    record = encoder.record()
    return ModelRecord(record["name"], int(vectors.shape[1]), record["revision"], record["weights_sha256"])


def build_index(
    documents: list[Document],
    config: Config,
    show_progress: bool = True,
    *,
    vectors: np.ndarray | None = None,
    model_name: str | None = None,
    scratch: Path | None = None,
) -> BuiltIndex:
    """Index documents already in memory.

    `vectors` (one unit vector per passage, in passage order) with `model_name` skip the encoder: the vectors
    were computed elsewhere with that model, which queries will load by name. `scratch`: a folder for the
    build's files (`index_folder.scratch_folder`); without one, everything is built in memory.
    """
    if not documents:
        raise InputError("there are no documents to index; give at least one non-empty document")
    if (vectors is None) != (model_name is None):
        raise InputError("precomputed vectors need the name of the model that made them; pass both "
                         "vectors= and model_name=, or neither")
    # Flat int64 arrays, not lists of tuples: at a million passages the tuples alone take gigabytes. No passage
    # text is cut here: BM25 and the encoder read them a batch at a time from the tables (see `streaming`).
    doc_rows, passage_rows, sentence_rows = [], array("q"), array("q")
    layouts: list[dict | None] = []
    for doc_index, document in enumerate(documents):
        sentences, passages = chunk(document.text, config.chunk_chars, config.chunk_overlap)
        base = len(sentence_rows) // 3
        for start, end in sentences:
            sentence_rows.extend((doc_index, start, end))
        for p in passages:
            passage_rows.extend((doc_index, p.start, p.end, base + p.first_sentence, base + p.last_sentence))
        doc_rows.append(
            {
                "doc_id": document.doc_id,
                "source": document.source,
                "sha256": content_hash(document.text),
                "chars": len(document.text),
                "passages": len(passages),
            }
        )
        layouts.append(layout_entry(document))
    passage_rows = np.frombuffer(passage_rows, dtype=np.int64).reshape(-1, 5)
    sentence_rows = np.frombuffer(sentence_rows, dtype=np.int64).reshape(-1, 3)
    if not len(passage_rows):
        raise InputError("the documents hold no sentences to index; check that they contain text")
    texts = [d.text for d in documents]

    encoder = None
    if vectors is not None:
        if len(vectors) != len(passage_rows):
            raise InputError(f"{len(vectors)} vectors were given for {len(passage_rows)} passages; embed "
                             f"the passages in the order chunking yields them, one vector each")
        encoder = Encoder(model_name, config.allow_download, config.batch_size)
    elif config.model:
        encoder = Encoder.from_config(config)
        try:
            vectors = streaming.embed(encoder.encode_passages, texts, passage_rows, scratch, "passage_vectors.npy",
                                      np.float32, show_progress, "Embedding passages")
        except ModelUnavailableError as exc:
            # A model the user named is what they asked for: not having it is an error. Only the default may
            # quietly give way to BM25 (a machine without the bundled model), and it says so once.
            if not encoder.is_default:
                raise ModelUnavailableError(f"{exc}; or pass --model none to index for BM25 only") from None
            logger.warning("semantic search is off: %s. Continuing with BM25 only.", exc)
            encoder = None
    # bm25s's progress bars were shown from 20,000 passages; build_lexical shows one above a batch.
    lexical = build_lexical(streaming.texts_of(texts, passage_rows), len(passage_rows), scratch,
                            show_progress=show_progress)
    sentence_vectors = None
    if encoder is not None and model_name is None:
        # Embedded once here so that answering a question embeds only the question (float16 halves the file;
        # cosines move by less than 1e-3).
        sentence_vectors = streaming.embed(encoder.encode_sentences, texts, sentence_rows, scratch,
                                           storage.SENTENCE_VECTORS, np.float16, show_progress, "Embedding sentences")
    dense_index = None
    if vectors is not None:
        from .dense import build_index as build_dense

        dense_index = build_dense(vectors, show_progress=show_progress)
    entities = None
    if config.entities:
        entities = entity_tagger.tag_or_none(texts, sentence_rows, show_progress)

    manifest = Manifest(
        model=_model_record(encoder, vectors, precomputed=model_name is not None) if encoder else None,
        max_chars=config.chunk_chars,
        overlap_sentences=config.chunk_overlap,
        documents=DocumentTable(doc_rows),
        passages=len(passage_rows),
        sentences=len(sentence_rows),
        dense_index=_describe_dense(dense_index),
        package_version=__version__,
    )
    return BuiltIndex(
        manifest=manifest,
        texts=texts,
        passage_rows=passage_rows,
        sentence_rows=sentence_rows,
        lexical=lexical,
        dense=dense_index,
        sentence_vectors=sentence_vectors,
        layouts=layouts,
        scratch=scratch,
        entities=entities,
    )


def layout_entry(document: Document) -> dict | None:
    """What `storage.LAYOUT` records for a document: its page starts and section headings, or None."""
    if not document.pages and not document.sections:
        return None
    entry: dict = {}
    if document.pages:
        entry["pages"] = list(document.pages)
    if document.sections:
        entry["sections"] = [[int(o), str(t)] for o, t in document.sections]
    return entry


def _ranges(column: np.ndarray, doc_index: int) -> tuple[int, int]:
    """Rows [first, last) of a table sorted by its document column that belong to document `doc_index`."""
    first, last = np.searchsorted(column, [doc_index, doc_index + 1])
    return int(first), int(last)


def update_index(store, items: list, config: Config, encoder: Encoder | None, show_progress: bool = True, *,
                 scratch: Path) -> tuple[BuiltIndex, int]:
    """A new `BuiltIndex` from an opened store and a plan, embedding only documents the store does not hold.

    `items`, in the order the new index keeps them: `(doc_index, row)` keeps a document of `store` (its text,
    passages, sentences and vectors are copied, its manifest row replaced by `row`), a `Document` is chunked and
    embedded as `build_index` would. BM25 is rebuilt from the passage texts (bm25s cannot update an index in place;
    this is tokenising, not embedding) and FAISS from the copied and new vectors. Texts, vectors and BM25 are
    written a batch at a time into `scratch` (see `index_folder.scratch_folder`). Returns the index and how many
    passages were embedded.
    """
    old = store.manifest
    with_vectors = store.has_vectors()
    old_passages = np.asarray(store._passages)
    old_sentences = np.asarray(store._sentences)
    old_sentence_vectors = store._sentence_vectors
    old_entities = store._entities
    entity_parts: list[np.ndarray] = []
    new_sentences: list[np.ndarray] = []  # the sentence tables of new documents, to tag
    doc_rows, layouts, passage_parts, sentence_parts = [], [], [], []
    vector_parts, sentence_vector_parts = [], []  # (first new row, rows, first old row or None: to embed)
    passage_count = sentence_count = embedded = 0
    texts = storage.TextWriter(scratch)
    for doc_index, item in enumerate(items):
        if isinstance(item, Document):
            text = item.text
            sentences, passages = chunk(text, config.chunk_chars, config.chunk_overlap)
            sentence_table = np.array([(doc_index, s, e) for s, e in sentences], dtype=np.int64).reshape(-1, 3)
            passage_table = np.array([(doc_index, p.start, p.end, sentence_count + p.first_sentence,
                                       sentence_count + p.last_sentence) for p in passages],
                                     dtype=np.int64).reshape(-1, 5)
            vector_parts.append((passage_count, len(passage_table), None))
            sentence_vector_parts.append((sentence_count, len(sentence_table), None))
            embedded += len(passage_table)
            texts.add(text.encode("utf-8"))
            row = {"doc_id": item.doc_id, "source": item.source, "sha256": content_hash(text), "chars": len(text),
                   "passages": len(passages)}
            layout = layout_entry(item)
            new_sentences.append(sentence_table)
        else:
            old_index, row = item
            p0, p1 = _ranges(old_passages[:, 0], old_index)
            s0, s1 = _ranges(old_sentences[:, 0], old_index)
            passage_table = old_passages[p0:p1].copy()
            passage_table[:, 0] = doc_index
            passage_table[:, 3:5] += sentence_count - s0
            sentence_table = old_sentences[s0:s1].copy()
            sentence_table[:, 0] = doc_index
            vector_parts.append((passage_count, p1 - p0, p0))
            sentence_vector_parts.append((sentence_count, s1 - s0, s0))
            texts.add(store.raw_text(old_index))
            if old_entities is not None:
                entity_parts.append(entity_tagger.kept(old_entities, old_index, doc_index))
            pages, sections = store.document_layout(old_index)
            layout = layout_entry(Document(row["doc_id"], row["source"], "", pages, sections))
        doc_rows.append(row)
        layouts.append(layout)
        passage_parts.append(passage_table)
        sentence_parts.append(sentence_table)
        passage_count += len(passage_table)
        sentence_count += len(sentence_table)
    texts.close()
    store.release_texts()
    if not passage_count:
        raise InputError("the documents hold no sentences to index; check that they contain text")
    passage_rows = np.concatenate(passage_parts)
    sentence_rows = np.concatenate(sentence_parts)
    new_texts = storage.TextStore(scratch)

    def passage_texts(start: int, end: int) -> list[str]:
        batch = streaming.row_texts(new_texts, passage_rows[start:end])
        new_texts.release()
        return batch

    # BM25 first: its token arrays are gone before FAISS fills.
    lexical = build_lexical(passage_texts, passage_count, scratch, show_progress=show_progress)

    dense_index = sentence_vectors = None
    if with_vectors:
        if embedded and encoder is None:
            raise ModelUnavailableError(f"the index has vectors from {old.describe_model()}, which cannot be "
                                        f"loaded to embed the new documents; install it or rebuild with --model none")
        from .dense import FAISS_FILE, build_index as build_dense

        vectors = streaming.new_array(scratch, "passage_vectors.npy", np.float32, (passage_count, store._dense.d))
        with streaming.progress(embedded, show_progress, "Embedding passages") as bar:
            for at, count, first in streaming.merge_parts(vector_parts):
                if first is None:
                    streaming.embed_into(vectors, at, encoder.encode_passages, new_texts,
                                         passage_rows[at : at + count], bar)
                else:
                    streaming.copy_stored(vectors, at, store._dense, first, count, store.path / FAISS_FILE)
        if old_sentence_vectors is not None:
            sentence_vectors = streaming.new_array(scratch, storage.SENTENCE_VECTORS, np.float16,
                                                   (sentence_count, old_sentence_vectors.shape[1]))
            for at, count, first in streaming.merge_parts(sentence_vector_parts):
                if first is None:
                    streaming.embed_into(sentence_vectors, at, encoder.encode_sentences, new_texts,
                                         sentence_rows[at : at + count])  # float16 by assignment, as astype
                else:
                    streaming.copy_rows(sentence_vectors, at, old_sentence_vectors, first, count)
        dense_index = build_dense(vectors, show_progress=show_progress)
    manifest = replace(old, documents=DocumentTable(doc_rows), passages=passage_count, sentences=sentence_count,
                       dense_index=_describe_dense(dense_index), package_version=__version__, files=None,
                       created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    entities = None
    if old_entities is not None:
        if new_sentences:
            tagged = entity_tagger.tag_or_none(new_texts, np.concatenate(new_sentences), show_progress)
            if tagged is not None:
                entity_parts.append(tagged)
        entities = entity_tagger.merged(entity_parts)
    built = BuiltIndex(manifest=manifest, texts=new_texts, passage_rows=passage_rows, sentence_rows=sentence_rows,
                       lexical=lexical, dense=dense_index, sentence_vectors=sentence_vectors, layouts=layouts,
                       scratch=scratch, entities=entities)
    return built, embedded if with_vectors else 0
