"""The bodies of the `rag` commands: `rag index` (build or sync), `rag ask`, `rag eval` (with --calibrate and
--plot) and `rag chat` (hands over to `ui.app.run_cli`), and the start-up warning about changed source files.

It deliberately does not parse arguments, set up logging or turn errors into exit codes (`rag.cli`), nor format
what is printed (`rag.cli_format`). Only the standard library is imported at the top, so `rag ask` stays fast.
"""

from __future__ import annotations

import json
import os
import sys


def _config(args):
    from .config import Config

    overrides = {"index_path": args.index, "model": args.model, "collection": getattr(args, "collection", None)}
    for name, attr in (("chunk_chars", "chunk_chars"), ("chunk_overlap", "overlap")):
        overrides[name] = getattr(args, attr, None)
    if getattr(args, "no_entities", False):
        overrides["entities"] = False
    return Config.from_env(**overrides)


def open_index(args, show_progress: bool = True):
    """The index named by --index/RAG_INDEX. The default one is built from ./seeds/ when missing and run where
    that folder is (the repository's quick start); elsewhere a missing index is an error naming `rag index`, not
    an index of the repository's seed article left in the user's folder."""
    from pathlib import Path

    from .api import open_index as open_or_build
    from .config import Config

    config = _config(args)
    seeds_here = config.index_path == Config().index_path and Path("seeds").is_dir()
    return open_or_build(config, build_missing=seeds_here, show_progress=show_progress,
                         notify=lambda line: print(line, file=sys.stderr))


def _syncable(config):
    """The index at the configured folder or Milvus collection when a sync can update it (it opens, and was built with the model and
    chunking asked for), else None: a full build is then needed."""
    from .errors import RagError
    from .index import Index
    from .locations import is_milvus, milvus_target

    if is_milvus(config.index_path):
        from .milvus_store import MilvusStore

        if not MilvusStore.exists(milvus_target(config)):  # an unreachable server raises here, not rebuilds
            return None
    elif not (config.index_path / "manifest.json").exists():
        return None
    try:
        index = Index.load(config=config)
    except RagError as exc:
        print(f"note: rebuilding the index at {config.index_path} ({str(exc).split(';')[0]})", file=sys.stderr)
        return None
    manifest = index.manifest
    if config.model_explicit and config.model is None and manifest.model is not None:
        print(f"note: rebuilding the index at {config.index_path} for BM25 only (--model none)", file=sys.stderr)
        return None
    if (manifest.max_chars, manifest.overlap_sentences) != (config.chunk_chars, config.chunk_overlap):
        print(f"note: rebuilding the index at {config.index_path}: its chunking differs from the one asked for",
              file=sys.stderr)
        return None
    if not config.entities and index.store.entities(0, 0, 0) is not None:
        print(f"note: rebuilding the index at {config.index_path} without named entities (--no-entities)",
              file=sys.stderr)
        return None
    return index


def _cmd_index(args) -> int:
    from .index import Index

    config = _config(args)
    from .cli_format import plural

    index = None if args.rebuild else _syncable(config)
    if index is not None:
        from .index_folder import check_target
        from .locations import is_milvus

        if not is_milvus(config.index_path):
            check_target(config.index_path, args.paths)
        report = index.sync(args.paths, show_progress=not args.no_progress)
        print(f"Synced {index.path}: {report.summary()}; {plural(report.documents, 'document')}, "
              f"{plural(report.passages, 'passage')} (model: {index.manifest.describe_model()}).")
        return 0
    index = Index.build(args.paths, config=config, show_progress=not args.no_progress)
    manifest = index.manifest

    print(f"Indexed {plural(manifest.document_count, 'document')} into {plural(manifest.passages, 'passage')} at {index.path} "
          f"(model: {manifest.describe_model()}).")
    return 0


def _cmd_ask(args) -> int:
    from .cli_format import format_answer
    from .validation import validate_k, validate_question

    validate_question(args.question)  # before any index is built or loaded
    validate_k(args.k)
    index = open_index(args)
    warn_if_sources_changed(index)
    mode = args.mode
    if mode is None and (args.model or "").lower() == "none":
        mode = "lexical"  # --model none asks for BM25 alone, whatever the index's default mode
    answer = index.answer(args.question, k=args.k, mode=mode, trim=args.trim)
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(answer) | {"outcome": answer.outcome}, ensure_ascii=False, indent=1))
        return 0
    print(format_answer(answer, index.threshold_for(answer.mode), index.update_command()))
    return 0


# Above this many documents the start-up check of every file's stat is skipped (answers still check theirs).
def warn_if_sources_changed(index) -> None:
    """Say on stderr, once at start, which indexed files changed or went away since indexing."""
    from .cli_format import sources_changed_line

    line = sources_changed_line(index)
    if line:
        print(f"warning: {line}", file=sys.stderr)


def plot_path(value: str):
    """Where `--plot` draws: a name without an extension gets .png (as matplotlib would write it), and its folder
    is made now, before the evaluation runs, so a bad path fails first."""
    from pathlib import Path

    from .errors import InputError

    path = Path(value)
    if path.is_dir():
        raise InputError(f"--plot {value} is a folder; give a file name, e.g. --plot {path / 'eval.png'}")
    if not path.suffix:
        path = path.with_suffix(".png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the plot to {path} ({exc.strerror}); choose another --plot path") from None
    return path


def _cmd_eval(args) -> int:
    """Evaluate, print the table and the failures, write --json, and --calibrate if asked."""
    from dataclasses import replace

    from .cli_format import format_calibration, format_failures, format_table, write_report
    from .config import MODES
    from .errors import InputError
    from .evaluation import calibrate, evaluate

    if args.heldout and not args.calibrate:
        raise InputError("--heldout is the set --calibrate reports on; add --calibrate (or drop --heldout)")
    drawing = plot_path(args.plot) if args.plot else None
    index = open_index(args)
    report = evaluate(args.questions, index, mode=args.mode, k=args.k, strict=args.strict,
                      show_progress=sys.stderr.isatty())
    if args.calibrate:
        single = args.mode if args.mode in MODES else None
        heldout = None
        if args.heldout:
            heldout = evaluate(args.heldout, index, mode=single or index.default_mode(), k=args.k,
                               strict=args.strict, show_progress=sys.stderr.isatty())
        report = replace(report, calibration=calibrate(report, index, mode=single, heldout=heldout))
    print(format_table(report))
    failures = format_failures(report)
    if failures:
        print()
        print(failures)
    if report.calibration is not None:
        print()
        print(format_calibration(report.calibration))
    if drawing is not None:
        from .evaluation.plots import plot

        mode = (report.calibration.mode if report.calibration is not None
                else args.mode if args.mode in MODES else index.default_mode())
        if mode not in report.modes or not report.modes[mode].available:
            mode = next(m for m, r in report.modes.items() if r.available)
        threshold = report.calibration.threshold if report.calibration is not None else index.threshold_for(mode)
        try:
            drawn = plot(report.modes[mode].results, threshold, drawing, title=f"{args.questions} ({mode})")
        except (OSError, ValueError) as exc:  # matplotlib: an unknown format is a ValueError
            raise InputError(f"cannot draw the plot into {drawing} ({exc}); choose another --plot path") from None
        ece = "n/a" if drawn["ece"] is None else f"{drawn['ece']:.3f}"
        print(f"\nDrew {drawing}: {mode} mode, threshold {threshold:.3f}, expected calibration error {ece}")
    if args.json:
        write_report(report, args.json)
        print(f"\nWrote the full report to {args.json}")
    return 0


def _cmd_chat(args) -> int:
    try:
        from ui.app import run_cli
    except ImportError as exc:
        from .errors import RagError

        raise RagError(f"the chat needs Gradio ({exc}); install it with `pip install -e .[ui]`") from None
    if getattr(args, "collection", None):  # the chat reads its settings from RAG_* (ui/app.py)
        os.environ["RAG_COLLECTION"] = args.collection
    return run_cli(args)
