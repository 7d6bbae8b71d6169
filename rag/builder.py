"""Build an index: read documents, split them into passages and sentences, analyse for BM25, embed, record.

`build_index` turns documents into a `BuiltIndex` (texts, passage and sentence tables, the bm25s index, the
FAISS index, the `Manifest`) that a store saves. When the default model cannot be loaded, the index is built for
BM25 alone with one warning that says how to turn semantic search on; a model the user named that cannot be
loaded is an error. This module neither saves (see
`local_store.py`) nor searches. `update_index` makes the index of a sync: documents an opened store already
holds keep their passages and vectors, and only new or changed documents are chunked and embedded.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import replace

import numpy as np

from . import __version__
from .chunking import chunk
from .config import Config
from .documents import content_hash
from .encoding import Encoder
from .errors import InputError, ModelUnavailableError
from .lexical import LexicalIndex
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
) -> BuiltIndex:
    """Index documents already in memory.

    `vectors` (one unit vector per passage, in passage order) with `model_name` skip the encoder: the vectors
    were computed elsewhere with that model, which queries will load by name.
    """
    if not documents:
        raise InputError("there are no documents to index; give at least one non-empty document")
    if (vectors is None) != (model_name is None):
        raise InputError("precomputed vectors need the name of the model that made them; pass both "
                         "vectors= and model_name=, or neither")
    # Flat int64 arrays, not lists of tuples: at a million passages the tuples alone take gigabytes.
    doc_rows, passage_rows, sentence_rows, passage_texts = [], array("q"), array("q"), []
    layouts: list[dict | None] = []
    for doc_index, document in enumerate(documents):
        sentences, passages = chunk(document.text, config.chunk_chars, config.chunk_overlap)
        base = len(sentence_rows) // 3
        for start, end in sentences:
            sentence_rows.extend((doc_index, start, end))
        for p in passages:
            passage_rows.extend((doc_index, p.start, p.end, base + p.first_sentence, base + p.last_sentence))
            passage_texts.append(document.text[p.start : p.end])
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
    if not passage_texts:
        raise InputError("the documents hold no sentences to index; check that they contain text")

    encoder = None
    if vectors is not None:
        if len(vectors) != len(passage_texts):
            raise InputError(f"{len(vectors)} vectors were given for {len(passage_texts)} passages; embed "
                             f"the passages in the order chunking yields them, one vector each")
        encoder = Encoder(model_name, config.allow_download, config.batch_size)
    elif config.model:
        encoder = Encoder.from_config(config)
        try:
            vectors = encoder.encode_passages(passage_texts, show_progress=show_progress)
        except ModelUnavailableError as exc:
            # A model the user named is what they asked for: not having it is an error. Only the default may
            # quietly give way to BM25 (a machine without the bundled model), and it says so once.
            if not encoder.is_default:
                raise ModelUnavailableError(f"{exc}; or pass --model none to index for BM25 only") from None
            logger.warning("semantic search is off: %s. Continuing with BM25 only.", exc)
            encoder = None
    lexical = LexicalIndex.build(passage_texts, show_progress=show_progress)
    sentence_vectors = None
    if encoder is not None and model_name is None:
        # Embedded once here so that answering a question embeds only the question (float16 halves the file;
        # cosines move by less than 1e-3).
        sentence_vectors = encoder.encode_sentences(
            [documents[d].text[s:e] for d, s, e in np.frombuffer(sentence_rows, dtype=np.int64).reshape(-1, 3)]
        ).astype(np.float16)
    dense_index = None
    if vectors is not None:
        from .dense import build_index as build_dense

        dense_index = build_dense(vectors, show_progress=show_progress)
    entities = None
    if config.entities:
        entities = tag_entities([d.text for d in documents],
                                np.frombuffer(sentence_rows, dtype=np.int64).reshape(-1, 3), show_progress)

    manifest = Manifest(
        model=_model_record(encoder, vectors, precomputed=model_name is not None) if encoder else None,
        max_chars=config.chunk_chars,
        overlap_sentences=config.chunk_overlap,
        documents=DocumentTable(doc_rows),
        passages=len(passage_texts),
        sentences=len(sentence_rows) // 3,
        dense_index=_describe_dense(dense_index),
        package_version=__version__,
    )
    return BuiltIndex(
        manifest=manifest,
        texts=[d.text for d in documents],
        passage_rows=np.frombuffer(passage_rows, dtype=np.int64).reshape(-1, 5),
        sentence_rows=np.frombuffer(sentence_rows, dtype=np.int64).reshape(-1, 3),
        lexical=lexical,
        dense=dense_index,
        sentence_vectors=sentence_vectors,
        layouts=layouts,
        entities=entities,
    )


def tag_entities(texts: list[str], sentence_rows: np.ndarray, show_progress: bool) -> np.ndarray | None:
    """The entity table of the documents, or None (with one warning) when the tagger cannot be loaded: the reader
    then finds short answers without entity types."""
    from . import entity_tagger

    try:
        return entity_tagger.tag(texts, sentence_rows, show_progress=show_progress)
    except ModelUnavailableError as exc:
        logger.warning("short answers will not use entity types: %s", exc)
        return None


def _kept_entities(table: np.ndarray, old_index: int, doc_index: int) -> np.ndarray:
    first, last = np.searchsorted(table[:, 0], [old_index, old_index + 1])
    part = np.array(table[first:last])
    part[:, 0] = doc_index
    return part


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


def _stored_vectors(dense, ids: np.ndarray) -> np.ndarray:
    """The stored passage vectors of `ids` (a flat index is read in place; an IVF index through its direct map)."""
    if not len(ids):
        return np.zeros((0, dense.d), dtype=np.float32)
    if not hasattr(dense, "nlist") and len(ids) and int(ids[-1]) - int(ids[0]) + 1 == len(ids):
        return dense.reconstruct_n(int(ids[0]), len(ids))
    return np.vstack([dense.reconstruct_batch(np.ascontiguousarray(ids[i : i + 65_536], dtype=np.int64))
                      for i in range(0, len(ids), 65_536)])


def update_index(store, items: list, config: Config, encoder: Encoder | None,
                 show_progress: bool = True) -> tuple[BuiltIndex, int]:
    """A new `BuiltIndex` from an opened store and a plan, embedding only documents the store does not hold.

    `items`, in the order the new index keeps them: `(doc_index, row)` keeps a document of `store` (its passages,
    sentences and vectors are copied, its manifest row replaced by `row`), a `Document` is chunked and embedded
    as `build_index` would. BM25 is rebuilt from the passage texts (bm25s cannot update an index in place; this
    is tokenising, not embedding) and FAISS from the copied and new vectors. Returns the index and how many
    passages were embedded.
    """
    old = store.manifest
    with_vectors = store.has_vectors()
    old_passages = np.asarray(store._passages)
    old_sentences = np.asarray(store._sentences)
    old_sentence_vectors = store._sentence_vectors
    old_entities = store._entities
    entity_parts: list[np.ndarray] = []
    new_docs: list[tuple[int, str, np.ndarray]] = []  # documents to tag: position, text, sentence table
    doc_rows, texts, layouts, passage_parts, sentence_parts = [], [], [], [], []
    vector_parts, sentence_vector_parts, new_passage_texts, new_sentence_texts = [], [], [], []
    passage_count = sentence_count = 0
    for doc_index, item in enumerate(items):
        if isinstance(item, Document):
            text = item.text
            sentences, passages = chunk(text, config.chunk_chars, config.chunk_overlap)
            sentence_table = np.array([(doc_index, s, e) for s, e in sentences], dtype=np.int64).reshape(-1, 3)
            passage_table = np.array([(doc_index, p.start, p.end, sentence_count + p.first_sentence,
                                       sentence_count + p.last_sentence) for p in passages],
                                     dtype=np.int64).reshape(-1, 5)
            new_texts = [text[p.start : p.end] for p in passages]
            if with_vectors:
                vector_parts.append(("new", len(new_passage_texts), len(new_texts)))
                sentence_vector_parts.append(("new", len(new_sentence_texts), len(sentences)))
            new_passage_texts.extend(new_texts)
            new_sentence_texts.extend(text[s:e] for s, e in sentences)
            row = {"doc_id": item.doc_id, "source": item.source, "sha256": content_hash(text), "chars": len(text),
                   "passages": len(passages)}
            layout = layout_entry(item)
            new_docs.append((doc_index, text, sentence_table))
        else:
            old_index, row = item
            text = store.text(old_index)
            p0, p1 = _ranges(old_passages[:, 0], old_index)
            s0, s1 = _ranges(old_sentences[:, 0], old_index)
            passage_table = old_passages[p0:p1].copy()
            passage_table[:, 0] = doc_index
            passage_table[:, 3:5] += sentence_count - s0
            sentence_table = old_sentences[s0:s1].copy()
            sentence_table[:, 0] = doc_index
            if with_vectors:
                vector_parts.append(("old", p0, p1 - p0))
                sentence_vector_parts.append(("old", s0, s1 - s0))
            if old_entities is not None:
                entity_parts.append(_kept_entities(old_entities, old_index, doc_index))
            pages, sections = store.document_layout(old_index)
            layout = layout_entry(Document(row["doc_id"], row["source"], "", pages, sections))
        doc_rows.append(row)
        texts.append(text)
        layouts.append(layout)
        passage_parts.append(passage_table)
        sentence_parts.append(sentence_table)
        passage_count += len(passage_table)
        sentence_count += len(sentence_table)
    if not passage_count:
        raise InputError("the documents hold no sentences to index; check that they contain text")
    passage_rows = np.concatenate(passage_parts)
    sentence_rows = np.concatenate(sentence_parts)

    dense_index = sentence_vectors = None
    if with_vectors:
        if new_passage_texts and encoder is None:
            raise ModelUnavailableError(f"the index has vectors from {old.describe_model()}, which cannot be "
                                        f"loaded to embed the new documents; install it or rebuild with --model none")
        new_vectors = encoder.encode_passages(new_passage_texts, show_progress=show_progress) \
            if new_passage_texts else None
        new_sentence_vectors = encoder.encode_sentences(new_sentence_texts).astype(np.float16) \
            if new_sentence_texts else None
        vectors = np.concatenate([
            _stored_vectors(store._dense, np.arange(start, start + n)) if kind == "old" else new_vectors[start:start + n]
            for kind, start, n in vector_parts]).astype(np.float32, copy=False)
        if old_sentence_vectors is not None and sentence_vector_parts:
            sentence_vectors = np.concatenate([
                np.asarray(old_sentence_vectors[start:start + n]) if kind == "old"
                else new_sentence_vectors[start:start + n] for kind, start, n in sentence_vector_parts])
        from .dense import build_index as build_dense

        dense_index = build_dense(vectors, show_progress=show_progress)
    passage_texts = [texts[d][s:e] for d, s, e in passage_rows[:, :3]]
    lexical = LexicalIndex.build(passage_texts, show_progress=show_progress)
    manifest = replace(old, documents=DocumentTable(doc_rows), passages=passage_count, sentences=sentence_count,
                       dense_index=_describe_dense(dense_index), package_version=__version__, files=None,
                       created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    entities = None
    if old_entities is not None:
        if new_docs:
            tagged = tag_entities(texts, np.concatenate([rows for _, _, rows in new_docs]), show_progress)
            if tagged is not None:
                entity_parts.append(tagged)
        parts = [p for p in entity_parts if len(p)]
        entities = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int32)
        entities = entities[np.lexsort((entities[:, 1], entities[:, 0]))]
    built = BuiltIndex(manifest=manifest, texts=texts, passage_rows=passage_rows, sentence_rows=sentence_rows,
                       lexical=lexical, dense=dense_index, sentence_vectors=sentence_vectors, layouts=layouts,
                       entities=entities)
    return built, len(new_passage_texts) if with_vectors else 0
