"""Build an index: read documents, split them into passages and sentences, analyse for BM25, embed, record.

`build_index` turns documents into a `BuiltIndex` (texts, passage and sentence tables, the bm25s index, the
FAISS index, the `Manifest`) that a store saves. When the default model cannot be loaded, the index is built for
BM25 alone with one warning that says how to turn semantic search on; a model the user named that cannot be
loaded is an error. This module neither saves (see
`local_store.py`) nor searches.
"""

from __future__ import annotations

import logging
from array import array

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
