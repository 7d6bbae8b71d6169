"""The one-line entry points `rag.retrieve` and `rag.answer`, over the default index.

The default index lives at `RAG_INDEX` (or `.rag-index/` in the current directory). When it is missing it is
built from `seeds/` (in the current directory, else the one shipped beside this package). Loaded indexes are
cached per folder and manifest version, so repeated calls do not reload the model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .config import Config
from .index import Index
from .storage import MANIFEST, recover
from .types import Answer, Hit


def default_sources() -> list[Path]:
    local = Path("seeds")
    if local.is_dir():
        return [local]
    return [Path(__file__).resolve().parent.parent / "seeds"]


def default_index(config: Config | None = None, show_progress: bool = True) -> Index:
    """The index at the configured folder, built from the seed documents first if it is missing."""
    config = config or Config.from_env()
    path = config.index_path
    recover(path)
    if not (path / MANIFEST).exists() and not path.exists():
        Index.build(default_sources(), config=config, show_progress=show_progress)
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
