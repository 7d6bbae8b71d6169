"""Fit the cross reader: the bundled encoder reading question and sentence together, tuned with LoRA adapters.

    .venv/bin/python scripts/train_cross_reader.py [--validate] [--epochs 3] [--out rag/cross_reader.npz]

Training data, from the 20 SQuAD v1.1 dev training articles only (`rag.squad.is_held_out` is False):
  - each question with the sentence holding its gold answer's characters: target the answer's tokens;
  - the same question with two other sentences of its paragraph (the one sharing most of its words, and one at
    random) and with the sentence of another paragraph of the article sharing most of its words: target "no
    answer" (the [CLS] token, as SQuAD 2.0 readers do). `--first-stage-negatives N` (a trial, not shipped: see the
    README) replaces the random sentence with the first stage's N best sentences that do not hold the answer (out
    of fold, scripts/train_reader.py's folds, hybrid mode);
  - questions made unanswerable the SQuAD 2.0 way (`squad_reader_data.unanswerable`: a name, number or year
    swapped; a negation added or removed) with the gold sentence: target "no answer". `--no-negations` leaves the
    made-up negations out, and `--unanswerable-rounds 2` makes each question unanswerable a second, other way
    (trials, not shipped: see the README).
A sentence that contains a gold answer's text is never used as a "no answer" example. `--negated-pairs` also asks
each question made unanswerable by an added "not" of its gold sentence negated the same way, with its answer, and
`--lora-layers N` adapts only the encoder's top N layers, training faster (trials, not shipped: see the README).
Two more trials, not shipped (README; compare one fold model with benchmarks/cross_reader_choice.py first):
`--context-words N` reads each sentence after the last N words of the sentence before it in its passage, and
`--rank-loss` adds a loss ranking each question's gold sentence above its "no answer" sentences in one batch.

`--validate` fits on 17 training articles and reports on the other 3 (still training articles: nothing held out
is read), which is how the settings below were checked. Without it, it first fits one model per fold of the
training articles (`--folds`, for scripts/train_reader.py's out-of-fold second stage), then one on all 20, and
writes the adapters (float16 LoRA matrices and the start/end head, 1.2 MB, no pickle) to `--out`. `--heldout`
fits nothing and reports the shipped adapters on the held-out articles. `--bf16` runs the forward pass under
bfloat16 autocast, the adapters and their optimiser staying float32 (a trial for faster training, not shipped:
see the README).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from rag.cross_reader import ALPHA, MAX_TOKENS, RANK, best_answer  # noqa: E402  (the product reads with these)

# Settings: common LoRA choices set once, not searched (rank 16 on every linear layer, scale 2, learning rate 4e-4,
# batch 32); checked on the 3 articles of --validate (training articles): EM in the gold sentence 0.594 at 2 epochs.
# Epochs: 3, chosen out of fold against 2 (train_reader.py's figures from the two fold models, training articles
# only): correct behaviour 0.7426 against 0.739 (hybrid) and 0.733 against 0.726 (lexical), top-1 reading further
# as chosen 0.7742 against 0.7735 and 0.7505 against 0.7487. The README has the held-out confirmation, and the
# 4-epoch trials (better out of fold, not on held-out articles).
LR, BATCH, EPOCHS = 4e-4, 32, 3
_WORD = __import__("re").compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def first_stage_oof(index, mode: str = "hybrid"):
    """The training questions, their candidates (scripts/train_reader.py's cached features) and each candidate's
    first-stage score out of fold (train_reader.py's grouped folds over the training articles, the shipped weights'
    features and kind for `mode`), so a question's candidates are scored by a first stage that did not see its
    article."""
    import squad_reader_data as sd
    from rag.reader_model import MODEL_FEATURES, default_model
    from train_reader import expand, oof_scores

    everything = sd.questions_with_offsets()
    rows = [r for r in everything if not r["held_out"]]
    titles = sorted({r["title"] for r in everything})
    data = expand(sd.cached_extract(index, rows, mode, "train"))
    entry = default_model().sets["dense" if mode == "hybrid" else mode]
    columns = [MODEL_FEATURES.index(f) for f in entry["features"]]
    scores = oof_scores(data, columns, np.asarray([titles.index(r["title"]) for r in rows]), kind=entry["kind"])
    return rows, data, scores


def first_stage_tops(index, per_question: int = 5) -> dict[str, list[tuple[int, int, int]]]:
    """Question id -> the first stage's best candidates for it, best first, as (document, start, end): hybrid mode,
    out of fold (`first_stage_oof`)."""
    from cross_stage import tops_per_question

    rows, data, scores = first_stage_oof(index)
    return {rows[int(data["q"][t[0]])]["id"]: [(int(data["doc"][c]), int(data["start"][c]), int(data["end"][c]))
                                              for c in t]
            for t in tops_per_question(data["q"], scores, per_question)}


CONTEXT_MARK = " [SEP] "  # between the words before a sentence and the sentence (the tokenizer's own [SEP] token)


def with_context(context: str, sentence: str, words: int) -> tuple[str, int]:
    """What is read for `sentence` when the last `words` words before it in its passage (`context`) are read with
    it (a trial, `--context-words`; rag.cross_reader reads sentences alone): those words, CONTEXT_MARK, the
    sentence; and where the sentence starts in that text. Without context (or `words` 0): the sentence and 0."""
    tail = " ".join(context.split()[-words:]) if words > 0 else ""
    if not tail:
        return sentence, 0
    prefix = tail + CONTEXT_MARK
    return prefix + sentence, len(prefix)


def sentences_before(by_doc: dict[int, list[tuple[int, int]]]) -> dict[tuple[int, int], tuple[int, int] | None]:
    """(document, sentence start) -> the (start, end) of the sentence before it in that document, None for its first;
    `by_doc`: each document's sentences in order."""
    return {(d, s): (spans[n - 1] if n else None) for d, spans in by_doc.items() for n, (s, _) in enumerate(spans)}


def examples(index, rows, seed: int = 0, negations: bool = True, tops: dict | None = None, hard: int = 0,
             rounds: int = 1, negated_pairs: bool = False, context_words: int = 0):
    """(question, sentence, answer start, answer end) in sentence characters; start = end = -1 for no answer.
    With `tops` (first_stage_tops) and `hard` > 0, the first `hard` of a question's first-stage candidates that do
    not hold its answer replace the random sentence of its paragraph. `rounds` 2 makes the questions unanswerable a
    second time, each question by another kind of change than in the first round (and other swaps). With
    `negated_pairs`, a question made unanswerable by adding "not" is also asked of its gold sentence negated the
    same way (`squad_reader_data.negate_sentence`), with its answer: "not" alone no longer means "no answer".
    With `context_words` > 0, each sentence is read after the last words of the sentence before it in its passage
    (`with_context`; the answer's offsets move with it)."""
    import squad_reader_data as sd
    from train_reader import gold_sentences

    store = index.store
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for i in range(store.manifest.sentences):
        s = store.sentence(i)
        by_doc.setdefault(s.doc_index, []).append((s.start, s.end))
    before = sentences_before(by_doc) if context_words > 0 else {}

    def context(doc, start):
        """The sentence before (doc, start) in its passage, or ""."""
        prev = before.get((doc, start))
        return store.text(doc)[prev[0]:prev[1]] if prev else ""

    rng = random.Random(seed)
    docs_of_title: dict[str, list[int]] = {}
    for r in rows:
        docs_of_title.setdefault(r["title"], [])
        d = store.document_position(r["doc_id"])
        if d not in docs_of_title[r["title"]]:
            docs_of_title[r["title"]].append(d)
    out, contexts_of = [], []  # examples, and the text before each one's sentence

    def add(question, sentence, a, b, doc, start):
        out.append((question, sentence, a, b))
        contexts_of.append(context(doc, start))

    in_sentence: dict[str, tuple[str, int, int]] = {}  # question id -> its gold sentence and answer in it
    golds = gold_sentences(index, rows)
    for r, gold in zip(rows, golds):
        if gold is None:
            continue
        doc, start, end = gold
        text = store.text(doc)
        answer = next((a, s) for a, s in r["answers"] if start <= s and s + len(a) <= end)
        add(r["question"], text[start:end], answer[1] - start, answer[1] - start + len(answer[0]), doc, start)
        in_sentence[r["id"]] = out[-1][1:]
        answers = [a.lower() for a, _ in r["answers"]]
        qwords = _words(r["question"])

        def usable(s, e, t=text):
            return not any(a in t[s:e].lower() for a in answers)

        others = [(s, e) for s, e in by_doc[doc] if (s, e) != (start, end) and usable(s, e)]
        best = None
        if others:
            best = max(others, key=lambda se: len(qwords & _words(text[se[0]:se[1]])))
            picked = {best} if hard else {best, rng.choice(others)}
            for s, e in picked:
                add(r["question"], text[s:e], -1, -1, doc, s)
        if hard and tops is not None:
            chosen = [(d, s, e) for d, s, e in tops.get(r["id"], [])
                      if (d, s, e) != (doc, start, end) and (d != doc or (s, e) != best)
                      and usable(s, e, store.text(d))][:hard]
            for d, s, e in chosen:
                add(r["question"], store.text(d)[s:e], -1, -1, d, s)
        pool = [(d, s, e) for d in docs_of_title[r["title"]] if d != doc for s, e in by_doc[d]]
        if pool:
            d, s, e = max(pool, key=lambda x: len(qwords & _words(store.text(x[0])[x[1]:x[2]])))
            t = store.text(d)
            if usable(s, e, t):
                add(r["question"], t[s:e], -1, -1, d, s)
    contexts = {r["doc_id"]: store.text(store.document_position(r["doc_id"])) for r in rows}
    made_up = set()
    nlp = sd.sentence_parser() if negated_pairs and negations else None
    for k in range(rounds):
        # round k shifts the questions by 2k places in unanswerable's cycle of kinds (swap, negation, removed, swap)
        shift = (2 * k) % len(rows) if rows else 0
        turned, turned_golds = rows[shift:] + rows[:shift], golds[shift:] + golds[:shift]
        made = sd.unanswerable(turned, contexts, seed=seed + 101 + 101 * k)
        for m, gold, r in zip(made, turned_golds, turned):
            if m["kind"] in (("swap", "negation") if negations else ("swap",)) and gold is not None:
                if k == 0 or (m["question"], gold) not in made_up:
                    made_up.add((m["question"], gold))
                    doc, start, end = gold
                    add(m["question"], store.text(doc)[start:end], -1, -1, doc, start)
                    if nlp is not None and m["kind"] == "negation" and " not " not in r["question"]:
                        negated = sd.negate_sentence(nlp, *in_sentence[r["id"]])
                        if negated is not None:
                            add(m["question"], *negated, doc, start)
    if context_words <= 0:
        return out
    read = []
    for (question, sentence, a, b), before_it in zip(out, contexts_of):
        text, shift = with_context(before_it, sentence, context_words)
        read.append((question, text, a + shift if a >= 0 else a, b + shift if b >= 0 else b))
    return read


# Under bfloat16 autocast, token lengths padded to a multiple of 16: each new batch shape builds new CPU kernels,
# and over 300 training batches memory grew to 5.4 GB and a batch took 650 ms; padded, 3.0 GB and 621 ms (measured
# once, with the frozen weights also cast to bfloat16 beforehand).
PAD_TO = 16


def encode(tokenizer, batch, pad_to: int | None = None):
    """Token ids and the start/end token targets (0, the [CLS] token, for no answer)."""
    import torch

    enc = tokenizer([q for q, *_ in batch], [s for _, s, *_ in batch], truncation="only_second",
                    max_length=MAX_TOKENS, padding=True, pad_to_multiple_of=pad_to, return_offsets_mapping=True,
                    return_tensors="pt")
    starts, ends = [], []
    for n, (_, _, a, b) in enumerate(batch):
        ts = te = 0
        if a >= 0:
            seq = enc.sequence_ids(n)
            for t, (o0, o1) in enumerate(enc["offset_mapping"][n].tolist()):
                if seq[t] != 1:
                    continue
                if o0 <= a < o1 or (ts == 0 and o0 >= a):
                    ts = ts or t
                if o0 < b:
                    te = t
            if ts == 0 or te < ts:
                ts = te = 0
        starts.append(ts)
        ends.append(te)
    enc.pop("offset_mapping")
    return enc, torch.tensor(starts), torch.tensor(ends)


def build_model(folder, lora_layers: int | None = None):
    """The bundled encoder with LoRA adapters on every linear layer of its top `lora_layers` layers (all by
    default) and a start/end head; the encoder's own weights are frozen. Fewer adapted layers train faster (the
    backward pass stops at the lowest adapted layer) and the product reads them the same way."""
    import torch
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(folder), local_files_only=True)
    for p in base.parameters():
        p.requires_grad_(False)

    class Lora(torch.nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.linear = linear
            self.a = torch.nn.Parameter(torch.randn(RANK, linear.in_features) / math.sqrt(linear.in_features))
            self.b = torch.nn.Parameter(torch.zeros(linear.out_features, RANK))

        def forward(self, x):
            return self.linear(x) + (x @ self.a.T @ self.b.T) * (ALPHA / RANK)

    layers = list(base.encoder.layer)
    for layer in layers[len(layers) - (lora_layers or len(layers)):]:
        att = layer.attention
        att.self.query, att.self.key, att.self.value = Lora(att.self.query), Lora(att.self.key), Lora(att.self.value)
        att.output.dense = Lora(att.output.dense)
        layer.intermediate.dense = Lora(layer.intermediate.dense)
        layer.output.dense = Lora(layer.output.dense)

    class Reader(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.base = base
            self.head = torch.nn.Linear(base.config.hidden_size, 2)

        def forward(self, **enc):
            h = self.base(**enc).last_hidden_state
            logits = self.head(h)
            mask = enc["attention_mask"] == 0
            return logits[..., 0].masked_fill(mask, -1e4), logits[..., 1].masked_fill(mask, -1e4)

    return Reader()


def question_groups(data) -> list[list[int]]:
    """Runs of examples asking the same question (examples() writes a question's gold sentence first, then its
    "no answer" sentences); a made-up question is a run of its own."""
    groups: list[list[int]] = []
    for i, (question, *_) in enumerate(data):
        if groups and data[groups[-1][0]][0] == question:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def batches_of(data, rng, rank: bool) -> list[list[int]]:
    """One epoch's batches: chunks of 50 batches' worth of examples in random order, each sorted by length (less
    padding) and cut into batches of BATCH, all batches then in random order (as the shipped adapters were trained).
    With `rank`, a question's examples stay in one batch (its gold sentence and its "no answer" sentences are ranked
    against each other), so batches may hold a few fewer."""
    units = question_groups(data) if rank else [[i] for i in range(len(data))]
    rng.shuffle(units)
    size = lambda u: max(len(data[i][0]) + len(data[i][1]) for i in u)  # noqa: E731
    batches = []
    chunk, count = [], 0
    for u in units + [None]:
        if u is not None:
            chunk.append(u)
            count += len(u)
        if count >= BATCH * 50 or (u is None and chunk):
            chunk.sort(key=size)
            batch: list[int] = []
            for unit in chunk:
                if batch and len(batch) + len(unit) > BATCH:
                    batches.append(batch)
                    batch = []
                batch += unit
            batches.append(batch)
            chunk, count = [], 0
    rng.shuffle(batches)
    return batches


def rank_loss(s, e, enc, batch_data):
    """Cross-entropy of each answerable question's gold sentence against its "no answer" sentences in the batch,
    on the reading's score (log-sum-exp of the sentence's start and end logits, less the [CLS] token's)."""
    import torch

    sentence = (enc["token_type_ids"] == 1) & (enc["attention_mask"] == 1)
    score = (torch.logsumexp(s.masked_fill(~sentence, -1e4), -1) + torch.logsumexp(e.masked_fill(~sentence, -1e4), -1)
             - s[:, 0] - e[:, 0])
    terms = []
    for group in question_groups(batch_data):
        if len(group) > 1 and batch_data[group[0]][2] >= 0:
            terms.append(torch.nn.functional.cross_entropy(score[group][None], torch.zeros(1, dtype=torch.long)))
    return torch.stack(terms).mean() if terms else score.sum() * 0


def train(model, tokenizer, data, epochs: int, seed: int = 0, bf16: bool = False, rank: bool = False):
    """AdamW with warm-up and linear decay. With `bf16`, the forward pass runs under bfloat16 autocast (the
    adapters, head and optimiser stay float32): on this machine's CPUs (AMX) a batch takes 0.72 of the float32
    time (benchmarks/cross_training_speed.py). With `rank`, a ranking loss is added (`rank_loss`; a trial)."""
    import torch

    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    rng = random.Random(seed)
    steps = epochs * len(batches_of(data, random.Random(seed), rank))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / (0.06 * steps)) * max(0.0, 1 - s / steps))
    loss_f = torch.nn.CrossEntropyLoss()
    step, started = 0, time.time()
    model.train()
    for epoch in range(epochs):
        batches = batches_of(data, rng, rank)
        total = 0.0
        for n, b in enumerate(batches):
            enc, ts, te = encode(tokenizer, [data[i] for i in b], PAD_TO if bf16 else None)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                s, e = model(**enc)
            loss = (loss_f(s.float(), ts) + loss_f(e.float(), te)) / 2
            if rank:
                loss = loss + rank_loss(s.float(), e.float(), enc, [data[i] for i in b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += float(loss.detach())
            if n % 100 == 0:
                print(f"  epoch {epoch + 1} batch {n}/{len(batches)} loss {total / (n + 1):.3f} "
                      f"({time.time() - started:.0f}s)", flush=True)
    model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validate", action="store_true", help="fit on 17 training articles, report on the other 3")
    parser.add_argument("--folds", type=int, default=2,
                        help="also fit one model per fold of the training articles (into .bench/reader/), so "
                             "scripts/train_reader.py can read each training question with a model that did not "
                             "see its article; 0 for none")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--no-negations", action="store_true",
                        help="leave the made-up negated questions out of the \"no answer\" examples")
    parser.add_argument("--first-stage-negatives", type=int, default=0, metavar="N",
                        help="per question, the first stage's N best sentences without its answer as \"no answer\" "
                             "examples instead of a random sentence of its paragraph (a trial; default 0, as shipped)")
    parser.add_argument("--unanswerable-rounds", type=int, default=1, choices=(1, 2),
                        help="make each training question unanswerable once or twice, the second time another way "
                             "(a trial; default 1, as shipped)")
    parser.add_argument("--negated-pairs", action="store_true",
                        help="also ask each question made unanswerable by an added \"not\" of its gold sentence "
                             "negated the same way, with its answer (a trial)")
    parser.add_argument("--lora-layers", type=int, default=None, choices=range(1, 7), metavar="N",
                        help="adapt only the encoder's top N layers (a trial for faster training; default: all 6)")
    parser.add_argument("--bf16", action="store_true",
                        help="run the forward pass under bfloat16 autocast (a trial for faster training; default: "
                             "float32, as shipped)")
    parser.add_argument("--context-words", type=int, default=0, metavar="N",
                        help="read each sentence after the last N words of the sentence before it in its passage "
                             "(a trial; default 0, as shipped)")
    parser.add_argument("--rank-loss", action="store_true",
                        help="add a loss ranking each question's gold sentence above its \"no answer\" sentences "
                             "(a trial; default off, as shipped)")
    parser.add_argument("--heldout", action="store_true",
                        help="fit nothing: report the shipped adapters (--out) on the 28 held-out articles")
    parser.add_argument("--only-fold", type=int, choices=(0, 1), metavar="K",
                        help="fit only the model that leaves out fold K (of 2) of the training articles and write it "
                             "to --out, to compare a trial with benchmarks/cross_reader_choice.py --fold K")
    parser.add_argument("--out", default=str(ROOT / "rag" / "cross_reader.npz"))
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    import squad_reader_data as sd
    from cross_stage import FOLD_FILE, fold_of

    torch.set_num_threads(2)
    index, _ = sd.open_index()
    rows = [r for r in sd.questions_with_offsets() if not r["held_out"] and r["answers"]]
    folder = sd.model_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if args.heldout:
        held = [r for r in sd.questions_with_offsets() if r["held_out"] and r["answers"]]
        print(json.dumps(validate(shipped_pairs(args.out), index, held), indent=1))
        return 0
    titles = sorted({r["title"] for r in rows})
    runs = []  # (rows to fit on, where the adapters go)
    if args.validate:
        runs.append(([r for r in rows if int(hashlib.sha1(r["title"].encode()).hexdigest(), 16) % 5 != 0], None))
    elif args.only_fold is not None:
        if Path(args.out).resolve() == (ROOT / "rag" / "cross_reader.npz").resolve():
            raise SystemExit("--only-fold writes a trial's fold model: name where with --out (not the shipped file)")
        runs.append(([r for r in rows if fold_of(r["title"], 2) != args.only_fold], Path(args.out)))
    else:
        for k in range(args.folds):
            runs.append(([r for r in rows if fold_of(r["title"], args.folds) != k],
                         sd.CACHE / FOLD_FILE.format(k=k, n=args.folds)))
        runs.append((rows, Path(args.out)))
    tops = first_stage_tops(index) if args.first_stage_negatives else None
    for fit_rows, out in runs:
        data = examples(index, fit_rows, negations=not args.no_negations, tops=tops, hard=args.first_stage_negatives,
                        rounds=args.unanswerable_rounds, negated_pairs=args.negated_pairs,
                        context_words=args.context_words)
        fitted_titles = {r["title"] for r in fit_rows}
        print(f"{len(fit_rows)} questions of {len(fitted_titles)} of {len(titles)} training articles: "
              f"{len(data)} examples ({sum(a >= 0 for _, _, a, _ in data)} with an answer)", flush=True)
        if out is not None and out.is_file() and out != Path(args.out):
            print(f"  {out} exists; kept", flush=True)
            continue
        model = build_model(folder, args.lora_layers)
        train(model, tokenizer, data, args.epochs, bf16=args.bf16, rank=args.rank_loss)
        if out is None:
            val_rows = [r for r in rows if r["title"] not in fitted_titles]
            print(json.dumps(validate(torch_pairs(model, tokenizer), index, val_rows), indent=1))
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            save(model, out)
    return 0


def save(model, path):
    arrays = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            arrays[name] = p.detach().numpy().astype(np.float16)
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({Path(path).stat().st_size / 1e6:.1f} MB)")


def read(model, tokenizer, pairs, starts: list[int] | None = None):
    """Per pair: (answer score, null score, best start char, best end char) in the sentence. With `starts`, where
    each pair's sentence starts in its text (`with_context`): the answer is only looked for from there."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            batch = pairs[i : i + 64]
            enc = tokenizer([q for q, _ in batch], [s for _, s in batch], truncation="only_second",
                            max_length=MAX_TOKENS, padding=True, return_offsets_mapping=True, return_tensors="pt")
            offsets = enc.pop("offset_mapping").numpy()
            s, e = model(**enc)
            s, e = s.numpy(), e.numpy()
            for n in range(len(batch)):
                start = starts[i + n] if starts else 0
                idx = np.flatnonzero([x == 1 and offsets[n, t, 0] >= start for t, x in enumerate(enc.sequence_ids(n))])
                if not len(idx):  # the sentence was cut away entirely (a context longer than MAX_TOKENS)
                    out.append((-1e9, float(s[n, 0] + e[n, 0]), 0, 0))
                    continue
                score, a, b = best_answer(s[n, idx], e[n, idx])
                out.append((score, float(s[n, 0] + e[n, 0]), int(offsets[n, idx[a], 0]), int(offsets[n, idx[b], 1])))
    return out


def validate(read_pairs, index, rows):
    """Short answers in the gold sentence, the gold sentence's rank in its paragraph, and answerable against
    swapped or negated questions, with `read_pairs([(question, sentence), ...]) -> [(score, start, end), ...]`."""
    import squad_reader_data as sd
    from rag.evaluation.metrics import exact_match, token_f1
    from train_reader import gold_sentences

    store = index.store
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for i in range(store.manifest.sentences):
        s = store.sentence(i)
        by_doc.setdefault(s.doc_index, []).append((s.start, s.end))
    golds = gold_sentences(index, rows)
    em = f1 = top = n = 0
    for r, gold in zip(rows, golds):
        if gold is None:
            continue
        doc, start, end = gold
        text = store.text(doc)
        sents = by_doc[doc]
        res = read_pairs([(r["question"], text[s:e]) for s, e in sents])
        g = sents.index((start, end))
        _, a, b = res[g]
        answers = [x for x, _ in r["answers"]]
        em += exact_match(text[start:end][a:b], answers)
        f1 += token_f1(text[start:end][a:b], answers)
        top += int(np.argmax([x[0] for x in res]) == g)
        n += 1
    contexts = {r["doc_id"]: store.text(store.document_position(r["doc_id"])) for r in rows}
    made = sd.unanswerable(rows, contexts, seed=999)
    pos, neg = [], []
    for r, m, gold in zip(rows, made, golds):
        if gold is None or m["kind"] not in ("swap", "negation"):
            continue
        doc, start, end = gold
        sent = store.text(doc)[start:end]
        (p, *_), (q, *_) = read_pairs([(r["question"], sent), (m["question"], sent)])
        pos.append(p)
        neg.append(q)
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score([1] * len(pos) + [0] * len(neg), pos + neg)
    return {"questions": n, "span_em_in_gold_sentence": em / n, "span_f1_in_gold_sentence": f1 / n,
            "sentence_top1_in_gold_paragraph": top / n, "auc_answerable_vs_swapped_or_negated": auc}


def torch_pairs(model, tokenizer):
    return lambda pairs: [(a - n, s, e) for a, n, s, e in read(model, tokenizer, pairs)]


def shipped_pairs(path):
    """The shipped adapters through rag.cross_reader (ONNX), as the product reads."""
    import squad_reader_data as sd
    from rag.cross_reader import CrossReader

    reader = CrossReader(Path(path), cache_dir=sd.CACHE / "cache")

    def read_pairs(pairs):
        out = []
        for q, s in pairs:
            x = reader.read(q, [s])[0]
            out.append((x.score, x.start, x.end))
        return out

    return read_pairs


if __name__ == "__main__":
    raise SystemExit(main())
