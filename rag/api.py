"""The one way to open an index, building it first when it is missing, and `rag.retrieve` / `rag.answer` over it.

`open_index` is what the library, the CLI and the chat use: it opens the index folder the settings name and,
when asked to, builds it first from the given documents (default: `seeds/` in the current directory, else the
one shipped beside this package). `default_index` is the same, cached per folder and manifest version, so
repeated `rag.answer` calls do not reload the model. This module neither ranks nor reads.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .config import Config
from .index import Index
from .locations import is_milvus, milvus_target
from .storage import MANIFEST, recover
from .types import Answer, Hit


def default_sources() -> list[Path]:
    local = Path("seeds")
    if local.is_dir():
        return [local]
    return [Path(__file__).resolve().parent.parent / "seeds"]


def _describe(sources: list[Path]) -> str:
    return ", ".join(f"{s}/" if s.is_dir() else str(s) for s in sources)


def ensure_index(config: Config, docs: list[str | Path] | None = None, *, show_progress: bool = True,
                 notify: Callable[[str], None] | None = None) -> bool:
    """Build the index the settings name from `docs` (default: the seed documents) when it is missing.

    Returns whether it built one; `notify` hears, in one line, that it is about to.
    """
    path = config.index_path
    if is_milvus(path):
        from .milvus_store import MilvusStore

        if MilvusStore.exists(milvus_target(config)):
            return False
    else:
        recover(path)
        if (path / MANIFEST).exists() or path.exists():
            return False
    sources = [Path(d) for d in docs] if docs else default_sources()
    if notify:
        notify(f"No index at {path}; building it from {_describe(sources)} first.")
    Index.build(sources, config=config, show_progress=show_progress)
    return True


def open_index(config: Config | None = None, docs: list[str | Path] | None = None, *, build_missing: bool = True,
               show_progress: bool = True, notify: Callable[[str], None] | None = None) -> Index:
    """The index the settings name; with `build_missing`, built first from `docs` when it is missing."""
    config = config or Config.from_env()
    if build_missing:
        ensure_index(config, docs, show_progress=show_progress, notify=notify)
    return Index.load(config=config)


def default_index(config: Config | None = None, show_progress: bool = True) -> Index:
    """The index at the configured folder, built from the seed documents first if it is missing (cached)."""
    config = config or Config.from_env()
    ensure_index(config, show_progress=show_progress)
    path = config.index_path
    if is_milvus(path):
        return _load(config, str(path), 0)
    manifest_version = (path / MANIFEST).stat().st_mtime_ns if (path / MANIFEST).exists() else 0
    return _load(config, str(path.resolve()), manifest_version)


@lru_cache(maxsize=4)
def _load(config: Config, resolved_path: str, manifest_version: int) -> Index:
    return Index.load(resolved_path, config=config)


def retrieve(question: str, k: int = 5, mode: str | None = None, *, index: Index | None = None) -> list[Hit]:
    """The k passages most relevant to `question` in the default index (or `index`)."""
    return (index or default_index()).retrieve(question, k=k, mode=mode)


def answer(question: str, k: int = 5, mode: str | None = None, *, index: Index | None = None) -> Answer:
    """An extractive answer with verified citations, or a declined one (`text is None`)."""
    return (index or default_index()).answer(question, k=k, mode=mode)
