"""Child-process scripts for the kill -9 tests: they pause right after the new index is built, before it is
swapped in, so the test can kill them at the worst moment. Run with `python -c SCRIPT ARGS...`."""


def pause_after(module: str, function: str, said: str) -> str:
    """Script lines that make `rag.<module>.<function>` print `said` once it returns, then sleep a minute."""
    return f"""
import sys, time
import rag
from rag import {module}
real = {module}.{function}
def slow(*args, **kwargs):
    result = real(*args, **kwargs)
    print("{said}", flush=True)
    time.sleep(60)
    return result
{module}.{function} = slow
"""


PAUSE_AFTER_BUILD = pause_after("builder", "update_index", "built")

SYNC_SCRIPT = PAUSE_AFTER_BUILD + "rag.Index.load(sys.argv[1]).sync([sys.argv[2]])\n"

UPLOAD_SCRIPT = PAUSE_AFTER_BUILD + """from rag.uploads import add_files
add_files(rag.Index.load(sys.argv[1]), [(sys.argv[2], "lighthouse.pdf")])
"""

# A Milvus sync paused after its new documents are written, before the old ones are deleted.
MILVUS_SYNC_SCRIPT = pause_after("milvus_sync", "write_documents", "written") + (
    "rag.Index.load(sys.argv[1], config=rag.Config(collection=sys.argv[3])).sync([sys.argv[2]])\n")
