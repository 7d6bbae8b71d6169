"""Bring an existing index up to date with its files: which documents are new, changed, gone or unchanged.

`plan_sync` stats every file under the given paths and compares it with the manifest's record: a matching size
and modification time means unchanged, and the file is not read. Otherwise the file is read (PDF, HTML and DOCX
extracted) and its text's sha256 compared with the record, so a touched but unchanged file stays unchanged. A
file whose content the index already holds under another name (a rename) reuses that document's passages and
vectors. `Index.sync` turns the plan into a new index folder with `builder.update_index` and saves it
atomically, like a build; an index in Milvus is changed in place instead (`milvus_sync.py`). This module neither embeds nor writes files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .documents import find_files, read_document
from .sources import stat_record
from .types import Document

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    """What a sync did; `embedded` counts the passages it embedded (0 when nothing changed)."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    documents: int = 0
    passages: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, removed {self.removed}, unchanged {self.unchanged}"


@dataclass
class SyncPlan:
    items: list = field(default_factory=list)  # (old doc_index, new row) or a Document, in the new order
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    rows_changed: bool = False  # a kept document's source or stat changed (the manifest needs rewriting)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def _key(path: Path) -> str:
    return os.path.normcase(str(Path(path).resolve()))


def plan_sync(manifest, paths, keep_outside: Path | None = None) -> SyncPlan:
    """What to keep, read and drop so that the index holds exactly the readable files under `paths`.

    `keep_outside`: when given, only documents whose file lies under this folder may be removed (the chat
    syncs its documents folder and leaves the documents indexed from elsewhere as they are)."""
    records = list(manifest.documents)
    rows = manifest.documents.to_list()
    by_path = {_key(manifest.source_path(r)): i for i, r in enumerate(records)}
    by_id = {r.doc_id: i for i, r in enumerate(records)}
    plan = SyncPlan()
    seen: set[str] = set()
    used: set[int] = set()
    for path in find_files(paths):
        old = by_path.pop(_key(path), None)
        record = records[old] if old is not None else None
        stat = stat_record(path)
        if record is not None and record.bytes is not None and \
                (stat.get("bytes"), stat.get("mtime_ns")) == (record.bytes, record.mtime_ns):
            if record.doc_id in seen:
                continue
            seen.add(record.doc_id)
            used.add(old)
            row = rows[old] | {"source": str(path)} | stat
            plan.rows_changed |= row != rows[old]
            plan.items.append((old, row))
            plan.unchanged += 1
            continue
        document = read_document(path)
        if document is None:  # unreadable now (warned): it leaves the index like a deleted file
            plan.removed += record is not None
            continue
        if document.doc_id in seen:
            logger.warning("skipped %s: same content as a file already read", path)
            continue
        seen.add(document.doc_id)
        reuse = by_id.get(document.doc_id)
        if reuse is not None and reuse not in used:
            used.add(reuse)
            row = rows[reuse] | {"source": str(path)} | stat
            plan.items.append((reuse, row))
            plan.rows_changed = True
            if reuse == old:
                plan.unchanged += 1  # touched, same content
                continue
        else:
            plan.items.append(Document(document.doc_id, str(path), document.text, document.pages, document.sections))
        if record is not None:
            plan.updated += 1
        else:
            plan.added += 1
    for key, old in by_path.items():
        if keep_outside is not None and not Path(key).is_relative_to(_key(keep_outside)):
            if old not in used and records[old].doc_id not in seen:
                seen.add(records[old].doc_id)
                used.add(old)
                # Sources are recorded relative to the working folder of this sync: make this one absolute.
                row = rows[old] | {"source": str(manifest.source_path(records[old]).absolute())}
                plan.rows_changed |= row != rows[old]
                plan.items.append((old, row))
            continue
        plan.removed += 1  # its file is gone (if its content moved to another name, that name counts as added)
    return plan


def sync_index(index, paths, show_progress: bool = False) -> SyncReport:
    """Sync the index folder of `index` with the files under `paths` (None: its own documents folder, keeping the
    documents indexed from elsewhere), under the build lock, saved atomically (a Milvus index is synced in place by
    `milvus_sync.sync_milvus` instead; `Index.sync` chooses). Returns the report; the caller
    loads the index again to see the result."""
    from dataclasses import replace

    from .builder import update_index
    from .errors import InputError
    from .local_store import LocalStore
    from .manifest import DocumentTable
    from .index_folder import build_lock, scratch_folder
    from .storage import DOCUMENTS, replace_manifest

    path = Path(index.path)
    own = path / DOCUMENTS
    keep_outside = None
    if paths is None:
        own.mkdir(exist_ok=True)
        paths, keep_outside = [own], own
    else:
        paths = [Path(p) for p in paths]
        if own.is_dir() and not any(_key(p) == _key(own) for p in paths):
            paths.append(own)  # documents added through the chat stay indexed
    with build_lock(path), scratch_folder(path) as scratch:
        store = LocalStore.open(path)  # as it is now, under the lock
        manifest = store.manifest
        plan = plan_sync(manifest, paths, keep_outside)
        if not plan.items:
            raise InputError(f"no readable documents would be left in the index at {path}; add files, or "
                             f"rebuild it with --rebuild; nothing was changed")
        positions = [item[0] if isinstance(item, tuple) else -1 for item in plan.items]
        if not plan.changed and positions == list(range(manifest.document_count)):
            if plan.rows_changed:  # sources renamed in place or touched: only the manifest changes
                rows = [row for _, row in plan.items]
                replace_manifest(path, replace(manifest, documents=DocumentTable(rows), source_root=os.getcwd()))
            return SyncReport(unchanged=plan.unchanged, documents=manifest.document_count,
                              passages=manifest.passages)
        built, embedded = update_index(store, plan.items, index.config, index.encoder, show_progress,
                                       scratch=scratch)
        rows = [row | stat_record(row["source"]) for row in built.manifest.documents.to_list()]
        built = replace(built, manifest=replace(built.manifest, documents=DocumentTable(rows),
                                                source_root=os.getcwd()))
        del store  # its memory maps point into the folder being replaced
        LocalStore.save(path, built)
    return SyncReport(plan.added, plan.updated, plan.removed, plan.unchanged, embedded,
                      built.manifest.document_count, built.manifest.passages)
