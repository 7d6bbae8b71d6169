"""`MilvusStore`: the `Store` contract over two Milvus collections (Milvus Lite, Standalone or a cluster).

The collections' layout is described in `milvus_schema.py`, connecting in `milvus_target.py`, writing in
`milvus_writer.py` and searching (and the lexical analysis) in `milvus_search.py`; this module opens, builds and
changes an index, and re-exports the names other modules import from `rag.milvus_store`.

Ids handed to the retriever and reader are positions, as in `LocalStore`: on open, the document records are
read (not the passages) and each document's passages and sentences numbered in order; hits from Milvus are
mapped back through (document id, passage number). This module neither chunks nor embeds (`builder.py` does).
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, InputError
from .manifest import DocumentRecord, Manifest
from .milvus_schema import ANALYSERS, _create, _keep_sentence_vectors, _load, _read_payloads, passage_key
from .milvus_search import MilvusSearch
from .milvus_target import DEFAULT_COLLECTION, MilvusLocation, MilvusTarget, MilvusUnavailableError, _client, is_milvus
from .milvus_writer import _manifest_base, _vectors_of, _Writer
from .store import PassageRow, SentenceRow
from .types import Document

logger = logging.getLogger(__name__)


class MilvusStore(MilvusSearch):
    """An index in Milvus, opened for questions (and for adding and removing documents)."""

    def __init__(self, target: MilvusTarget, client, manifest_base: dict, doc_payloads: list[dict]):
        self.target = target
        self.path = MilvusLocation(str(target))  # what messages and `rag` commands call this index
        self.path.name, self.path.option = target.collection, target.option()
        self._client = client
        self._base = manifest_base
        self.analyser_mode = manifest_base.get("milvus", {}).get("analyser", "rag")
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._df: dict[str, int] = {}
        self._arrange(doc_payloads)

    # ----------------------------------------------------------------- opening
    @classmethod
    def exists(cls, target: MilvusTarget) -> bool:
        if not target.is_server and not os.path.exists(target.uri):
            return False  # asking must not leave an empty Milvus Lite database behind
        client = _client(target)
        return client.has_collection(target.collection) or client.has_collection(target.docs_collection)

    @classmethod
    def open(cls, target: MilvusTarget, client=None) -> MilvusStore:
        if client is None and not target.is_server and not os.path.exists(target.uri):
            raise IndexNotFoundError(f"no Milvus Lite index at {target.uri}; build it with "
                                     f"`rag index DOCS {target.option()}`")
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

    # ----------------------------------------------------------------- changes
    def set_decline_threshold(self, value: float, mode: str | None = None, reader: str | None = None) -> None:
        manifest = self._manifest.with_decline_threshold(value, mode, reader)
        self._base = self._base | {"reader": manifest.to_dict()["reader"]}
        _Writer(self._client, self.target, self.analyser_mode).put_manifest(self._base)
        self._manifest = manifest

    def add_documents(self, documents: Sequence[Document]) -> None:
        """Chunk, analyse and embed `documents` as at build time and upsert them (replacing any with the same id)."""
        from .milvus_sync import write_documents

        documents = list(documents)
        if not documents:
            return
        present = [d.doc_id for d in documents if d.doc_id in self._positions()]
        if present:
            self.remove_documents(present)
        write_documents(self, documents)
        self._reload()

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        from .milvus_sync import delete_documents

        doc_ids = [str(d) for d in doc_ids]
        if doc_ids:
            delete_documents(self, doc_ids)
            self._reload()

    def _positions(self) -> set[str]:
        return {r["doc_id"] for r in self._records}

    def _reload(self) -> None:
        self._arrange(_read_payloads(self._client, self.target.docs_collection))


__all__ = ["DEFAULT_COLLECTION", "MilvusStore", "MilvusTarget", "MilvusUnavailableError", "_client", "is_milvus",
           "passage_key"]
