"""Changing an index in Milvus in place: adding and removing documents, and `sync_milvus`, `Index.sync` for it.

A sync plans as for a local index (`sync.plan_sync`: stat, then sha256; unchanged files are neither read nor
embedded) and then changes only what differs, in an order that a killed sync can be re-run from:

  1. records of kept documents whose source or file stat changed are rewritten, and the manifest's `source_root`;
  2. new and changed documents are chunked, embedded and upserted (`_Writer.write`, each record last);
  3. documents whose file is gone, or whose text changed, are deleted (records first).

Every key is derived from the document's sha256 and a passage number, so writing again rewrites the same
entities. Killed after step 2, the next sync finds the new documents recorded with their files' stat (unchanged)
and deletes what step 3 had left. There is no lock: two syncs at once write the same entities, and the last
delete wins. This module neither chunks nor embeds (`builder.py`) nor plans (`sync.py`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .errors import InputError, RagError
from .milvus_schema import _read_payloads
from .milvus_writer import _vectors_of, _Writer
from .types import Document

logger = logging.getLogger(__name__)


def write_documents(store, documents: Sequence[Document], config=None, show_progress: bool = False) -> int:
    """Chunk, analyse and embed `documents` as at build time and upsert them after the store's last document.
    Returns the number of passages embedded. The store sees them after `store._reload()`."""
    from .builder import build_index
    from .config import Config
    from .sources import stat_record

    manifest = store.manifest
    config = replace(config or Config(), model=manifest.model.name if manifest.model else None,
                     chunk_chars=manifest.max_chars, chunk_overlap=manifest.overlap_sentences,
                     entities=False)  # Milvus keeps no entity table (yet)
    built = build_index(list(documents), config, show_progress=show_progress)
    if manifest.model is not None and built.manifest.model is None:
        raise RagError(f"cannot embed the new documents for {store.target}: the model {manifest.model.name} "
                       f"did not load")
    records = [row | (stat_record(row["source"]) if os.path.exists(row["source"]) else {})
               for row in built.manifest.documents.to_list()]
    _mark_changed(store)
    first = (max(store._orders) + 1) if store._orders else 0
    writer = _Writer(store._client, store.target, store.analyser_mode)
    writer.write(list(documents), records, built.passage_rows, built.sentence_rows, _vectors_of(built.dense),
                 built.sentence_vectors if store._base.get("milvus", {}).get("sentences") else None,
                 orders=range(first, first + len(documents)), show_progress=show_progress)
    _flush(store)
    return built.manifest.passages if built.manifest.model is not None else 0


def delete_documents(store, doc_ids: Sequence[str]) -> None:
    """Delete documents' entities: records first, so a killed removal leaves no half document visible."""
    _mark_changed(store)
    for i in range(0, len(doc_ids), 1000):
        listed = json.dumps([str(d) for d in doc_ids[i : i + 1000]])
        store._client.delete(store.target.docs_collection, filter=f'kind == "doc" and doc_id in {listed}')
        store._client.delete(store.target.collection, filter=f"doc_id in {listed}")
        store._client.delete(store.target.docs_collection, filter=f"doc_id in {listed}")
    _flush(store)


def _flush(store) -> None:
    store._client.flush(store.target.collection)
    store._client.flush(store.target.docs_collection)


def _mark_changed(store) -> None:
    """Record, before the first change after its build, that the collection was changed in place (Milvus Lite then
    scores BM25 again with collection-wide statistics: see MilvusSearch._rescored)."""
    if not store._base.get("milvus", {}).get("changed"):
        store._base = store._base | {"milvus": store._base.get("milvus", {}) | {"changed": True}}
        _Writer(store._client, store.target, store.analyser_mode).put_manifest(store._base)


def _rewrite_records(store, rows: dict[str, dict], source_root: str) -> None:
    """Step 1: new rows (source, stat) for documents whose text is unchanged, and the manifest's source root."""
    writer = _Writer(store._client, store.target, store.analyser_mode)
    if rows:
        payloads = _read_payloads(store._client, store.target.docs_collection, list(rows))
        before = {p["record"]["doc_id"]: writer.part_count(p) for p in payloads}
        writer.put_records([p | {"record": rows[p["record"]["doc_id"]]} for p in payloads], before)
    if store._base.get("source_root") != source_root:  # sources in the rows are now relative to this folder
        store._base = store._base | {"source_root": source_root}
        writer.put_manifest(store._base)


def sync_milvus(index, paths, show_progress: bool = False):
    """Sync the Milvus index of `index` with the files under `paths` (see the module docstring); returns the
    `SyncReport`. The store is re-read at the start (another process may have changed it) and at the end."""
    from .sync import SyncReport, plan_sync

    store = index.store
    if paths is None:
        raise InputError(f"an index in Milvus has no documents folder of its own; name the files or folders to "
                         f"sync: `rag index DOCS {store.target.option()}`")
    store._reload()
    manifest = store.manifest
    plan = plan_sync(manifest, [Path(p) for p in paths])
    if not plan.items:
        raise InputError(f"no readable documents would be left in the index at {store.path}; add files, or "
                         f"rebuild it with --rebuild; nothing was changed")
    rows = manifest.documents.to_list()
    kept: dict[str, dict] = {}
    new: list[Document] = []
    for item in plan.items:
        if isinstance(item, tuple):
            old, row = item
            kept[rows[old]["doc_id"]] = row
        else:
            new.append(item)
    changed_rows = {r["doc_id"]: kept[r["doc_id"]] for r in rows if r["doc_id"] in kept and kept[r["doc_id"]] != r}
    gone = [r["doc_id"] for r in rows if r["doc_id"] not in kept]
    if changed_rows or new or gone:
        _rewrite_records(store, changed_rows, os.getcwd())
    embedded = write_documents(store, new, index.config, show_progress) if new else 0
    if gone:
        delete_documents(store, gone)
    if len(gone) > plan.removed + plan.updated:  # left by a sync killed before its deletions: finished now
        logger.info("removed %d documents an interrupted sync had replaced", len(gone) - plan.removed - plan.updated)
    store._reload()
    return SyncReport(plan.added, plan.updated, plan.removed, plan.unchanged, embedded,
                      store.manifest.document_count, store.manifest.passages)
