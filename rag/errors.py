"""The exceptions the library raises on purpose.

Every message names the bad value and the fix, so the CLI can print it as one line. Anything that is not a
`RagError` is a bug and keeps its traceback.
"""


class RagError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class InputError(RagError, ValueError):
    """A question, path or parameter the user gave is unusable."""


class IndexNotFoundError(RagError, FileNotFoundError):
    """No index folder where one was expected."""


class IndexCorruptError(RagError):
    """An index folder exists but cannot be read."""


class IndexMismatchError(RagError):
    """An index was built with another model or format version than the one asked for."""


class ModelUnavailableError(RagError):
    """The embedding model could not be loaded from local files."""


class IndexBusyError(RagError):
    """Another process is building the same index folder."""
