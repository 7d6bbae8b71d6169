"""`MilvusStore`: the `Store` contract over two Milvus collections (Milvus Lite, Standalone or a cluster).

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

Lexical analysis. By default (`analyser="rag"`) the BM25 input is the passage's terms as `rag.lexical.analyze`
makes them (stop words out, Snowball-stemmed), joined by spaces and split again by Milvus's whitespace tokenizer:
Milvus computes BM25 (k1 1.5, b 0.75, as bm25s) over exactly our terms, so lexical scores match the local index
and the reader's idf means the same. `analyser="english"` gives Milvus the raw passage text and its built-in
English analyser (standard tokenizer, lower-case, Snowball stemmer, Lucene's 33 stop words); it is kept for
comparison (benchmarks/milvus_compare.py, docs/scale-out.md), and queries then go to Milvus as raw text
(`lexical_search_text`).

Ids handed to the retriever and reader are positions, as in `LocalStore`: on open, the document records are
read (not the passages) and each document's passages and sentences numbered in order; hits from Milvus are
mapped back through (document id, passage number). This module neither chunks nor embeds (`builder.py` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import OrderedDict
from contextlib import contextmanager
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, InputError, RagError
from .lexical import analyze
from .manifest import DocumentRecord, Manifest
from .store import PassageRow, SentenceRow
from .types import Document

logger = logging.getLogger(__name__)

PREFIX = "milvus:"
DEFAULT_COLLECTION = "rag"
TOKEN_VARIABLE = "RAG_MILVUS_TOKEN"
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
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")


class MilvusLocation(str):
    """How an index in Milvus is named (`milvus:URI`), with `.name` (its collection) as an index folder has."""

    name: str = ""


class MilvusUnavailableError(RagError):
    """pymilvus is not installed, or the Milvus server cannot be reached."""


def is_milvus(index) -> bool:
    return str(index).startswith(PREFIX)


@dataclass(frozen=True)
class MilvusTarget:
    """Where a Milvus index lives: `uri` (a Milvus Lite file, or http(s)://host:port), `collection`, `token`."""

    uri: str
    collection: str = DEFAULT_COLLECTION
    token: str | None = None

    @classmethod
    def parse(cls, index, collection: str | None = None, token: str | None = None) -> MilvusTarget:
        text = str(index)
        if not text.startswith(PREFIX):
            raise InputError(f"{text} is not a Milvus index; name one as milvus:FILE.db or milvus:http://HOST:19530")
        uri = text[len(PREFIX):]
        # Path() turns http://host into http:/host; put the slash back.
        uri = re.sub(r"^(https?|tcp|unix):/(?!/)", r"\1://", uri)
        if not uri:
            raise InputError("a Milvus index needs a place: milvus:./data/rag.db (Milvus Lite) or "
                             "milvus:http://HOST:19530 (a server)")
        collection = collection or DEFAULT_COLLECTION
        if not _COLLECTION_NAME.match(collection):
            raise InputError(f"collection name {collection!r} is not valid in Milvus; use letters, digits and "
                             f"underscores, starting with a letter or underscore")
        return cls(uri, collection, token if token is not None else os.environ.get(TOKEN_VARIABLE) or None)

    @property
    def is_server(self) -> bool:
        return "://" in self.uri

    @property
    def docs_collection(self) -> str:
        return f"{self.collection}_docs"

    def __str__(self) -> str:
        return f"{PREFIX}{self.uri}"

    def option(self) -> str:
        """The CLI options that name this index."""
        extra = f" --collection {self.collection}" if self.collection != DEFAULT_COLLECTION else ""
        return f"--index {self}{extra}"

    def rebuild_hint(self) -> str:
        return f"rebuild it with `rag index DOCS {self.option()}`"


def _client(target: MilvusTarget):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusUnavailableError("Milvus indexes need pymilvus; install it with `pip install 'rag[milvus]'` "
                                     "(for a local milvus: file also milvus-lite)") from None
    if not target.is_server:
        folder = os.path.dirname(os.path.abspath(target.uri))
        os.makedirs(folder, exist_ok=True)
    try:
        kwargs = {"uri": target.uri}
        if target.token:
            kwargs["token"] = target.token
        if target.is_server:
            kwargs["timeout"] = 10
        return MilvusClient(**kwargs)
    except Exception as exc:  # pymilvus raises MilvusException, gRPC errors, or ValueError for a bad URI
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if target.is_server:
            raise MilvusUnavailableError(
                f"cannot reach the Milvus server at {target.uri} ({message[:160]}); check that it is running "
                f"(docker compose ps, or `curl {_health_url(target.uri)}`), that host and port are right "
                f"(the gRPC port, 19530 by default), and that {TOKEN_VARIABLE} holds a valid token if it needs one"
            ) from None
        raise MilvusUnavailableError(f"cannot open the Milvus Lite file {target.uri} ({message[:160]}); check that "
                                     f"milvus-lite is installed (`pip install milvus-lite`) and the file is not a "
                                     f"database of another program") from None


def _health_url(uri: str) -> str:
    match = re.match(r"^(https?)://([^:/]+)", uri)
    host = match.group(2) if match else "HOST"
    return f"http://{host}:9091/healthz"


def doc_key(doc_id: str) -> int:
    """43 bits of a document id (a sha256 prefix; hashed again if it is not hex), for passage primary keys."""
    try:
        value = int(doc_id[:11], 16)
    except ValueError:
        value = int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:11], 16)
    return value >> 1  # 43 bits


def passage_key(doc_id: str, number: int) -> int:
    return (doc_key(doc_id) << PASSAGE_BITS) | number


def _parts(text: str) -> list[str]:
    """`text` cut into pieces of at most PART_BYTES UTF-8 bytes, at character boundaries."""
    data = text.encode("utf-8")
    parts, start = [], 0
    while start < len(data):
        end = min(start + PART_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # do not split a character
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
    return parts or [""]


def _clip(text: str, limit: int = VARCHAR_MAX) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def _vectors_of(dense) -> np.ndarray | None:
    """The passage vectors a FAISS index holds, in order (flat indexes directly, IVF through its direct map)."""
    if dense is None:
        return None
    import faiss

    try:
        return dense.reconstruct_n(0, dense.ntotal)
    except RuntimeError:
        ivf = faiss.extract_index_ivf(dense)
        ivf.make_direct_map()
        return dense.reconstruct_n(0, dense.ntotal)


class MilvusStore:
    """An index in Milvus, opened for questions (and for adding and removing documents)."""

    def __init__(self, target: MilvusTarget, client, manifest_base: dict, doc_payloads: list[dict]):
        self.target = target
        self.path = MilvusLocation(str(target))  # what messages and `rag` commands call this index
        self.path.name = target.collection
        self._client = client
        self._base = manifest_base
        self.analyser_mode = manifest_base.get("milvus", {}).get("analyser", "rag")
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._df: dict[str, int] = {}
        self._arrange(doc_payloads)

    # ----------------------------------------------------------------- opening
    @classmethod
    def exists(cls, target: MilvusTarget) -> bool:
        client = _client(target)
        return client.has_collection(target.collection) or client.has_collection(target.docs_collection)

    @classmethod
    def open(cls, target: MilvusTarget, client=None) -> MilvusStore:
        client = client or _client(target)
        if not client.has_collection(target.collection):
            raise IndexNotFoundError(f"no collection {target.collection!r} at {target}; build it with "
                                     f"`rag index DOCS {target.option()}`")
        if not client.has_collection(target.docs_collection):
            raise IndexCorruptError(f"collection {target.docs_collection!r} at {target} is missing, so the "
                                    f"passages in {target.collection!r} cannot be read; {target.rebuild_hint()}")
        for name in (target.collection, target.docs_collection):
            _load(client, name)
        rows = client.query(target.docs_collection, filter='pk == "manifest"', output_fields=["payload"])
        if not rows:
            raise IndexCorruptError(f"collection {target.collection!r} at {target} has no manifest (a build was "
                                    f"interrupted?); {target.rebuild_hint()}")
        try:
            base = json.loads(rows[0]["payload"])
        except ValueError:
            raise IndexCorruptError(f"the manifest of {target.collection!r} at {target} is damaged; "
                                    f"{target.rebuild_hint()}") from None
        store = cls(target, client, base, _read_payloads(client, target.docs_collection))
        store._check_collection()
        return store

    def _check_collection(self) -> None:
        """Refuse a collection whose vectors do not match the manifest's model, or whose counts disagree."""
        manifest, target = self._manifest, self.target
        fields = {f["name"]: f for f in self._client.describe_collection(target.collection)["fields"]}
        dense = fields.get("dense")
        if manifest.model is not None:
            dimension = int((dense or {}).get("params", {}).get("dim", 0))
            if dimension != manifest.model.dimension:
                raise IndexMismatchError(
                    f"collection {target.collection!r} at {target} holds {dimension or 'no'}-dimensional vectors "
                    f"but its manifest records {manifest.model.name} ({manifest.model.dimension}); "
                    f"{target.rebuild_hint()}")
        counted = self._count(target.collection)
        if counted < manifest.passages:
            raise IndexCorruptError(f"collection {target.collection!r} at {target} holds {counted} passages, its "
                                    f"documents record {manifest.passages}; {target.rebuild_hint()}")
        if counted > manifest.passages:  # passages of documents whose record is not written: an interrupted sync
            logger.warning("collection %r at %s holds %d passages of documents it does not list (an interrupted "
                           "add or remove?); they are never returned, and running it again clears them",
                           target.collection, target, counted - manifest.passages)

    def _count(self, collection: str, filter: str = "") -> int:
        rows = self._client.query(collection, filter=filter, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _arrange(self, payloads: list[dict]) -> None:
        """Number documents, passages and sentences in document order (the positions the protocol speaks of)."""
        payloads = sorted(payloads, key=lambda p: (p["order"], p["record"]["doc_id"]))
        self._records = [p["record"] for p in payloads]
        passages, sentences, passage_base, sentence_base = [], [], [0], [0]
        for doc_index, payload in enumerate(payloads):
            s0 = sentence_base[-1]
            for start, end in payload["sentences"]:
                sentences.append((doc_index, start, end))
            for start, end, first, last in payload["passages"]:
                passages.append((doc_index, start, end, s0 + first, s0 + last))
            passage_base.append(passage_base[-1] + len(payload["passages"]))
            sentence_base.append(sentence_base[-1] + len(payload["sentences"]))
        self._orders = [p["order"] for p in payloads]
        self._terms = sum(int(p.get("terms", 0)) for p in payloads)
        self._passages = np.asarray(passages, dtype=np.int64).reshape(-1, 5)
        self._sentences = np.asarray(sentences, dtype=np.int64).reshape(-1, 3)
        self._passage_base = np.asarray(passage_base, dtype=np.int64)
        self._sentence_base = np.asarray(sentence_base, dtype=np.int64)
        data = dict(self._base)
        data["documents"] = self._records
        data["counts"] = {"documents": len(self._records), "passages": len(self._passages),
                          "sentences": len(self._sentences)}
        self._manifest = Manifest.from_dict(data, self.path)
        self._texts.clear()
        self._df.clear()

    # ----------------------------------------------------------------- building
    @classmethod
    def save(cls, target: MilvusTarget, built, analyser: str = "rag", show_progress: bool = False) -> None:
        """Write a freshly built index (`local_store.BuiltIndex`) as the collections of `target`, replacing them."""
        if analyser not in ANALYSERS:
            raise InputError(f"unknown Milvus analyser {analyser!r}; use one of {', '.join(ANALYSERS)}")
        client = _client(target)
        for name in (target.collection, target.docs_collection):
            if client.has_collection(name):
                client.drop_collection(name)
        dimension = built.manifest.model.dimension if built.manifest.model else None
        _create(client, target, dimension, analyser)
        base = _manifest_base(built.manifest, analyser)
        writer = _Writer(client, target, analyser)
        vectors = _vectors_of(built.dense)
        sentence_vectors = built.sentence_vectors if _keep_sentence_vectors() else None
        base["milvus"]["sentences"] = sentence_vectors is not None
        documents = [Document(r.doc_id, r.source, t) for r, t in zip(built.manifest.documents, built.texts)]
        records = built.manifest.documents.to_list()
        writer.write(documents, records, built.passage_rows, built.sentence_rows, vectors, sentence_vectors,
                     orders=range(len(documents)), show_progress=show_progress)
        writer.put_manifest(base)  # last: an interrupted build has none and says so on open
        client.flush(target.collection)
        client.flush(target.docs_collection)

    # ----------------------------------------------------------------- the Store contract
    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def document(self, doc_index: int) -> DocumentRecord:
        return self._manifest.documents[doc_index]

    def document_position(self, doc_id: str) -> int:
        return self._manifest.documents.position(doc_id)

    def text(self, doc_index: int) -> str:
        text = self._texts.get(doc_index)
        if text is None:
            doc_id = self._records[doc_index]["doc_id"]
            rows = self._client.query(self.target.docs_collection,
                                      filter=f'kind == "text" and doc_id == "{doc_id}"',
                                      output_fields=["part", "payload"])
            text = "".join(r["payload"] for r in sorted(rows, key=lambda r: r["part"]))
            if len(text) != self._records[doc_index]["chars"]:
                raise IndexCorruptError(f"the text of document {doc_id} in {self.target.docs_collection!r} at "
                                        f"{self.target} is incomplete; {self.target.rebuild_hint()}")
            self._texts[doc_index] = text
            if len(self._texts) > 256:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(doc_index)
        return text

    def passage_count(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: int) -> PassageRow:
        return PassageRow(*(int(x) for x in self._passages[passage_id]))

    def sentence(self, sentence_id: int) -> SentenceRow:
        return SentenceRow(*(int(x) for x in self._sentences[sentence_id]))

    # ----------------------------------------------------------------- positions and keys
    def _position(self, doc_id: str, number: int) -> int | None:
        try:
            doc_index = self._manifest.documents.position(doc_id)
        except KeyError:
            return None  # an entity of a document whose record is not written (an interrupted sync)
        return int(self._passage_base[doc_index]) + int(number)

    def _key(self, passage_id: int) -> int:
        doc_index = int(self._passages[passage_id][0])
        return passage_key(self._records[doc_index]["doc_id"], passage_id - int(self._passage_base[doc_index]))

    @staticmethod
    def _score(distance) -> float:
        return float(distance)

    def _hits(self, result) -> tuple[np.ndarray, np.ndarray]:
        found = []
        for hit in result[0] if result else []:
            entity = hit["entity"]
            position = self._position(entity["doc_id"], entity["passage_no"])
            if position is not None:
                found.append((position, self._score(hit["distance"])))
        found.sort(key=lambda x: (-x[1], x[0]))  # best first, ties by position as the local store
        return (np.asarray([f[0] for f in found], dtype=np.int64), np.asarray([f[1] for f in found], dtype=np.float32))

    # ----------------------------------------------------------------- lexical search
    def _lexical_query(self, terms: list[str]) -> str:
        return " ".join(terms)

    def lexical_search(self, terms: list[str], depth: int) -> tuple[np.ndarray, np.ndarray]:
        query = self._lexical_query(terms)
        if not query.strip():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self._bm25(query, depth)

    def lexical_search_text(self, question: str, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 for a raw question: analysed by our analyser (analyser "rag") or by Milvus's ("english")."""
        if self.analyser_mode == "rag":
            return self.lexical_search(analyze([question])[0], depth)
        return self._bm25(question, depth) if question.strip() else self.lexical_search([], depth)

    def _bm25(self, query: str, depth: int, filter: str = "") -> tuple[np.ndarray, np.ndarray]:
        result = self._client.search(self.target.collection, data=[query], anns_field="sparse", limit=depth,
                                     filter=filter, output_fields=["doc_id", "passage_no"],
                                     search_params={"metric_type": "BM25"})
        ids, scores = self._hits(result)
        # Milvus Lite reports BM25 scores negated (a server, as they are), and with Lucene's (k1 + 1) factor, which
        # bm25s leaves out: divided by it, scores equal the local index's.
        scores = np.abs(scores) / (BM25_PARAMS["bm25_k1"] + 1)
        order = np.lexsort((ids, -scores))
        ids, scores = ids[order], scores[order]
        keep = scores > 0
        return ids[keep], scores[keep]

    def lexical_scores(self, terms: list[str], passage_ids: Sequence[int]) -> np.ndarray:
        """BM25 of given passages, computed here from their stored terms, Milvus's document frequencies and the
        average length, by the formula Milvus and bm25s share (a search filtered to these passages would not do:
        Milvus Lite then takes the average length over the filtered passages only)."""
        passage_ids = [int(i) for i in passage_ids]
        out = np.zeros(len(passage_ids), dtype=np.float32)
        if not passage_ids or not terms:
            return out
        if self.analyser_mode != "rag":
            return self._scores_of(self._lexical_query(terms), passage_ids)
        keys = [self._key(i) for i in passage_ids]
        stored = {int(r["pk"]): r["lexical"].split() for r in
                  self._client.get(self.target.collection, ids=keys, output_fields=["lexical"])}
        k1, b = BM25_PARAMS["bm25_k1"], BM25_PARAMS["bm25_b"]
        average = self._average_length()
        idf = {t: self.idf(t) for t in set(terms)}
        for j, key in enumerate(keys):
            words = stored.get(key, [])
            norm = k1 * (1 - b + b * len(words) / average)
            counts = {t: words.count(t) for t in idf}
            out[j] = sum(idf[t] * c / (c + norm) for t in terms if (c := counts[t]))  # bm25s's scale
        return out

    def _average_length(self) -> float:
        return max(self._terms / max(self.passage_count(), 1), 1e-9)

    def lexical_scores_text(self, question: str, passage_ids: Sequence[int]) -> np.ndarray:
        if self.analyser_mode == "rag":
            return self.lexical_scores(analyze([question])[0], passage_ids)
        return self._scores_of(question, passage_ids)

    def _scores_of(self, query: str, passage_ids: Sequence[int]) -> np.ndarray:
        passage_ids = [int(i) for i in passage_ids]
        out = np.zeros(len(passage_ids), dtype=np.float32)
        if not passage_ids or not query.strip():
            return out
        keys = [self._key(i) for i in passage_ids]
        ids, scores = self._bm25(query, len(keys), filter=f"pk in {keys}")
        found = dict(zip(ids.tolist(), scores.tolist()))
        return np.asarray([found.get(i, 0.0) for i in passage_ids], dtype=np.float32)

    def idf(self, term: str) -> float:
        """BM25's idf of one of our analysed terms, with its document frequency counted by Milvus (TEXT_MATCH)."""
        import math

        df = self._df.get(term)
        if df is None:
            if re.fullmatch(r"\w+", term):
                df = self._count(self.target.collection, f"TEXT_MATCH(lexical, '{term}')")
            else:
                df = 0
            self._df[term] = df
        size = self.passage_count()
        return math.log(1 + (size - df + 0.5) / (df + 0.5))

    # ----------------------------------------------------------------- dense search
    def has_vectors(self) -> bool:
        return self._manifest.model is not None

    def dense_search(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        result = self._client.search(self.target.collection, data=[np.asarray(query, dtype=np.float32).tolist()],
                                     anns_field="dense", limit=depth, output_fields=["doc_id", "passage_no"],
                                     search_params={"metric_type": "IP"})
        return self._hits(result)

    def dense_similarity(self, query: np.ndarray, passage_ids: Sequence[int]) -> np.ndarray:
        passage_ids = [int(i) for i in passage_ids]
        if not passage_ids:
            return np.zeros(0, dtype=np.float32)
        keys = [self._key(i) for i in passage_ids]
        rows = self._client.get(self.target.collection, ids=keys, output_fields=["dense"])
        vectors = {int(r["pk"]): r["dense"] for r in rows}
        matrix = np.asarray([vectors[k] for k in keys], dtype=np.float32)
        return matrix @ np.asarray(query, dtype=np.float32)

    def sentence_vectors(self, sentence_ids: Sequence[int]) -> np.ndarray | None:
        if self._manifest.model is None or not len(sentence_ids) or not self._base.get("milvus", {}).get("sentences"):
            return None
        keys = []
        for s in sentence_ids:
            doc_index = int(self._sentences[int(s)][0])
            keys.append(f"s:{self._records[doc_index]['doc_id']}:{int(s) - int(self._sentence_base[doc_index])}")
        rows = self._client.get(self.target.docs_collection, ids=keys, output_fields=["vector"])
        vectors = {r["pk"]: r["vector"] for r in rows}
        if len(vectors) != len(set(keys)):
            return None  # some are missing: the reader embeds the candidates itself
        return np.asarray([vectors[k] for k in keys], dtype=np.float32)

    # ----------------------------------------------------------------- changes
    def set_decline_threshold(self, value: float, mode: str | None = None, reader: str | None = None) -> None:
        manifest = self._manifest.with_decline_threshold(value, mode, reader)
        self._base = self._base | {"reader": manifest.to_dict()["reader"]}
        _Writer(self._client, self.target, self.analyser_mode).put_manifest(self._base)
        self._manifest = manifest

    def add_documents(self, documents: Sequence[Document]) -> None:
        """Chunk, analyse and embed `documents` as at build time and upsert them (replacing any with the same id)."""
        from .builder import build_index
        from .config import Config
        from .sources import stat_record

        documents = list(documents)
        if not documents:
            return
        present = [d.doc_id for d in documents if d.doc_id in self._positions()]
        if present:
            self.remove_documents(present)
        manifest = self._manifest
        config = Config(model=manifest.model.name if manifest.model else None, chunk_chars=manifest.max_chars,
                        chunk_overlap=manifest.overlap_sentences)
        built = build_index(documents, config, show_progress=False)
        if manifest.model is not None and built.manifest.model is None:
            raise RagError(f"cannot embed the new documents for {self.target}: the model {manifest.model.name} "
                           f"did not load")
        records = []
        for row in built.manifest.documents.to_list():
            extra = stat_record(row["source"]) if os.path.exists(row["source"]) else {}
            records.append(row | extra)
        first = (max(self._orders) + 1) if self._orders else 0
        writer = _Writer(self._client, self.target, self.analyser_mode)
        writer.write(documents, records, built.passage_rows, built.sentence_rows, _vectors_of(built.dense),
                     built.sentence_vectors if self._base.get("milvus", {}).get("sentences") else None,
                     orders=range(first, first + len(documents)))
        self._client.flush(self.target.collection)
        self._client.flush(self.target.docs_collection)
        self._reload()

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        doc_ids = [str(d) for d in doc_ids]
        if not doc_ids:
            return
        listed = json.dumps(doc_ids)
        # Records first: a document without a record is invisible, so a killed removal leaves no half document.
        self._client.delete(self.target.docs_collection, filter=f'kind == "doc" and doc_id in {listed}')
        self._client.delete(self.target.collection, filter=f"doc_id in {listed}")
        self._client.delete(self.target.docs_collection, filter=f"doc_id in {listed}")
        self._client.flush(self.target.collection)
        self._client.flush(self.target.docs_collection)
        self._reload()

    def _positions(self) -> set[str]:
        return {r["doc_id"] for r in self._records}

    def _reload(self) -> None:
        self._arrange(_read_payloads(self._client, self.target.docs_collection))


# --------------------------------------------------------------------- schema and writing
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
    client.create_collection(target.docs_collection, schema=docs, index_params=doc_index)


def _keep_sentence_vectors() -> bool:
    return os.environ.get(SENTENCES_VARIABLE, "1").lower() not in ("0", "false", "no")


def _manifest_base(manifest: Manifest, analyser: str) -> dict:
    data = manifest.to_dict()
    for key in ("documents", "files"):
        data.pop(key, None)
    data["dense_index"] = f"milvus {os.environ.get(DENSE_INDEX_VARIABLE) or 'AUTOINDEX'} (IP)" if manifest.model else None
    data["milvus"] = {"analyser": analyser, "sentences": True}
    return data


def _with_threshold(base: dict, value: float) -> dict:
    return base | {"reader": dict(base.get("reader") or {}, decline_threshold=value)}


class _Writer:
    def __init__(self, client, target: MilvusTarget, analyser: str):
        self.client, self.target, self.analyser = client, target, analyser
        self._zero = None

    def _docs_row(self, pk: str, kind: str, doc_id: str, part: int, payload: str, vector=None) -> dict:
        if vector is None:
            if self._zero is None:
                fields = self.client.describe_collection(self.target.docs_collection)["fields"]
                dim = next(int(f["params"]["dim"]) for f in fields if f["name"] == "vector")
                self._zero = [0.0] * dim
            vector = self._zero
        return {"pk": pk, "kind": kind, "doc_id": doc_id, "part": part, "payload": payload, "vector": vector}

    def put_manifest(self, base: dict) -> None:
        payload = json.dumps(base)
        if len(payload.encode("utf-8")) > VARCHAR_MAX:
            raise RagError("the manifest is too large for one Milvus entity")
        self.client.upsert(self.target.docs_collection, [self._docs_row("manifest", "manifest", "", 0, payload)])

    def _put(self, collection: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.upsert(collection, rows[i : i + BATCH])

    def write(self, documents, records, passage_rows, sentence_rows, vectors, sentence_vectors, orders,
              show_progress: bool = False) -> None:
        """Upsert documents (their passages, sentences, texts, then their records, which make them visible)."""
        passage_rows = np.asarray(passage_rows)
        sentence_rows = np.asarray(sentence_rows)
        doc_of_passage = passage_rows[:, 0] if len(passage_rows) else np.zeros(0, dtype=np.int64)
        doc_of_sentence = sentence_rows[:, 0] if len(sentence_rows) else np.zeros(0, dtype=np.int64)
        passage_starts = np.searchsorted(doc_of_passage, np.arange(len(documents) + 1))
        sentence_starts = np.searchsorted(doc_of_sentence, np.arange(len(documents) + 1))
        pending_passages, pending_docs, record_rows = [], [], []
        indexes = range(len(documents))
        if show_progress and len(documents) > 200:
            from tqdm.auto import tqdm

            indexes = tqdm(indexes, desc="Writing to Milvus", unit="doc")
        for d in indexes:
            document, record, order = documents[d], records[d], orders[d]
            doc_id, text = document.doc_id, document.text
            p0, p1 = int(passage_starts[d]), int(passage_starts[d + 1])
            s0, s1 = int(sentence_starts[d]), int(sentence_starts[d + 1])
            passages, doc_terms = [], 0
            for n, p in enumerate(range(p0, p1)):
                _, start, end, first, last = (int(x) for x in passage_rows[p])
                passage_text = text[start:end]
                if self.analyser == "rag":
                    words = analyze([passage_text])[0]
                    lexical = " ".join(words)
                    doc_terms += len(words)
                else:
                    lexical = passage_text
                row = {"pk": passage_key(doc_id, n), "doc_id": doc_id, "passage_no": n, "start": start, "end": end,
                       "first_sentence": first - s0, "last_sentence": last - s0, "text": _clip(passage_text),
                       "lexical": _clip(lexical)}
                if vectors is not None:
                    row["dense"] = np.asarray(vectors[p], dtype=np.float32).tolist()
                pending_passages.append(row)
                passages.append([start, end, first - s0, last - s0])
            for part, piece in enumerate(_parts(text)):
                pending_docs.append(self._docs_row(f"text:{doc_id}:{part}", "text", doc_id, part, piece))
            if sentence_vectors is not None:
                for n, s in enumerate(range(s0, s1)):
                    pending_docs.append(self._docs_row(f"s:{doc_id}:{n}", "sentence", doc_id, n, "",
                                                       np.asarray(sentence_vectors[s], dtype=np.float32).tolist()))
            payload = json.dumps({"order": int(order), "record": record, "terms": doc_terms,
                                  "sentences": [[int(a), int(b)] for _, a, b in sentence_rows[s0:s1]],
                                  "passages": passages})
            for part, piece in enumerate(_parts(payload)):
                record_rows.append(self._docs_row(f"doc:{doc_id}:{part}", "doc", doc_id, part, piece))
            if len(pending_passages) >= 4 * BATCH or len(pending_docs) >= 4 * BATCH:
                self._put(self.target.collection, pending_passages)
                self._put(self.target.docs_collection, pending_docs)
                pending_passages, pending_docs = [], []
        self._put(self.target.collection, pending_passages)
        self._put(self.target.docs_collection, pending_docs)
        self._put(self.target.docs_collection, record_rows)  # last: a record makes its document visible


@contextmanager
def _quiet_iterator():
    """Milvus Lite does not implement the timestamp call a query iterator starts with; pymilvus then falls back to a
    client-side timestamp, after the in-process server and pymilvus have logged an error and a warning. Silence both."""
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


def _read_payloads(client, collection: str) -> list[dict]:
    """Every document's record payload (joined from its parts)."""
    parts: dict[str, list[tuple[int, str]]] = {}
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


__all__ = ["DEFAULT_COLLECTION", "MilvusStore", "MilvusTarget", "MilvusUnavailableError", "is_milvus"]
