"""Sync at scale: time and peak memory of `Index.sync` after changing 1% of the documents of a large index.

    .venv/bin/python benchmarks/sync_memory.py                          # 100,000 passages, 1% of files changed
    .venv/bin/python benchmarks/sync_memory.py --size 1000000 --out .bench/sync-memory

The documents and vectors are scale.py's (generated, seeded; vectors are clustered random unit vectors, no model),
written as one .txt file per document so that sync has files to stat and read. The index is built in one
subprocess; then every 100th file is rewritten with new generated text, and the sync runs in a second subprocess,
so its peak memory (VmHWM) is the sync's alone. The changed documents are embedded by a stand-in encoder that
returns random unit vectors (the index's model name is made up and never loaded); everything else is the real sync:
kept documents' texts, rows and vectors copied, BM25 rebuilt, FAISS rebuilt, the folder swapped atomically.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scale import DIMENSION, MODEL_NAME, make_documents, make_vectors, peak_rss_mb


class RandomEncoder:
    """Stands in for the model that made the index's vectors: random unit vectors, one per text."""

    def __init__(self):
        self.rng = np.random.default_rng(3)

    def encode_passages(self, texts, show_progress=False):
        vectors = self.rng.standard_normal((len(texts), DIMENSION)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode_sentences(self, texts):
        return self.encode_passages(texts)


def build(size: int, out: Path) -> dict:
    from rag.config import Config
    from rag.index import Index
    from rag.types import Document

    docs_folder = out / "docs"
    docs_folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for d in make_documents(size):
        path = docs_folder / Path(d.source).name
        path.write_text(d.text, encoding="utf-8")
        docs.append(Document(d.doc_id, str(path), d.text))
    vectors = make_vectors(size, out / "vectors.npy")
    started = time.perf_counter()
    config = Config(index_path=out / "index", model=None, entities=False)  # no NER: see BENCHMARKS.md section 3
    index = Index.from_documents(docs, config, show_progress=False, vectors=vectors, model_name=MODEL_NAME)
    return {"passages": len(index), "documents": len(docs), "build_s": time.perf_counter() - started,
            "build_peak_mb": peak_rss_mb()}


def change(out: Path, every: int) -> int:
    files = sorted((out / "docs").glob("*.txt"))[::every]
    for file, new in zip(files, make_documents(len(files) * 10, seed=5)):
        file.write_text(new.text, encoding="utf-8")
    return len(files)


def sync(out: Path) -> dict:
    from rag.config import Config
    from rag.index import Index

    index = Index.load(out / "index", config=Config(index_path=out / "index", model=None))
    index.encoder = RandomEncoder()
    started = time.perf_counter()
    report = index.sync([out / "docs"])
    return {"sync_s": time.perf_counter() - started, "sync_peak_mb": peak_rss_mb(), "report": report.summary(),
            "embedded": report.embedded}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="passages (10 per document)")
    parser.add_argument("--every", type=int, default=100, help="change every N-th file (100: 1%%)")
    parser.add_argument("--out", type=Path, default=Path(".bench/sync-memory"))
    parser.add_argument("--phase", choices=["build", "sync"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = args.out / str(args.size)
    if args.phase:
        print(json.dumps(build(args.size, out) if args.phase == "build" else sync(out)))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    record = {"size": args.size}
    for phase in ("build", "sync"):
        if phase == "sync":
            record["changed_files"] = change(out, args.every)
        done = subprocess.run([sys.executable, __file__, "--phase", phase, "--size", str(args.size), "--out",
                               str(args.out)], capture_output=True, text=True)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        record.update(json.loads(done.stdout.strip().splitlines()[-1]))
    (out / "results.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
