"""The `rag` command: a thin shell over the library. Errors the user can fix become one line and exit code 2.

    rag index seeds/                  build the index (default folder .rag-index, or --index / RAG_INDEX), or sync it
    rag ask "QUESTION"                quote the answer with its citations, or say the documents do not answer
    rag eval seeds/questions.jsonl    score retrieval, answers, citations and abstention on a question set
    rag chat                          the browser chat (Gradio) on 127.0.0.1:7860

This module holds the argument parser and `main` (logging, errors as one line, exit codes); the command bodies are
in `rag.cli_commands`. Only the standard library is imported here at start-up, so `rag ask` on a BM25 index stays fast.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys

from .cli_commands import (  # noqa: F401  (re-exported: ui.app and older callers import these from rag.cli)
    _cmd_ask,
    _cmd_chat,
    _cmd_eval,
    _cmd_index,
    _config,
    _syncable,
    open_index,
    warn_if_sources_changed,
)

EXIT_USAGE = 2


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that says where help is, like every other error."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message}; see `{self.prog} --help`\n")


def _parser() -> argparse.ArgumentParser:
    from .config import DEFAULT_MODEL

    parser = _Parser(prog="rag", description="Extractive, citation-first question answering.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        # Also after the command (`rag index DOCS -v`); SUPPRESS keeps a `-v` given before it.
        p.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help="log progress details")
        p.add_argument("--index", metavar="DIR", help="index folder (default: $RAG_INDEX or .rag-index), or "
                                                      "milvus:FILE.db / milvus:http://HOST:19530")
        p.add_argument("--collection", help="collection of a milvus: index (default: $RAG_COLLECTION or rag)")
        p.add_argument("--model", help="sentence-transformers model name or folder; 'none' for BM25 only "
                                       f"(default: $RAG_MODEL or the bundled {DEFAULT_MODEL})")

    p = sub.add_parser("index", help="build or sync an index from files and folders (.txt, .md, .pdf, .html, .docx)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="files or folders to index (folders are read recursively: .txt .md .pdf .html .htm .docx)")
    common(p)
    p.add_argument("--chunk-chars", type=int, help="largest passage in characters (default 700)")
    p.add_argument("--overlap", type=int, help="sentences shared by consecutive passages (default 1)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--no-entities", action="store_true",
                   help="skip tagging named entities (faster on very large collections; short answers then use "
                        "no entity types)")
    p.add_argument("--rebuild", action="store_true",
                   help="build from scratch even when the index exists (by default an existing index with the "
                        "same model and chunking is synced: only new and changed files are read and embedded)")

    p = sub.add_parser("ask", help="answer a question with quoted, cited text")
    p.add_argument("question")
    common(p)
    p.add_argument("--k", type=int, default=5, help="passages to read (default 5)")
    p.add_argument("--mode", choices=["lexical", "dense", "hybrid"],
                   help="retrieval mode (default: hybrid with a semantic model, else lexical)")
    p.add_argument("--trim", action="store_true", help="quote only the clause that answers")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")

    p = sub.add_parser("eval", help="evaluate against a JSONL question set")
    p.add_argument("questions", metavar="QUESTIONS")
    common(p)
    p.add_argument("--mode", choices=["lexical", "dense", "hybrid", "all"], default="all",
                   help="retrieval mode to score, or all of them side by side (default all)")
    p.add_argument("--k", type=int, default=5, help="passages to read per question (default 5)")
    p.add_argument("--json", metavar="REPORT", help="write the full report as JSON to this file")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed line")
    p.add_argument("--calibrate", action="store_true",
                   help="choose the decline threshold on this set and store it in the index")
    p.add_argument("--heldout", metavar="QUESTIONS2",
                   help="with --calibrate: a second set to report the chosen threshold on (else cross-validated)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the answer/decline trade-off and the reliability diagram (needs matplotlib)")

    p = sub.add_parser("chat", help="start the browser chat")
    common(p)
    p.add_argument("--docs", metavar="DIR", help="folder to index when the index is missing (default: seeds/)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1; any other needs --auth, --auth-file or --no-auth)")
    p.add_argument("--port", type=_port, default=7860, help="port to serve on, 1-65535 (default 7860)")
    p.add_argument("--share", action="store_true", help="ask Gradio for a public link (off by default; needs "
                                                         "--auth, --auth-file or --no-auth)")
    p.add_argument("--auth", action="append", metavar="USER:PASSWORD", default=[],
                   help="require this login (repeat for more users)")
    p.add_argument("--auth-file", metavar="FILE", help="require a login from this file: one USER:PASSWORD a line")
    p.add_argument("--no-auth", action="store_true",
                   help="serve beyond this machine without a login (anyone who can reach it can ask)")
    p.add_argument("--read-only", action="store_true", help="hide the Add documents and Remove controls")
    p.add_argument("--allow-uploads", action="store_true",
                   help="let users add and remove documents when serving beyond this machine (off there by "
                        "default; on for 127.0.0.1 unless --read-only)")
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number; use a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number; use a number from 1 to 65535")
    return port


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if args.verbose else logging.WARNING)
    for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "bm25s", "httpx", "urllib3", "pypdf"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    from .errors import RagError

    try:
        code = _COMMANDS[args.command](args)
        sys.stdout.flush()  # here, where a closed pipe can be handled, rather than at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`rag ask … | head -c10`): stop quietly. Point stdout at /dev/null so the
        # interpreter's final flush does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass
        return 1
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        root.removeHandler(handler)


_COMMANDS = {"index": _cmd_index, "ask": _cmd_ask, "eval": _cmd_eval, "chat": _cmd_chat}


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
