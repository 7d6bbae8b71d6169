"""The training scripts' own logic on small made-up data: the cross reader's "no answer" examples from the first
stage's candidates and from a second round of made-up unanswerable questions, and the reader reading further only
for the questions it is least sure of."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import train_cross_reader  # noqa: E402
import train_reader  # noqa: E402

ARTICLE = [
    "The bridge opened in 1932. It was designed by Anna Berg. Traffic crossed it from the first day.",
    "The museum stands by the river. Its roof was rebuilt after a fire. Anna Berg drew the new roof.",
]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    from rag import Config, Index
    from rag.documents import doc_id_for
    from rag.types import Document

    docs = [Document(doc_id=doc_id_for(t), source=f"article/{n}", text=t) for n, t in enumerate(ARTICLE)]
    folder = tmp_path_factory.mktemp("small")
    return Index.from_documents(docs, config=Config.from_env(index_path=folder, model="none"), show_progress=False)


def test_first_stage_candidates_without_the_answer_become_no_answer_examples(small_index):
    from rag.documents import doc_id_for

    store = small_index.store
    doc = store.document_position(doc_id_for(ARTICLE[0]))
    other = store.document_position(doc_id_for(ARTICLE[1]))
    text = ARTICLE[0]
    row = {"id": "q1", "question": "Who designed the bridge?", "title": "Bridge", "held_out": False,
           "doc_id": doc_id_for(ARTICLE[0]), "answers": [("Anna Berg", text.index("Anna Berg"))]}
    sentence = lambda t, s: (t.index(s), t.index(s) + len(s))  # noqa: E731
    gold = (doc, *sentence(text, "It was designed by Anna Berg."))
    opened = (doc, *sentence(text, "The bridge opened in 1932."))
    roof = (other, *sentence(ARTICLE[1], "Its roof was rebuilt after a fire."))
    drew = (other, *sentence(ARTICLE[1], "Anna Berg drew the new roof."))  # holds the answer's text: never "no answer"
    tops = {"q1": [drew, gold, roof, opened]}
    made = train_cross_reader.examples(small_index, [row], tops=tops, hard=2)
    negatives = [s for q, s, a, _ in made if q == row["question"] and a < 0]
    assert "Its roof was rebuilt after a fire." in negatives  # the first stage's best without the answer
    assert "Anna Berg drew the new roof." not in negatives
    assert [s for q, s, a, _ in made if a >= 0] == ["It was designed by Anna Berg."]
    without = [s for q, s, a, _ in train_cross_reader.examples(small_index, [row], tops=None, hard=0)]
    assert "The bridge opened in 1932." in without and "Its roof was rebuilt after a fire." not in without


def test_the_reader_reads_further_only_for_questions_below_the_threshold():
    # three questions, two candidates read first; reading four, question 1 gains its right candidate (7)
    first = (np.array([0, 1, 4, 5, 8, 9]), np.array([0, 0, 1, 1, 2, 2]), np.array([2.0, 1.0, -1.0, -2.0, 3.0, 0.0]))
    further = (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]),
               np.array([2.0, 1.0, 0.0, 0.0, -1.0, -2.0, 0.0, 4.0, 3.0, 0.0]))
    tables = {2: first, 4: further}
    picked, stage2s, ats, flags = train_reader.adaptive_picks(tables, 2, {"reads": 4, "below": 0.0}, 3)
    assert picked.tolist() == [0, 7, 8]
    assert flags.tolist() == [False, True, False]
    assert ats == [0, 3, 0] and len(stage2s[1]) == 4
    never = train_reader.adaptive_picks(tables, 2, None, 3)[0]
    assert never.tolist() == [0, 4, 8]


def test_how_far_to_read_is_chosen_by_top_1_on_the_training_questions():
    # question 1 is right only when its fourth candidate is read; it is the least sure after two reads
    first = (np.array([0, 1, 4, 5]), np.array([0, 0, 1, 1]), np.array([2.0, 1.0, -1.0, -2.0]))
    further = (np.array([0, 1, 2, 3, 4, 5, 6, 7]), np.array([0, 0, 0, 0, 1, 1, 1, 1]),
               np.array([2.0, 1.0, 0.0, 0.0, -1.0, -2.0, 0.0, 4.0]))
    y = np.zeros(8, dtype=np.int8)
    y[[0, 7]] = 1
    more = train_reader.choose_more({"y": y}, {2: first, 3: first, 4: further}, 2, 0.5)
    assert more["reads"] == 4 and more["below"] > -1.0


def test_a_second_round_makes_each_question_unanswerable_another_way(small_index):
    from rag.documents import doc_id_for

    def row(n, question, answer, text):
        return {"id": f"q{n}", "question": question, "title": "Bridge", "held_out": False,
                "doc_id": doc_id_for(text), "answers": [(answer, text.index(answer))]}

    rows = [row(0, "Who designed the bridge?", "Anna Berg", ARTICLE[0]),
            row(1, "When did the bridge open?", "1932", ARTICLE[0]),
            row(2, "What was rebuilt after a fire?", "Its roof", ARTICLE[1]),
            row(3, "Who was the new roof drawn by?", "Anna Berg", ARTICLE[1])]
    asked = {r["question"] for r in rows}

    def made_up(rounds):
        return {q for q, s, a, *_ in train_cross_reader.examples(small_index, rows, rounds=rounds)
                if a < 0 and q not in asked}

    once, twice = made_up(1), made_up(2)
    assert once < twice  # the first round's questions are kept, and more are made
    assert "Who was not the new roof drawn by?" in twice - once  # row 3 was swapped in round 1, negated in round 2


def test_a_question_negated_with_its_sentence_keeps_its_answer(small_index):
    import squad_reader_data as sd

    from rag.documents import doc_id_for

    nlp = sd.sentence_parser()
    negated, start, end = sd.negate_sentence(nlp, "Tesla won the prize in 1890.", 23, 27)
    assert (negated, negated[start:end]) == ("Tesla did not win the prize in 1890.", "1890")
    assert sd.negate_sentence(nlp, "The tower was built in 1889.", 23, 27)[0] == "The tower was not built in 1889."
    assert sd.negate_sentence(nlp, "It was never built.", 0, 2) is None  # already negated
    assert sd.negate_sentence(nlp, "Tesla won the prize.", 6, 9) is None  # the change would touch the answer

    text = ARTICLE[0]
    rows = [{"id": f"q{n}", "question": q, "title": "Bridge", "held_out": False, "doc_id": doc_id_for(text),
             "answers": [(a, text.index(a))]}
            for n, (q, a) in enumerate([("Who designed the bridge?", "Anna Berg"), ("When did the bridge open?", "1932")])]
    pairs = {(q, s[a:b] if a >= 0 else None)
             for q, s, a, b in train_cross_reader.examples(small_index, rows, negated_pairs=True)}
    plain = {(q, s[a:b] if a >= 0 else None) for q, s, a, b in train_cross_reader.examples(small_index, rows)}
    # row 1 is the negation of unanswerable's cycle: asked of its own sentence it has no answer; asked of the
    # sentence negated the same way it keeps its answer
    assert ("When did not the bridge open?", None) in plain and ("When did not the bridge open?", None) in pairs
    assert pairs - plain == {("When did not the bridge open?", "1932")}
    sentences = {s for q, s, a, _ in train_cross_reader.examples(small_index, rows, negated_pairs=True) if a >= 0}
    assert "The bridge did not open in 1932." in sentences


def test_with_context_each_sentence_follows_the_end_of_the_one_before_and_keeps_its_answer(small_index):
    from rag.documents import doc_id_for

    text = ARTICLE[0]
    row = {"id": "q1", "question": "Who designed the bridge?", "title": "Bridge", "held_out": False,
           "doc_id": doc_id_for(text), "answers": [("Anna Berg", text.index("Anna Berg"))]}
    plain = train_cross_reader.examples(small_index, [row])
    read = train_cross_reader.examples(small_index, [row], context_words=2)
    assert len(read) == len(plain)
    (gold,) = [(s, a, b) for q, s, a, b in read if a >= 0]
    assert gold[0] == "in 1932. [SEP] It was designed by Anna Berg." and gold[0][gold[1] : gold[2]] == "Anna Berg"
    first = [s for q, s, a, b in read if q == row["question"] and s.endswith("The bridge opened in 1932.")]
    assert first == ["The bridge opened in 1932."]  # the passage's first sentence has nothing before it


def test_with_the_ranking_loss_a_questions_sentences_share_a_batch_and_the_gold_one_is_pushed_up():
    import random

    torch = pytest.importorskip("torch")
    data = []
    for k in range(40):
        data += [(f"q{k}", "gold " * (k % 7), 0, 4), (f"q{k}", "other", -1, -1), (f"q{k}", "third", -1, -1),
                 (f"made-up {k}", "gold", -1, -1)]
    assert train_cross_reader.question_groups(data)[:2] == [[0, 1, 2], [3]]
    batches = train_cross_reader.batches_of(data, random.Random(0), rank=True)
    assert sorted(i for b in batches for i in b) == list(range(len(data)))
    assert all(len(b) <= train_cross_reader.BATCH for b in batches)
    where = {i: n for n, b in enumerate(batches) for i in b}
    assert all(where[g[0]] == where[i] for g in train_cross_reader.question_groups(data) for i in g)

    # three sentences of one question (gold first) and a made-up one; tokens 0 [CLS], 1-2 question, 3-5 sentence
    enc = {"token_type_ids": torch.tensor([[0, 0, 0, 1, 1, 1]] * 4),
           "attention_mask": torch.ones(4, 6, dtype=torch.long)}
    batch = [("q", "a", 0, 1), ("q", "b", -1, -1), ("q", "c", -1, -1), ("m", "a", -1, -1)]
    start = torch.zeros(4, 6, requires_grad=True)
    loss = train_cross_reader.rank_loss(start, torch.zeros(4, 6), enc, batch)
    assert float(loss.detach()) == pytest.approx(np.log(3))  # three equal scores
    loss.backward()
    assert float(start.grad[0, 3:].sum()) < 0 < float(start.grad[1, 3:].sum())  # gold's sentence up, the others down
    assert float(start.grad[3].abs().sum()) == 0  # the made-up question is not ranked
    assert float(train_cross_reader.rank_loss(start, torch.zeros(4, 6), enc, batch[1:]).detach()) == 0  # none


def test_lora_on_the_top_layers_only_leaves_the_lower_ones_without_adapters():
    pytest.importorskip("torch")
    import squad_reader_data as sd

    model = train_cross_reader.build_model(sd.model_folder(), lora_layers=2)
    adapted = {name.split(".")[3] for name, p in model.named_parameters()
               if p.requires_grad and name.startswith("base.encoder.layer.")}
    assert adapted == {"4", "5"}  # the top two of six
    everywhere = train_cross_reader.build_model(sd.model_folder())
    assert {name.split(".")[3] for name, p in everywhere.named_parameters()
            if p.requires_grad and name.startswith("base.encoder.layer.")} == {str(k) for k in range(6)}


def test_training_under_bfloat16_autocast_moves_the_adapters_and_keeps_them_float32():
    pytest.importorskip("torch")
    import squad_reader_data as sd
    from transformers import AutoTokenizer

    folder = sd.model_folder()
    model = train_cross_reader.build_model(folder, lora_layers=1)
    data = [("When did the bridge open?", "The bridge opened in 1932.", 21, 25),
            ("Who designed the bridge?", "The museum stands by the river.", -1, -1)]
    train_cross_reader.train(model, AutoTokenizer.from_pretrained(folder, local_files_only=True), data, epochs=2,
                             bf16=True)
    trained = {name: p for name, p in model.named_parameters() if p.requires_grad}
    assert all(p.dtype.is_floating_point and p.dtype.itemsize == 4 for p in trained.values())
    # the LoRA "b" matrices start at zero; the first step's learning rate is 0 (warm-up), the second moves them
    assert any(float(p.abs().max()) > 0 for name, p in trained.items() if name.endswith(".b"))


def test_padding_to_a_multiple_of_16_keeps_the_answer_on_the_same_tokens():
    pytest.importorskip("torch")
    import squad_reader_data as sd
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(sd.model_folder(), local_files_only=True)
    batch = [("When did the bridge open?", "The bridge opened in 1932.", 21, 25)]
    plain, s0, e0 = train_cross_reader.encode(tokenizer, batch)
    padded, s1, e1 = train_cross_reader.encode(tokenizer, batch, train_cross_reader.PAD_TO)
    assert padded["input_ids"].shape[1] % 16 == 0 and padded["input_ids"].shape[1] > plain["input_ids"].shape[1]
    assert (s0.tolist(), e0.tolist()) == (s1.tolist(), e1.tolist()) and s0.tolist() != [0]
    assert tokenizer.decode(plain["input_ids"][0, s0[0]:e0[0] + 1]) == "1932"


def test_first_stage_recall_counts_a_question_once_its_gold_sentence_is_within_the_best_k():
    import importlib.util

    path = SCRIPTS.parent / "benchmarks" / "first_stage_recall.py"
    spec = importlib.util.spec_from_file_location("first_stage_recall", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # question 0: gold ranked 1st; question 1: gold ranked 3rd (candidates out of order); question 2: no gold;
    # question 3 has no candidates at all and still counts in the denominator
    q = np.array([0, 0, 1, 1, 1, 2, 2])
    y = np.array([1, 0, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.8, 0.5, 0.3, 0.4])
    got = module.recall_at(q, y, scores, questions=4)
    assert got["1"] == 0.25 and got["2"] == 0.25 and got["3"] == 0.5 and got["any"] == 0.5


def test_cross_reader_choice_counts_the_best_scoring_of_the_first_k():
    import importlib.util

    path = SCRIPTS.parent / "benchmarks" / "cross_reader_choice.py"
    spec = importlib.util.spec_from_file_location("cross_reader_choice", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scores = [np.array([1.0, 3.0, 2.0]), np.array([5.0, 1.0, 9.0]), np.array([0.0, 1.0])]
    golds = [np.array([False, True, False]), np.array([True, False, False]), np.array([False, False])]
    assert module.choice_rates(scores, golds) == {"questions": 3, "gold_among_5": round(2 / 3, 4),
                                                  "best_of_2_holds_it": round(2 / 3, 4),
                                                  "best_of_5_holds_it": round(1 / 3, 4)}
    spans = [[(0, 0, 10), (0, 11, 20), (1, 0, 9)], [(0, 0, 5), (3, 0, 5), (4, 0, 5)], [(0, 0, 1), (0, 2, 3)]]
    # question 2 picks document 4 while its gold sentence is document 0's; question 1 is right; question 3 has none
    assert module.misses(scores, golds, spans) == {"wrong_picks": 1, "in_a_gold_passage": 0.0,
                                                   "next_to_a_gold_sentence": 0.0}
    spans[1][2] = (0, 6, 9)  # the pick, now beside the gold sentence (0, 0, 5) of the same passage
    assert module.misses(scores, golds, spans) == {"wrong_picks": 1, "in_a_gold_passage": 1.0,
                                                   "next_to_a_gold_sentence": 1.0}
