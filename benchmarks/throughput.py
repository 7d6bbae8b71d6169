"""Indexing throughput: passages embedded per second, batched, with a progress bar and ETA.

    .venv/bin/python benchmarks/throughput.py [--passages 4000] [--batch-sizes 16 32 64]

No pretrained model can be downloaded here, so the model is the tiny random 2-layer BERT (hidden size 32) that
tests/tiny_model.py builds locally; it stands in for a real one. The figures measure the batching and
sentence-transformers machinery; a real model such as bge-small (12 layers, 384 wide) is far slower per passage.
Passages are the seeded synthetic 700-character passages of benchmarks/scale.py. The bar (with rate and ETA) is
sentence-transformers' own, which `Index.build(show_progress=True)` and `rag index` show.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=4000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]
    from scale import make_documents
    from tiny_model import build_tiny_model

    from rag.chunking import chunk
    from rag.encoding import Encoder

    passages = []
    for document in make_documents(args.passages):
        passages += [document.text[p.start : p.end] for p in chunk(document.text)[1]]
    passages = passages[: args.passages]
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp), passages[:2000])
        rows = []
        for batch_size in args.batch_sizes:
            encoder = Encoder(str(model), batch_size=batch_size)
            encoder.encode_passages(passages[:64])  # load and warm up
            started = time.perf_counter()
            encoder.encode_passages(passages, show_progress=True)
            rows.append((batch_size, len(passages) / (time.perf_counter() - started)))
    print(f"\n{len(passages):,} passages of up to 700 characters, tiny random BERT (2 layers, hidden 32), CPU")
    print("| batch size | passages/s |")
    print("|---:|---:|")
    for batch_size, rate in rows:
        print(f"| {batch_size} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
