"""Hard-wrapped text scores as the same text unwrapped: SQuAD paragraphs of training articles, both ways.

    .venv/bin/python benchmarks/wrapped.py [PATH] [--articles 6] [--width 72] [--model none] [--chunk-chars 700]

Takes the first N training articles of SQuAD v1.1 dev (an article is held out when the SHA-1 of its title is
odd; held-out articles are never read here), indexes their paragraphs once as they are and once hard-wrapped
at WIDTH columns by textwrap (editor style: hyphenated words are not broken, since no editor's fill command
does that), asks the same questions of both and prints retrieval hit@k, MRR and answer containment side by
side. The figures should be equal: wrapping changes the layout, not the sentences or passages. PATH defaults to
../shared/data/squad/dev-v1.1.json from the repository root; the data set is read in place, never copied.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def held_out(title: str) -> bool:
    """The project's split: an article is held out when the SHA-1 of its title, as an integer, is odd."""
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 2 == 1


def training_set(path: Path, articles: int):
    """Documents and questions of the first `articles` training articles, in file order."""
    from rag.squad import load_squad

    documents, questions = load_squad(path)
    titles: list[str] = []
    for document in documents:
        title = document.source.split("/")[1]
        if not held_out(title) and title not in titles:
            titles.append(title)
    keep = set(titles[:articles])
    documents = [d for d in documents if d.source.split("/")[1] in keep]
    ids = {d.doc_id for d in documents}
    return documents, [q for q in questions if set(q.doc_ids) <= ids], sorted(keep)


def wrapped(documents, questions, width: int, break_on_hyphens: bool = False):
    """The same documents hard-wrapped, with new content ids, and the questions pointed at them."""
    from rag.documents import doc_id_for

    new_id, out = {}, []
    for document in documents:
        text = textwrap.fill(document.text, width, break_on_hyphens=break_on_hyphens, break_long_words=False)
        new_id[document.doc_id] = doc_id_for(text)
        out.append(replace(document, doc_id=new_id[document.doc_id], text=text))
    return out, [replace(q, doc_ids=tuple(new_id[d] for d in q.doc_ids)) for q in questions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="dev-v1.1.json")
    parser.add_argument("--articles", type=int, default=6, help="training articles to use (default 6)")
    parser.add_argument("--width", type=int, default=72, help="wrap column (default 72)")
    parser.add_argument("--model", default="none", help="sentence-transformers model or folder (default none)")
    parser.add_argument("--chunk-chars", type=int, default=700, help="largest passage (default 700)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--break-on-hyphens", action="store_true",
                        help="wrap as textwrap does by default, breaking 'well-known' after the hyphen")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index build at debug level
    path = Path(args.path)
    if not path.is_file():
        print(f"SQuAD v1.1 dev not found at {path}; skipping. Pass its path: benchmarks/wrapped.py PATH")
        return 0

    from rag import Config, Index
    from rag.evaluation import evaluate

    documents, questions, titles = training_set(path, args.articles)
    lines = sum(len(textwrap.wrap(d.text, args.width, break_on_hyphens=False)) for d in documents)
    print(f"{len(titles)} training articles ({', '.join(titles)}): {len(documents)} paragraphs, "
          f"{len(questions)} questions; wrapped at {args.width} columns into {lines} lines")
    layouts = {"unwrapped": (documents, questions), "wrapped": wrapped(documents, questions, args.width, args.break_on_hyphens)}
    figures: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="wrapped-bench-") as scratch:
        for name, (docs, qs) in layouts.items():
            config = Config.from_env(index_path=Path(scratch) / name, model=args.model, chunk_chars=args.chunk_chars)
            index = Index.from_documents(docs, config=config, show_progress=False)
            report = evaluate(qs, index, mode="all" if args.model != "none" else "lexical", k=args.k)
            for mode, result in report.modes.items():
                if result.available:
                    figures.setdefault(mode, {})[name] = {**result.retrieval,
                                                          "containment": result.answers["containment"]}
    equal = True
    for mode, by_layout in figures.items():
        print(f"\n{mode}")
        print(f"{'metric':14}{'unwrapped':>12}{'wrapped':>12}")
        for key, value in by_layout["unwrapped"].items():
            other = by_layout["wrapped"][key]
            equal &= abs(value - other) < 1e-12
            print(f"{key:14}{value:>12.4f}{other:>12.4f}")
    print("\nwrapped figures equal the unwrapped ones" if equal else "\nwrapped figures DIFFER from the unwrapped ones")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
