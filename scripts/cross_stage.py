"""The reader's second stage for scripts/train_reader.py: read the first stage's best candidates with the cross
reader, rescore them, and give the decline model the cross reader's view.

Training questions are read by the fold model of scripts/train_cross_reader.py that did not see their article
(.bench/reader/cross-fold-K-of-N.npz), so the second stage and the decline model are fitted on scores like those
of questions the cross reader never saw. Held-out questions are read by the shipped model (rag/cross_reader.npz).
Readings are cached under .bench/reader/ by content.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MAX_TOP = 5  # most candidates ever read per question; how many are read is chosen up to --max-reads
# The default bound on reads is the latency goal (hybrid p50 <= 30 ms on the seed index): each read costs about 8 ms
# there on 2 cores and the rest of an answer about 11 ms (benchmarks/answer_latency.py), so two reads fit and three
# do not (p50 about 35 ms).
LATENCY_READS = 2
FOLD_FILE = "cross-fold-{k}-of-{n}.npz"


def fold_of(title: str, folds: int) -> int:
    """The article's fold (sha1 // 2: the held-out split already uses sha1's parity, so every training article's
    sha1 is even)."""
    return int(hashlib.sha1(title.encode()).hexdigest(), 16) // 2 % folds


def fold_readers(folds: int = 2):
    """title -> the CrossReader that did not see it, or None when the fold models are missing."""
    import squad_reader_data as sd
    from rag.cross_reader import CrossReader

    files = [sd.CACHE / FOLD_FILE.format(k=k, n=folds) for k in range(folds)]
    if not all(f.is_file() for f in files):
        return None
    readers = [CrossReader(f, cache_dir=sd.CACHE / "cache") for f in files]
    return lambda title: readers[fold_of(title, folds)]


def shipped_reader():
    import squad_reader_data as sd
    from rag.cross_reader import CrossReader

    reader = CrossReader(cache_dir=sd.CACHE / "cache")
    return lambda title: reader


def tops_per_question(q: np.ndarray, scores: np.ndarray, n: int) -> list[np.ndarray]:
    """For each question in order of first appearance, its candidates' indices, best first, at most n."""
    order = np.lexsort((-scores, q))
    out, start = [], 0
    qs = q[order]
    bounds = np.flatnonzero(np.diff(qs)) + 1
    for end in list(bounds) + [len(order)]:
        out.append(order[start:end][:n])
        start = end
    return out


def read_tops(index, data, rows, scores, reader_for_title, name: str):
    """(list of per-question candidate indices, best first, up to MAX_TOP; per question an array of cross scores;
    per question the best span's (start, end) in each candidate's sentence)."""
    import squad_reader_data as sd

    tops = tops_per_question(data["q"], scores, MAX_TOP)
    texts = [[index.store.text(int(data["doc"][c]))[int(data["start"][c]) : int(data["end"][c])] for c in t]
             for t in tops]
    questions = [rows[int(data["q"][t[0]])] for t in tops]
    readers = [reader_for_title(r["title"]) for r in questions]
    h = hashlib.sha256(name.encode())
    for r, ts, reader in zip(questions, texts, readers):
        h.update((reader.version + r["question"] + "\x00" + "\x01".join(ts)).encode())
    file = sd.CACHE / f"cross-readings-{name}-{h.hexdigest()[:16]}.npz"
    if file.is_file():
        with np.load(file, allow_pickle=False) as z:
            flat, counts = z["readings"], z["counts"]
    else:
        flat_list = []
        for n, (r, ts, reader) in enumerate(zip(questions, texts, readers)):
            flat_list += [(x.score, x.start, x.end) for x in reader.read(r["question"], ts)]
            if n % 1000 == 0:
                print(f"  cross readings {name}: {n}/{len(tops)}", flush=True)
        flat = np.asarray(flat_list, dtype=np.float64)
        counts = np.asarray([len(t) for t in tops])
        np.savez(file, readings=flat, counts=counts)
    splits = np.cumsum(counts)[:-1]
    per = np.split(flat, splits)
    return tops, [p[:, 0] for p in per], [p[:, 1:].astype(int) for p in per]


def span_texts(index, data, tops, spans) -> list[list[str]]:
    """Per question, the text of the cross reader's short answer in each candidate read."""
    out = []
    for t, per in zip(tops, spans):
        texts = []
        for c, (a, b) in zip(t, per):
            start = int(data["start"][c])
            texts.append(index.store.text(int(data["doc"][c]))[start + a : start + b])
        out.append(texts)
    return out


def stage2_matrix(scores, tops, cross, n: int, spans: list[list[str]], questions: list[str]):
    """Rows of the second stage over each question's best n candidates (all of STAGE2_FEATURES): features,
    candidate index, question."""
    from rag.second_stage import stage2_features

    xs, cand, qn = [], [], []
    for k, (t, c) in enumerate(zip(tops, cross)):
        xs.append(stage2_features(scores[t[:n]], c[:n], spans[k][:n], questions[k]))
        cand += list(t[:n])
        qn += [k] * len(t[:n])
    return np.vstack(xs), np.asarray(cand), np.asarray(qn)


def choose(qn, s2, cand):
    """Per question, the candidate with the best second-stage logit and its position among those read."""
    best = {}
    for row, (k, v) in enumerate(zip(qn, s2)):
        if k not in best or v > s2[best[k]]:
            best[k] = row
    rows = [best[k] for k in sorted(best)]
    return cand[rows], np.asarray(rows)
