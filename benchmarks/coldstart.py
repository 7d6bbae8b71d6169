"""Cold start: wall time of `rag ask` on the seed index, process start to printed answer, lexical path.

    .venv/bin/python benchmarks/coldstart.py [--runs 7]

Builds a BM25-only seed index in a temporary folder, then alternates runs of
  rag ask QUESTION --index TMP/seed --mode lexical
  python -c "import sentence_transformers"
and reports the medians and their ratio (both measured side by side in this run, so machine load affects both).
It also lists which heavy libraries the `rag ask` path imported (none of torch, sentence_transformers, faiss,
gradio, transformers or nltk should be).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which province did Muzammil govern before Balkh?"
HEAVY = ("torch", "sentence_transformers", "transformers", "faiss", "gradio", "nltk", "sklearn", "scipy", "bm25s")
RAG = Path(sys.executable).with_name("rag")


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "seed"
        subprocess.run([str(RAG), "index", str(ROOT / "seeds"), "--index", str(index), "--model", "none",
                        "--no-progress"], check=True, stdout=subprocess.DEVNULL)
        ask = [str(RAG), "ask", QUESTION, "--index", str(index), "--mode", "lexical"]
        st = [sys.executable, "-c", "import sentence_transformers"]
        wall(ask), wall(st)  # page cache
        ask_s, st_s = [], []
        for _ in range(args.runs):
            ask_s.append(wall(ask))
            st_s.append(wall(st))
        probe = (f"import sys; sys.argv = ['rag', 'ask', {QUESTION!r}, '--index', {str(index)!r}, '--mode', "
                 f"'lexical']\nfrom rag.cli import main\nmain()\n"
                 f"print('IMPORTED', sorted(m for m in {HEAVY!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
        imported = [line for line in out.splitlines() if line.startswith("IMPORTED")][0][len("IMPORTED "):]
    a, s = statistics.median(ask_s), statistics.median(st_s)
    print(f"runs: {args.runs} each, alternating")
    print("| command | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    print(f"| `rag ask \"{QUESTION}\" --mode lexical` | {a:.2f} | {min(ask_s):.2f} | {max(ask_s):.2f} |")
    print(f"| `python -c \"import sentence_transformers\"` | {s:.2f} | {min(st_s):.2f} | {max(st_s):.2f} |")
    print(f"\nrag ask / import sentence_transformers: **{a / s:.2f}** ({s / a:.1f}x faster)")
    print(f"heavy libraries imported by `rag ask`: {imported}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
