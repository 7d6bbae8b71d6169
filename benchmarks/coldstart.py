"""Cold start: wall time of `rag ask` as a fresh process, process start to printed answer, on the default
(hybrid, bundled all-MiniLM-L6-v2) index and on a BM25-only index, beside `import sentence_transformers`.

    .venv/bin/python benchmarks/coldstart.py [--runs 7]

In a temporary folder (with its own RAG_CACHE, so the one-off ONNX export happens during the build, as it does for
a user's first `rag index`), it builds the seed article twice:
  rag index seeds/ --index TMP/default                 (no --model: the bundled model, hybrid)
  rag index seeds/ --index TMP/lexical --model none    (BM25 only)
then runs, in turn, RUNS times each (one untimed round first, for the page cache):
  python -c "import sentence_transformers"
  rag ask QUESTION --index TMP/default
  rag ask QUESTION --index TMP/lexical
and reports medians and their ratios to the import (all measured side by side in this run, so machine load affects
each alike), and what the sha256 check of the bundled model costs with and without its stamp. It also lists which heavy libraries each `rag ask` imported: torch, sentence_transformers and
transformers must not be among them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which province did Muzammil govern before Balkh?"
HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "tokenizers", "faiss", "gradio", "nltk",
         "sklearn", "scipy", "bm25s")
RAG = Path(sys.executable).with_name("rag")


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def imported_by(argv: list[str], env: dict[str, str]) -> str:
    probe = (f"import sys; sys.argv = {['rag', *argv]!r}\nfrom rag.cli import main\n"
             f"try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print('IMPORTED', sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    return [line for line in out.splitlines() if line.startswith("IMPORTED")][0][len("IMPORTED "):]


def hash_check_ms(repeats: int = 5) -> tuple[float, float]:
    """Median ms to verify the bundled model's four files: hashing them (no stamp), and with a fresh stamp."""
    from rag.model_files import BUNDLED_SHA256, FileHashes, bundled_model_folder, verify_files

    folder = bundled_model_folder()
    cold, stamped = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            for bucket in (cold, stamped):
                started = time.perf_counter()
                verify_files(folder, BUNDLED_SHA256, FileHashes(Path(tmp)))
                bucket.append(1000 * (time.perf_counter() - started))
    return statistics.median(cold), statistics.median(stamped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAG_CACHE": str(Path(tmp) / "cache")}
        env.pop("RAG_MODEL", None)
        default, lexical = Path(tmp) / "default", Path(tmp) / "lexical"
        started = time.perf_counter()
        subprocess.run([str(RAG), "index", str(ROOT / "seeds"), "--index", str(default), "--no-progress"],
                       check=True, stdout=subprocess.DEVNULL, env=env)
        build_s = time.perf_counter() - started
        subprocess.run([str(RAG), "index", str(ROOT / "seeds"), "--index", str(lexical), "--model", "none",
                        "--no-progress"], check=True, stdout=subprocess.DEVNULL, env=env)
        commands = {
            'python -c "import sentence_transformers"': [sys.executable, "-c", "import sentence_transformers"],
            f'rag ask "{QUESTION}" (default index: hybrid, all-MiniLM-L6-v2 on ONNX)':
                [str(RAG), "ask", QUESTION, "--index", str(default)],
            f'rag ask "{QUESTION}" (BM25-only index)': [str(RAG), "ask", QUESTION, "--index", str(lexical)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():
            wall(command, env)  # page cache
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(wall(command, env))
        imported = {name: imported_by(command[1:], env) for name, command in list(commands.items())[1:]}
    baseline = statistics.median(next(iter(times.values())))
    print(f"runs: {args.runs} each, in turn; default index built in {build_s:.1f}s (including the one-off ONNX "
          f"export into a fresh cache)")
    print("| command | median s | min s | max s | median / import |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.2f} | {min(values):.2f} | {max(values):.2f} | {median / baseline:.2f} |")
    cold, stamped = hash_check_ms()
    print(f"\nhash check of the bundled model files (files in the page cache): {cold:.0f} ms hashing, "
          f"{stamped:.2f} ms with the (path, size, mtime_ns) stamp")
    print()
    for name, modules in imported.items():
        print(f"heavy libraries imported by `{name}`: {modules}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
