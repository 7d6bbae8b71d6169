"""Where a Milvus index lives (`milvus:URI` and a collection name) and how to connect to it.

`MilvusTarget` parses `milvus:URI` (a Milvus Lite file, or http(s)://host:port) and names the two collections;
`_client` opens a `MilvusClient` and turns a failure to connect into one `MilvusUnavailableError` line saying what
to check. The client it returns is guarded: a pymilvus failure later in the session (the server gone, a collection
dropped while an index is open) becomes one `RagError` line naming the fix, never a traceback. This module deliberately knows nothing of the collections' fields, of writing or of searching
(`milvus_schema.py`, `milvus_writer.py`, `milvus_search.py`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import IndexNotFoundError, InputError, RagError

PREFIX = "milvus:"
DEFAULT_COLLECTION = "rag"
TOKEN_VARIABLE = "RAG_MILVUS_TOKEN"
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")


class MilvusLocation(str):
    """How an index in Milvus is named (`milvus:URI`), with `.name` (its collection) as an index folder has, and
    `.option` (the CLI options that name it, with `--collection` when not the default) for the hints we print."""

    name: str = ""
    option: str = ""


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
        return _Guarded(MilvusClient(**kwargs), target)
    except Exception as exc:  # pymilvus raises MilvusException, gRPC errors, or ValueError for a bad URI
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if target.is_server:
            raise MilvusUnavailableError(
                f"cannot reach the Milvus server at {target.uri} ({message[:160]}); check that it is running "
                f"(docker compose ps, or `curl {_health_url(target.uri)}`), that host and port are right "
                f"(the gRPC port, 19530 by default), and that {TOKEN_VARIABLE} holds a valid token if it needs one"
            ) from None
        raise MilvusUnavailableError(f"cannot open the Milvus Lite file {target.uri} ({message[:160]}); check that "
                                     f"milvus-lite is installed (`pip install milvus-lite`), that the file is not a "
                                     f"database of another program, and that no other process has it open (Milvus "
                                     f"Lite allows one at a time; serve several from a Milvus server)") from None


def _health_url(uri: str) -> str:
    match = re.match(r"^(https?)://([^:/]+)", uri)
    host = match.group(2) if match else "HOST"
    return f"http://{host}:9091/healthz"


# pymilvus logs every failed call with its traceback (logger "pymilvus.decorators", its own handler) before raising;
# a failure inside a guarded call is reported as one line instead, so its log record is dropped (this thread only).
_GUARDED = threading.local()


class _DropWhileGuarded(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_GUARDED, "active", False)


_PYMILVUS_LOG = "pymilvus.decorators"


@contextmanager
def _translated(target: MilvusTarget, call: str):
    """Run a pymilvus call; its failure becomes `IndexNotFoundError` (a collection gone) or `MilvusUnavailableError`."""
    from pymilvus.exceptions import MilvusException

    log = logging.getLogger(_PYMILVUS_LOG)
    if not any(isinstance(f, _DropWhileGuarded) for f in log.filters):
        log.addFilter(_DropWhileGuarded())
    outer = getattr(_GUARDED, "active", False)
    _GUARDED.active = True
    try:
        yield
    except MilvusException as exc:
        raise _converted(target, call, getattr(exc, "message", None) or str(exc)) from None
    except (ConnectionError, TimeoutError) as exc:
        raise _converted(target, call, str(exc) or type(exc).__name__) from None
    except Exception as exc:  # gRPC's errors, without importing grpc: anything else is a bug and keeps its traceback
        if type(exc).__module__.startswith("grpc"):
            raise _converted(target, call, str(exc) or type(exc).__name__) from None
        raise
    finally:
        _GUARDED.active = outer


def _converted(target: MilvusTarget, call: str, message: str) -> RagError:
    message = " ".join(message.split())[:200]
    gone = re.search(r"collection '?([A-Za-z0-9_]+)'? (does not exist|not found)|collection not found", message,
                     re.IGNORECASE)
    if gone:
        return IndexNotFoundError(f"collection {target.collection!r} at {target} is gone (dropped while this index "
                                  f"was open?; Milvus said: {message}); {target.rebuild_hint()}")
    if target.is_server:
        return MilvusUnavailableError(
            f"Milvus at {target.uri} failed during {call} ({message}); check that the server is still running "
            f"(docker compose ps, or `curl {_health_url(target.uri)}`) and reachable, then try again")
    return MilvusUnavailableError(f"the Milvus Lite file {target.uri} failed during {call} ({message}); check that "
                                  f"the file is still there and not opened by another program, then try again")


class _Guarded:
    """A `MilvusClient` (or a query iterator) whose failures are one-line `RagError`s (see `_translated`)."""

    def __init__(self, client, target: MilvusTarget):
        self._inner, self._target = client, target

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            with _translated(self._target, name):
                result = attribute(*args, **kwargs)
            return _Guarded(result, self._target) if name.endswith("_iterator") else result

        return call
