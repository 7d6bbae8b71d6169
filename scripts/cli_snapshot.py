"""Print what the `rag` command says on the seed article, so a restructuring can prove it changed nothing.

    python scripts/cli_snapshot.py > before.txt      # on the old code
    python scripts/cli_snapshot.py > after.txt       # on the new code
    diff before.txt after.txt                        # must be empty (or only what the change meant to alter)

It builds a BM25 index and an index with the tiny random test model (tests/tiny_model.py) in a temporary folder,
then runs `rag index`, `rag ask` (answers, declines, --json, --trim, every mode) and `rag eval` (table, failures,
calibration, JSON report) as fresh processes and prints their exit codes, stdout and stderr. Temporary paths and
timings are replaced by placeholders; nothing else is touched. It is a check script, not a test: it takes about
a minute (the tiny model is built once into .bench/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a2e84cf20c291977.txt"
QUESTIONS = ROOT / "seeds" / "questions.jsonl"

ASKS = [
    ["Which province did Muzammil govern before Balkh?"],
    ["Who claimed responsibility for the explosion at the governor's office?"],
    ["When was Muzammil appointed to lead the Quetta Shura military commission?", "--trim"],
    ["What is the population of Kabul?"],
    ["Which province did Muzammil govern before Balkh?", "--json"],
    ["", "--k", "3"],
    ["x" * 2001],
    ["Who?", "--k", "0"],
]


def run(argv: list[str], tmp: Path, env: dict) -> str:
    proc = subprocess.run([sys.executable, "-m", "rag.cli", *argv], capture_output=True, text=True, env=env,
                          cwd=tmp)
    return f"$ rag {' '.join(a if len(a) < 60 else a[:20] + '…' for a in argv)}\nexit {proc.returncode}\n" \
           f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"


def normalise(text: str, tmp: Path) -> str:
    text = text.replace(str(tmp.resolve()), "<TMP>").replace(str(tmp), "<TMP>")
    text = re.sub(r" *\d+\.\d ms", " <ms>", text)
    text = "\n".join(line for line in text.split("\n") if "it/s]" not in line)
    text = re.sub(r'"(seconds|p50_s|p95_s|mean_s)": [0-9.e-]+', r'"\1": <s>', text)
    return text


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_model import build_tiny_model

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        docs = tmp / "docs"
        docs.mkdir()
        shutil.copy(SEED, docs / SEED.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
        # Built once and kept: a rebuilt random model would give other answers, hiding real differences.
        model = ROOT / ".bench" / "snapshot-tiny-model" / "model"
        if not (model / "modules.json").exists():
            sentences = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
            model = build_tiny_model(model.parent, sentences)
        out = []
        out.append(run(["index", "docs", "--index", "lex", "--model", "none", "--no-progress"], tmp, env))
        out.append(run(["index", "docs", "--index", "dense", "--model", str(model), "--no-progress"], tmp, env))
        for index in ("lex", "dense"):
            for ask in ASKS:
                out.append(run(["ask", *ask, "--index", index], tmp, env))
            for mode in ("lexical", "dense", "hybrid"):
                out.append(run(["ask", ASKS[0][0], "--index", index, "--mode", mode], tmp, env))
            out.append(run(["eval", str(QUESTIONS), "--index", index, "--json", "report.json"], tmp, env))
            report = json.loads((tmp / "report.json").read_text(encoding="utf-8"))
            out.append("--- report.json\n" + json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False))
            out.append(run(["eval", str(QUESTIONS), "--index", index, "--mode", "lexical", "--calibrate"], tmp,
                           env))
            out.append(run(["ask", "What is the population of Kabul?", "--index", index], tmp, env))
        for argv in (["ask", "Who?", "--index", "missing"], ["index", "nowhere", "--index", "x"],
                     ["eval", "nope.jsonl", "--index", "lex"], ["ask", "Balkh?", "--index", "lex", "--mode", "dense"]):
            out.append(run(argv, tmp, env))
        print(normalise("\n".join(out), tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
