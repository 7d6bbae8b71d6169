"""Indexing throughput of the real default model (bundled all-MiniLM-L6-v2): passages embedded per second and
seconds per 1,000 passages, on ONNX Runtime (what `rag index` uses) and on sentence-transformers (torch).

    .venv/bin/python benchmarks/throughput.py [--squad /work/shared/data/squad/dev-v1.1.json] [--squad-passages 600]
                                              [--backends onnx sentence-transformers] [--batch-size 32]

Passages are what `rag index` embeds: the chunks (up to 700 characters) of
  - the seed article (seeds/000_a2e84cf20c291977.txt), and
  - SQuAD v1.1 dev paragraphs, read in place (never copied), the first --squad-passages of them in file order
    (0 = all, about 2,100; at roughly ten passages a second on two cores that is minutes per backend).
Each backend embeds a few passages untimed first (loading the model; the ONNX export, if not cached, happens
then), then every passage once, timed. Texts are identical for both backends. The ONNX cache is $RAG_CACHE
(else ~/.cache/rag): a first run exports the model once (about 10 s, not counted).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a2e84cf20c291977.txt"
SQUAD = Path("/work/shared/data/squad/dev-v1.1.json")


def passages_of(texts: list[str]) -> list[str]:
    from rag.chunking import chunk

    passages = []
    for text in texts:
        passages += [text[p.start : p.end] for p in chunk(text)[1]]
    return passages


def squad_paragraphs(path: Path) -> list[str]:
    from rag.squad import load_squad

    documents, _ = load_squad(path)
    return [d.text for d in documents]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--squad-passages", type=int, default=600)
    parser.add_argument("--backends", nargs="+", default=["onnx", "sentence-transformers"])
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    from rag.encoding import Encoder

    sets = {"seed article": passages_of([SEED.read_text(encoding="utf-8")])}
    if args.squad.is_file():
        squad = passages_of(squad_paragraphs(args.squad))
        sets["SQuAD dev paragraphs"] = squad[: args.squad_passages] if args.squad_passages else squad
    else:
        print(f"{args.squad} not found; SQuAD row skipped", file=sys.stderr)
    rows = []
    for backend in args.backends:
        encoder = Encoder("all-MiniLM-L6-v2", batch_size=args.batch_size, backend=backend)
        encoder.encode_passages(sets["seed article"][:8])  # load (and export once if needed) and warm up
        for name, passages in sets.items():
            started = time.perf_counter()
            encoder.encode_passages(passages, show_progress=len(passages) > 100)
            seconds = time.perf_counter() - started
            chars = sum(map(len, passages)) / len(passages)
            rows.append((name, backend, len(passages), chars, len(passages) / seconds, 1000 * seconds / len(passages)))
    print(f"\nall-MiniLM-L6-v2, batch size {args.batch_size}, CPU, {os.cpu_count()} cores")
    print("| passages | backend | count | mean chars | passages/s | s per 1,000 passages |")
    print("|---|---|---:|---:|---:|---:|")
    for name, backend, count, chars, rate, per_thousand in rows:
        print(f"| {name} | {backend} | {count:,} | {chars:.0f} | {rate:,.1f} | {per_thousand:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
