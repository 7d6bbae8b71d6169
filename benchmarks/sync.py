"""Sync vs full build: SQuAD paragraphs written as files, indexed once, then 1% of them changed and synced.

    .venv/bin/python benchmarks/sync.py [--docs 2000] [--change 0.01] [--model default|none|NAME]

Writes `--docs` paragraphs of SQuAD v1.1 dev (`/work/shared/data/squad/dev-v1.1.json`, or --squad) as .txt files
into a temporary folder (the data set is never copied into the repository), builds the index with the chosen
model (default: the bundled all-MiniLM-L6-v2), then: a sync with nothing changed, and a sync after appending a
sentence to `--change` of the files (and deleting one, adding one). Prints wall-clock seconds of each, the
sync/build ratio, and the passages each embedded, as one JSON object. The goal is a 1% sync in at most 10% of
a full build's time. Timings depend on the machine: compare them only on the same one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SQUAD = Path("/work/shared/data/squad/dev-v1.1.json")


def paragraphs(path: Path, n: int) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    found = [p["context"] for article in data for p in article["paragraphs"]]
    if len(found) < n:
        raise SystemExit(f"{path} has {len(found)} paragraphs, fewer than --docs {n}")
    return found[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--model", default="default")
    parser.add_argument("--squad", type=Path, default=SQUAD)
    args = parser.parse_args()

    import rag
    from rag.config import Config

    texts = paragraphs(args.squad, args.docs + 1)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for i, text in enumerate(texts[:-1]):
            (docs / f"p{i:05d}.txt").write_text(text, encoding="utf-8")
        config = Config.from_env(index_path=Path(tmp) / "idx")
        if args.model != "default":
            config = config.with_model(args.model)
        started = time.perf_counter()
        index = rag.Index.build([docs], config=config, show_progress=False)
        build_s = time.perf_counter() - started

        started = time.perf_counter()
        nothing = index.sync([docs])
        nothing_s = time.perf_counter() - started

        rng = random.Random(0)
        changed = rng.sample(range(args.docs), max(1, round(args.docs * args.change)))
        for i in changed[:-1]:
            with open(docs / f"p{i:05d}.txt", "a", encoding="utf-8") as handle:
                handle.write(" This sentence was added for the sync benchmark.")
        (docs / f"p{changed[-1]:05d}.txt").unlink()  # one deleted ...
        (docs / "new.txt").write_text(texts[-1], encoding="utf-8")  # ... and one added
        started = time.perf_counter()
        report = index.sync([docs])
        sync_s = time.perf_counter() - started
        check = index.answer(texts[-1].split(".")[0][:200], mode="lexical")
    result = {
        "documents": args.docs, "passages": report.passages, "model": index.manifest.describe_model(),
        "cpus": os.cpu_count(), "build_s": round(build_s, 2), "sync_unchanged_s": round(nothing_s, 2),
        "sync_changed_s": round(sync_s, 2), "ratio": round(sync_s / build_s, 4), "report": report.summary(),
        "embedded_passages": report.embedded, "unchanged_sync": nothing.summary(),
        "new_file_cited": bool(check.citations and check.citations[0].source.endswith("new.txt")),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
