"""The train / held-out split of SQuAD dev by article: one function, stable, and the counts the benchmarks quote."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import rag
from rag.squad import ALL, HELD_OUT, TRAIN, in_split, is_held_out, load_squad

ROOT = Path(__file__).resolve().parent.parent
SQUAD_DEV = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def test_known_titles_fall_where_the_sha1_rule_puts_them():
    # Checked by hand: sha1("Normans") ends in an odd hex digit, sha1("Nikola_Tesla") in an even one.
    assert is_held_out("Normans") and not is_held_out("Nikola_Tesla")
    for title in ("Super_Bowl_50", "Steam_engine", "Ελλάδα", ""):
        assert is_held_out(title) == (int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 2 == 1)


def test_every_title_is_in_exactly_one_of_train_and_heldout():
    for title in ("Normans", "Nikola_Tesla", "Warsaw", "Teacher"):
        assert in_split(title, TRAIN) != in_split(title, HELD_OUT)
        assert in_split(title, ALL)
    with pytest.raises(rag.InputError, match="split"):
        in_split("Normans", "test")


def _write(tmp_path, titles):
    data = {"version": "1.1", "data": [
        {"title": t, "paragraphs": [{"context": f"{t} is an article about {t}.",
                                     "qas": [{"id": t, "question": f"What is {t}?",
                                              "answers": [{"answer_start": 0, "text": t}]}]}]}
        for t in titles]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_split_filters_questions_but_never_documents(tmp_path):
    path = _write(tmp_path, ["Normans", "Nikola_Tesla", "Warsaw", "Teacher"])
    documents, _ = load_squad(path)
    for split, wanted in ((TRAIN, ["Nikola_Tesla", "Teacher"]), (HELD_OUT, ["Normans", "Warsaw"]),
                          (ALL, ["Normans", "Nikola_Tesla", "Warsaw", "Teacher"])):
        docs, questions = load_squad(path, split=split)
        assert docs == documents  # open retrieval: every paragraph is indexed whichever questions are asked
        assert [q.id for q in questions] == wanted
    with pytest.raises(rag.InputError, match="split"):
        load_squad(path, split="dev")


@pytest.mark.skipif(not SQUAD_DEV.is_file(), reason="SQuAD v1.1 dev is not in shared/data")
def test_squad_dev_splits_into_28_held_out_and_20_training_articles():
    articles = json.loads(SQUAD_DEV.read_text(encoding="utf-8"))["data"]
    held_out = [a["title"] for a in articles if is_held_out(a["title"])]
    assert (len(held_out), len(articles) - len(held_out)) == (28, 20)
    documents, train = load_squad(SQUAD_DEV, split=TRAIN)
    _, heldout = load_squad(SQUAD_DEV, split=HELD_OUT)
    assert len(documents) == 2067
    assert (len(heldout), len(train)) == (5708, 4862)
    assert not {q.id for q in train} & {q.id for q in heldout}
