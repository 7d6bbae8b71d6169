"""benchmarks/squad.py with a model: every mode runs through the product, embeddings are cached as .npy."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SQUAD = {"version": "1.1", "data": [
    {"title": "Normans", "paragraphs": [  # held out
        {"context": "The Normans gave their name to Normandy, a region in France.",
         "qas": [{"id": "n1", "question": "To which region did the Normans give their name?",
                  "answers": [{"answer_start": 36, "text": "Normandy"}]}]}]},
    {"title": "Nikola_Tesla", "paragraphs": [  # training
        {"context": "Nikola Tesla was born in 1856 in Smiljan. He later moved to New York.",
         "qas": [{"id": "t1", "question": "Where was Tesla born?",
                  "answers": [{"answer_start": 32, "text": "Smiljan"}]}]}]},
]}


def _benchmark():
    spec = importlib.util.spec_from_file_location("squad_benchmark", ROOT / "benchmarks" / "squad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_all_modes_on_the_chosen_split_with_a_local_model(tmp_path, tiny_model, capsys):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    cache, report = tmp_path / "cache", tmp_path / "report.json"
    args = [str(path), "--model", str(tiny_model), "--no-txtai", "--no-progress", "--cache", str(cache),
            "--reader", "learned"]
    assert _benchmark().main(args + ["--split", "train", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "1 train questions" in out
    for system in ("bm25s plain", "rag lexical", "rag dense", "rag hybrid"):
        assert system in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["questions"] == 1 and data["paragraphs"] == 2 and data["split"] == "train"
    assert [r["system"] for r in data["rows"]] == ["bm25s plain", "rag lexical", "rag dense", "rag hybrid"]
    assert all(0 <= r["hit@1"] <= 1 for r in data["rows"])
    # The passage embeddings were cached as a plain .npy, with the time they took beside them, and reused.
    (stored,) = cache.glob("passages-*.npy")
    assert np.load(stored, allow_pickle=False).shape[0] == 2
    assert "seconds" in json.loads(stored.with_suffix(".json").read_text(encoding="utf-8"))
    assert _benchmark().main(args + ["--mode", "lexical"]) == 0  # default split: held out
    out = capsys.readouterr().out
    assert "1 heldout questions" in out and "rag dense" not in out
