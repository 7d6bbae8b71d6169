"""A hard-wrapped copy of the seed article answers the seed questions as well as the original, in every mode."""

from __future__ import annotations

import textwrap

import pytest

from conftest import ROOT, SEED

QUESTIONS = ROOT / "seeds" / "questions.jsonl"
MODES = ("lexical", "dense", "hybrid")
WRAP_WIDTH = 72  # the width; git and PEP 8 wrap prose near it


def hard_wrap(text: str, separator: str) -> str:
    """Each line of the seed (a paragraph or a heading) filled at 72 columns, as an editor would save it."""
    return separator.join(textwrap.fill(line, WRAP_WIDTH) for line in text.splitlines() if line.strip()) + "\n"


@pytest.fixture(scope="module")
def containment(tmp_path_factory, seed_text, tiny_model):
    """Seed-set containment per mode, for the original article and two wrapped copies, with the same model."""
    import torch

    # One thread: the tiny model's forward pass is microseconds of work, and on a loaded machine torch's thread
    # pool made the 9 evaluations take two minutes instead of ten seconds.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _containment(tmp_path_factory, seed_text, tiny_model)
    finally:
        torch.set_num_threads(threads)


def _containment(tmp_path_factory, seed_text, tiny_model):
    import rag

    figures = {}
    layouts = {
        "original": seed_text,
        "wrapped": hard_wrap(seed_text, "\n"),  # the seed's own layout: paragraphs on consecutive lines
        "wrapped, blank lines": hard_wrap(seed_text, "\n\n"),  # paragraphs separated by blank lines
    }
    for name, text in layouts.items():
        folder = tmp_path_factory.mktemp("wrapped-docs")
        (folder / SEED.name).write_text(text, encoding="utf-8")
        index = rag.Index.build([folder], path=tmp_path_factory.mktemp("idx") / "index", model=str(tiny_model),
                                show_progress=False)
        report = rag.evaluate(QUESTIONS, index, mode="all", k=5)
        figures[name] = {mode: report.modes[mode].answers["containment"] for mode in MODES}
    return figures


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["wrapped", "wrapped, blank lines"])
@pytest.mark.parametrize("mode", MODES)
def test_wrapped_seed_containment_matches_the_original(containment, layout, mode):
    assert containment[layout][mode] == pytest.approx(containment["original"][mode], abs=0.02), containment


def test_the_wrapped_copy_is_really_wrapped(seed_text):
    wrapped = hard_wrap(seed_text, "\n")
    assert max(len(line) for line in wrapped.splitlines()) <= WRAP_WIDTH
    assert len(wrapped.splitlines()) > 3 * len(seed_text.splitlines())
