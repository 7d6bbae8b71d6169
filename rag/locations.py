"""Where an index lives: an `--index` location names either a local index folder or a Milvus collection
(`milvus:FILE.db`, `milvus:http://HOST:19530`); `open_store` turns the settings into the store they name.

This module only routes a location to its store; it neither builds nor searches (see `local_store.py`,
`milvus_store.py`), and the `Index` handle that uses the store is `index.py`.
"""

from __future__ import annotations

from .config import Config
from .local_store import LocalStore


def is_milvus(index) -> bool:
    """Whether `--index` names a Milvus index (`milvus:FILE.db`, `milvus:http://HOST:19530`), not a folder."""
    return str(index).startswith("milvus:")


def milvus_target(config: Config):
    from .milvus_store import MilvusTarget

    return MilvusTarget.parse(config.index_path, config.collection)


def open_store(config: Config):
    """The store the settings name: a Milvus collection for a `milvus:` index, else the index folder."""
    if is_milvus(config.index_path):
        from .milvus_store import MilvusStore

        return MilvusStore.open(milvus_target(config))
    return LocalStore.open(config.index_path)
