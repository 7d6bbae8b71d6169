"""The two Milvus collections of an index: their layout, primary keys, creation, loading, and reading records back.

An index named `milvus:URI` (with `--collection NAME`, default `rag`) lives in:

  NAME       one entity per passage: primary key from the document id (itself the first 64 bits of the text's
             sha256) and the passage number; document id, passage number, character offsets, first and last
             sentence (numbered within the document), the passage text, the BM25 input (`lexical`, fed to a
             Milvus BM25 function into the sparse field `sparse`) and the passage's unit vector (`dense`, IP).
  NAME_docs  the rest, as entities keyed by strings: `manifest` (the manifest JSON without its document rows),
             `doc:ID:PART` (a document's record: source, sha256, counts, its order, sentence and passage spans),
             `text:ID:PART` (its text, in parts of at most 60,000 bytes) and `s:ID:N` (sentence N's unit vector).

Every key is derived from content, so writes are upserts: a killed build or sync re-run rewrites the same
entities. A build writes the manifest last, so an interrupted one is reported as incomplete, not half-read.

This module deliberately neither writes entities (`milvus_writer.py`) nor searches (`milvus_search.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import contextmanager

from .errors import IndexCorruptError
from .milvus_target import MilvusTarget

ANALYSERS = ("rag", "english")
PART_BYTES = 60_000  # VARCHAR fields hold at most 65,535 bytes
VARCHAR_MAX = 65_535
BATCH = 512  # entities per insert
PASSAGE_BITS = 20  # passage and sentence numbers within a document (a million each)
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s's defaults (method "lucene"), so scores agree
# "rag": our terms, already analysed and joined by spaces; the standard tokenizer splits them back unchanged (Milvus
# Lite has no whitespace tokenizer). "english": Milvus's English analyser, spelled out (Lite knows no "type").
ANALYSER_PARAMS = {
    "rag": {"tokenizer": "standard"},
    "english": {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": ["_english_"]},
                                                    {"type": "stemmer", "language": "english"}]},
}
# Settings for large collections, read when a build creates them (docs/scale-out.md):
#   RAG_MILVUS_SHARDS=N              shards of the passage collection (default: the server's, 1)
#   RAG_MILVUS_DENSE_INDEX=TYPE      HNSW, IVF_SQ8, DISKANN, ... (default AUTOINDEX)
#   RAG_MILVUS_SENTENCE_VECTORS=0    do not store sentence vectors (the reader then embeds its candidates)
SHARDS_VARIABLE, DENSE_INDEX_VARIABLE, SENTENCES_VARIABLE = (
    "RAG_MILVUS_SHARDS", "RAG_MILVUS_DENSE_INDEX", "RAG_MILVUS_SENTENCE_VECTORS")


def doc_key(doc_id: str) -> int:
    """43 bits of a document id (a sha256 prefix; hashed again if it is not hex), for passage primary keys."""
    try:
        value = int(doc_id[:11], 16)
    except ValueError:
        value = int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:11], 16)
    return value >> 1  # 43 bits


def passage_key(doc_id: str, number: int) -> int:
    return (doc_key(doc_id) << PASSAGE_BITS) | number



def _create(client, target: MilvusTarget, dimension: int | None, analyser: str) -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
    for name in ("passage_no", "start", "end", "first_sentence", "last_sentence"):
        schema.add_field(name, DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    analyzer = ANALYSER_PARAMS[analyser]
    schema.add_field("lexical", DataType.VARCHAR, max_length=VARCHAR_MAX, enable_analyzer=True, enable_match=True,
                     analyzer_params=analyzer)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    if dimension:
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        index.add_index(field_name="dense", index_type=os.environ.get(DENSE_INDEX_VARIABLE) or "AUTOINDEX",
                        metric_type="IP")
    shards = os.environ.get(SHARDS_VARIABLE)
    extra = {"num_shards": int(shards)} if shards and shards.isdigit() and int(shards) > 0 else {}
    with _quiet_iterator():  # creating an index asks Lite for a timestamp too (see there)
        client.create_collection(target.collection, schema=schema, index_params=index, **extra)

    docs = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    docs.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=200)
    docs.add_field("kind", DataType.VARCHAR, max_length=16)
    docs.add_field("doc_id", DataType.VARCHAR, max_length=64)
    docs.add_field("part", DataType.INT64)
    docs.add_field("payload", DataType.VARCHAR, max_length=VARCHAR_MAX)
    docs.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension or 2)  # sentence vectors (Milvus needs one)
    doc_index = client.prepare_index_params()
    doc_index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="IP")
    with _quiet_iterator():
        client.create_collection(target.docs_collection, schema=docs, index_params=doc_index)


def _keep_sentence_vectors() -> bool:
    return os.environ.get(SENTENCES_VARIABLE, "1").lower() not in ("0", "false", "no")



@contextmanager
def _quiet_iterator():
    """Milvus Lite does not implement the timestamp call a query iterator (and index creation) starts with; pymilvus
    then falls back to a client-side timestamp, after the in-process server and pymilvus have logged an error and a
    warning. Silence both."""
    names = ("grpc._server", "pymilvus.client.iterator.query_iterator")
    levels = [logging.getLogger(n).level for n in names]
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in zip(names, levels):
            logging.getLogger(name).setLevel(level)


def _load(client, name: str) -> None:
    """Load a collection unless it is loaded already (with however many replicas an operator gave it)."""
    try:
        state = str(client.get_load_state(name).get("state", ""))
    except Exception:  # older servers or Lite without load states: just load
        state = ""
    if "Loaded" not in state or "NotLoad" in state:
        client.load_collection(name)


def _read_payloads(client, collection: str, doc_ids: list[str] | None = None) -> list[dict]:
    """Every document's record payload (joined from its parts); only those of `doc_ids` when given."""
    parts: dict[str, list[tuple[int, str]]] = {}
    if doc_ids is not None:
        for i in range(0, len(doc_ids), 1000):
            listed = json.dumps(list(doc_ids[i : i + 1000]))
            for row in client.query(collection, filter=f'kind == "doc" and doc_id in {listed}',
                                    output_fields=["doc_id", "part", "payload"]):
                parts.setdefault(row["doc_id"], []).append((int(row["part"]), row["payload"]))
    else:
        with _quiet_iterator():
            iterator = client.query_iterator(collection, batch_size=1000, filter='kind == "doc"',
                                             output_fields=["doc_id", "part", "payload"])
            try:
                while batch := iterator.next():
                    for row in batch:
                        parts.setdefault(row["doc_id"], []).append((int(row["part"]), row["payload"]))
            finally:
                iterator.close()
    payloads = []
    for doc_id, pieces in parts.items():
        try:
            payloads.append(json.loads("".join(p for _, p in sorted(pieces))))
        except ValueError:
            raise IndexCorruptError(f"the record of document {doc_id} in {collection!r} is damaged; rebuild the "
                                    f"index with `rag index`") from None
    return payloads
