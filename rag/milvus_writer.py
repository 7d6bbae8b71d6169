"""Writing an index into its Milvus collections: `_Writer` upserts passages, texts, sentence vectors and records.

Entities are written in batches, and a document's record last, so a document becomes visible only when complete;
`_manifest_base` is the manifest as stored (without its document rows). This module deliberately neither creates
the collections (`milvus_schema.py`) nor chunks or embeds (`builder.py`).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .errors import RagError
from .lexical import analyze
from .manifest import Manifest
from .milvus_schema import BATCH, DENSE_INDEX_VARIABLE, PART_BYTES, VARCHAR_MAX, passage_key
from .milvus_target import MilvusTarget


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


def _manifest_base(manifest: Manifest, analyser: str) -> dict:
    data = manifest.to_dict()
    for key in ("documents", "files"):
        data.pop(key, None)
    data["dense_index"] = f"milvus {os.environ.get(DENSE_INDEX_VARIABLE) or 'AUTOINDEX'} (IP)" if manifest.model else None
    data["milvus"] = {"analyser": analyser, "sentences": True}
    return data


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

    def record_rows(self, doc_id: str, payload: dict) -> list[dict]:
        """The entities of a document's record (its payload in parts); writing them makes the document visible."""
        return [self._docs_row(f"doc:{doc_id}:{part}", "doc", doc_id, part, piece)
                for part, piece in enumerate(_parts(json.dumps(payload)))]

    def put_records(self, payloads: list[dict], parts_before: dict[str, int]) -> None:
        """Rewrite the records of documents already written (their source or file stat changed, not their text);
        `parts_before`: how many parts each record had."""
        rows, shorter = [], []
        for payload in payloads:
            doc_id = payload["record"]["doc_id"]
            rows += (new := self.record_rows(doc_id, payload))
            if parts_before.get(doc_id, 0) > len(new):
                shorter.append((doc_id, len(new)))
        self._put(self.target.docs_collection, rows)
        # A shorter record has fewer parts: drop the old ones past its end, or they would be joined to it.
        for doc_id, count in shorter:
            self.client.delete(self.target.docs_collection,
                               filter=f'kind == "doc" and doc_id == "{doc_id}" and part >= {count}')

    @staticmethod
    def part_count(payload: dict) -> int:
        return len(_parts(json.dumps(payload)))

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
            record_rows += self.record_rows(doc_id, {
                "order": int(order), "record": record, "terms": doc_terms,
                "sentences": [[int(a), int(b)] for _, a, b in sentence_rows[s0:s1]], "passages": passages})
            if len(pending_passages) >= 4 * BATCH or len(pending_docs) >= 4 * BATCH:
                self._put(self.target.collection, pending_passages)
                self._put(self.target.docs_collection, pending_docs)
                pending_passages, pending_docs = [], []
        self._put(self.target.collection, pending_passages)
        self._put(self.target.docs_collection, pending_docs)
        self._put(self.target.docs_collection, record_rows)  # last: a record makes its document visible
