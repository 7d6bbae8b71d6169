"""Child-process scripts for the kill -9 tests: they pause right after the new index is built, before it is
swapped in, so the test can kill them at the worst moment. Run with `python -c SCRIPT ARGS...`."""

PAUSE_AFTER_BUILD = """
import sys, time
import rag
from rag import builder
real = builder.update_index
def slow(*args, **kwargs):
    result = real(*args, **kwargs)
    print("built", flush=True)
    time.sleep(60)
    return result
builder.update_index = slow
"""

SYNC_SCRIPT = PAUSE_AFTER_BUILD + "rag.Index.load(sys.argv[1]).sync([sys.argv[2]])\n"

UPLOAD_SCRIPT = PAUSE_AFTER_BUILD + """from rag.uploads import add_files
add_files(rag.Index.load(sys.argv[1]), [(sys.argv[2], "lighthouse.pdf")])
"""

# A Milvus sync paused after its new documents are written, before the old ones are deleted.
MILVUS_SYNC_SCRIPT = """
import sys, time
import rag
from rag import milvus_sync
real = milvus_sync.write_documents
def slow(*args, **kwargs):
    result = real(*args, **kwargs)
    print("written", flush=True)
    time.sleep(60)
    return result
milvus_sync.write_documents = slow
rag.Index.load(sys.argv[1], config=rag.Config(collection=sys.argv[3])).sync([sys.argv[2]])
"""
