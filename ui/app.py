"""The browser chat: a Gradio app that wires a question box, settings and the conversation to one `rag.Index`.

    from rag import Index
    from ui.app import build_app, launch
    launch(build_app(Index.load(".rag-index")), port=7860)

The index is loaded once and shared read-only by every session; each browser keeps its own conversation in
session state, so nothing here is global. With uploads on (`build_app(..., uploads=UploadLimits())`), an "Add
documents" panel copies files into the index's own `documents/` folder and syncs it (`rag.uploads`, limits
checked on the server), then swaps in the reloaded index for the next question; questions already running
finish on the index they started with. Uploads and removals run one at a time. Questions are answered by `Index.answer`, follow-ups rewritten by
`rag.followup`, and the HTML is built by `ui.render`: this module holds no retrieval logic.
Gradio is imported inside the functions, so importing `ui.app` (for `rag chat --help`) stays cheap.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rag.cli_format import plural
from rag.config import DEFAULT_MODEL, MAX_QUESTION_CHARS
from rag.errors import RagError

from .render import CSS, Turn, esc, render_answer, render_conversation, render_error

DEFAULT_K = 5
MAX_K = 20
# Requests answered at the same time. Answering is CPU work that releases the GIL in numpy/faiss/torch, and
# the index is read-only, so sessions need not wait for each other (Gradio's own default is one at a time).
CONCURRENCY = 16
# Without uploads Gradio's upload route is still there, so cap what it accepts; with uploads, the per-file limit.
MAX_FILE_SIZE = "1mb"
EXAMPLES = 3
QUESTION_SET = "questions.jsonl"  # a question set shipped beside the documents gives the example questions

# Clicking a citation marker scrolls its source into view and flashes it. A plain "#id" link alone is not
# enough: the conversation sits in a scrolled container and Gradio may rewrite the URL.
SCROLL_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.rag-marker");
    if (!link) return;
    const target = document.getElementById(link.dataset.target);
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({behavior: "smooth", block: "center"});
    target.classList.add("rag-flash");
    setTimeout(() => target.classList.remove("rag-flash"), 1600);
  });
}
"""


def example_questions(index) -> list[str]:
    """Questions a first-time visitor can click: the first answerable ones of a question set kept beside the
    documents (`questions.jsonl`, the format `rag eval` reads), else one per document title."""
    from rag.errors import InputError
    from rag.evaluation import load_questions

    folders = dict.fromkeys(index.source_path(d).parent for d in index.documents)
    for folder in folders:
        if (folder / QUESTION_SET).is_file():
            try:
                questions, _ = load_questions(folder / QUESTION_SET)
            except InputError:
                continue
            return [q.question for q in questions if q.answerable][:EXAMPLES]
    titles = []
    for document in index.documents[:EXAMPLES]:
        first_line = index.document_text(document.doc_id).strip().splitlines()[0].strip("# ").strip()
        if first_line:
            titles.append(f"What does the document say about {first_line[:80]}?")
    return titles


def sources_changed_note(index) -> str | None:
    """One line naming the indexed files that changed or went away since indexing (None when all are current)."""
    from rag.cli import CHECK_SOURCES_UP_TO
    from rag.cli_format import format_sources_changed

    if index.manifest.document_count > CHECK_SOURCES_UP_TO:
        return None
    changed = index.changed_sources()
    return format_sources_changed(changed, index.update_command()) if changed else None


def answer_turn(index, question: str, k, mode: str | None, turns: list[Turn]) -> Turn:
    """Answer one question in the context of the conversation so far (follow-ups are rewritten first)."""
    from rag.followup import rewrite

    number = len(turns) + 1
    question = (question or "").strip()
    last = next((t for t in reversed(turns) if t.searched_for), None)
    try:
        searched_for = rewrite(question, last.searched_for, last.answer_text) if last and question else question
        answer = index.answer(searched_for, k=int(k), mode=mode or None)
    except RagError as exc:
        return Turn(number, question, "", None, render_error(number, question, str(exc)))
    return Turn(number, question, searched_for, answer.text,
                render_answer(number, question, searched_for, answer, index.document_text, index.update_command()))


def header_html(index, changed_note: str | None = None) -> str:
    manifest = index.manifest
    return ("<h2 style='margin:0'>Ask your documents</h2>"
            f"<p style='opacity:.7;margin:.2rem 0 0' id='rag-counts'>{esc(plural(manifest.document_count, 'document'))}, "
            f"{esc(plural(manifest.passages, 'passage'))} in "
            f"<code title='{esc(index.path)}'>{esc(index.path.name)}</code>; "
            f"semantic model: {esc(manifest.describe_model())}"
            f"{' (bundled, Apache-2.0)' if manifest.model_name == DEFAULT_MODEL else ''}</p>"
            + (f"<p class='rag-banner' id='rag-sources-changed'>{esc(changed_note)}</p>" if changed_note else ""))


def build_app(index, examples: list[str] | None = None, uploads=None):
    """The chat as a `gr.Blocks` over `index` (not launched). `examples` default to `example_questions`.
    `uploads`: a `rag.uploads.UploadLimits` to show the "Add documents" panel under those limits (None: hidden,
    and the server takes no documents)."""
    import threading

    import gradio as gr

    current = {"index": index}  # replaced, never mutated, after an upload or removal
    changing = threading.Lock()
    unavailable = index.unavailable_modes()
    available = [m for m in ("lexical", "dense", "hybrid") if m not in unavailable]
    examples = example_questions(index) if examples is None else examples
    changed_note = sources_changed_note(index)

    def ask(question, k, mode, turns):
        turns = list(turns or [])
        if not (question or "").strip():
            # Nothing typed: keep the conversation as it is, and say what to do in a short notice.
            gr.Info("Type a question first.")
            return render_conversation(turns), turns, question
        if len(question) > MAX_QUESTION_CHARS:
            # Keep the text for the user to shorten, rather than echoing all of it into the conversation.
            gr.Warning(f"The question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
                       f"Shorten it and ask again.")
            return render_conversation(turns), turns, question
        turns.append(answer_turn(current["index"], question, k, mode, turns))
        return render_conversation(turns), turns, ""

    def clear():
        return render_conversation([]), [], ""

    # analytics_enabled=False: no telemetry or version check leaves the machine, whatever the environment says.
    with gr.Blocks(title="rag chat", analytics_enabled=False) as demo:
        header = gr.HTML(header_html(index, changed_note))
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                conversation = gr.HTML(render_conversation([]), elem_id="rag-conversation",
                                       min_height=300, padding=True)
                with gr.Row():
                    question = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                          scale=5, max_lines=4, elem_id="rag-question", autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                if examples:
                    gr.Examples(examples=[[q] for q in examples], inputs=[question], label="Example questions")
                clear_button = gr.Button("Clear conversation", variant="secondary", size="sm",
                                         elem_id="rag-clear")
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("### Settings")
                k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Passages to read (k)", elem_id="rag-k")
                mode = gr.Radio(available, value=index.default_mode() if index.default_mode() in available
                                else available[0], label="Retrieval mode", elem_id="rag-mode")
                if unavailable:
                    reasons = sorted(set(unavailable.values()))
                    # Shown, but disabled, so people learn the modes exist and what turns them on.
                    gr.Radio(list(unavailable), value=None, interactive=False, label="Unavailable modes",
                             info=" ".join(reasons), elem_id="rag-unavailable-modes")

            if uploads is not None:
                upload_panel(gr, current, changing, uploads, header)

        inputs = [question, k, mode, turns]
        outputs = [conversation, turns, question]
        send.click(ask, inputs, outputs, api_name="ask", concurrency_limit=CONCURRENCY)
        question.submit(ask, inputs, outputs, api_visibility="private", concurrency_limit=CONCURRENCY)
        clear_button.click(clear, None, outputs, api_name="clear")
    return demo


def upload_panel(gr, current: dict, changing, limits, header) -> None:
    """The "Add documents" and "Remove a document" controls (inside the settings column)."""
    from rag.errors import RagError as Error
    from rag.index import Index
    from rag.uploads import UPLOAD_SUFFIXES, add_files, remove_file, uploaded_documents

    def reload():
        old = current["index"]
        current["index"] = Index.load(old.path, config=old.config)
        return current["index"]

    def choices():
        return [name for name, _ in uploaded_documents(current["index"])]

    def add(files, progress=gr.Progress()):
        # Gradio keeps an upload's original name as the last part of its temporary path.
        paths = [getattr(f, "name", f) for f in (files or [])]
        pairs = [(path, os.path.basename(path)) for path in paths]
        if not pairs:
            return "Choose files to add first.", gr.update(), gr.update(), None
        if not changing.acquire(blocking=False):
            return "Another upload is being indexed; try again when it is done.", gr.update(), gr.update(), files
        try:
            progress(0.1, desc=f"Checking {plural(len(pairs), 'file')}")
            progress(0.3, desc="Reading and indexing")
            written, report = add_files(current["index"], pairs, limits)
            progress(0.9, desc="Loading the updated index")
            index = reload()
        except Error as exc:
            return f"Not added: {exc}", gr.update(), gr.update(), None
        finally:
            changing.release()
        skipped = len(written) - report.added - report.updated
        note = (f" {plural(skipped, 'file')} could not be read or repeated a document already indexed "
                f"(see the server log)." if skipped > 0 else "")
        return (f"Added {', '.join(written)}: {report.summary()}. The index now holds "
                f"{plural(index.manifest.document_count, 'document')}.{note}",
                header_html(index), gr.update(choices=choices(), value=None), None)

    def remove(name, confirmed):
        if not name:
            return "Choose a document to remove.", gr.update(), gr.update(), False
        if not confirmed:
            return f"Tick the box to confirm removing {name}.", gr.update(), gr.update(), False
        with changing:
            try:
                report = remove_file(current["index"], name)
                index = reload()
            except Error as exc:
                return f"Not removed: {exc}", gr.update(), gr.update(), False
        return (f"Removed {name} ({report.summary()}). The index now holds "
                f"{plural(index.manifest.document_count, 'document')}.",
                header_html(index), gr.update(choices=choices(), value=None), False)

    gr.Markdown("### Add documents")
    files = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES), label="Documents",
                    elem_id="rag-upload-files")
    gr.Markdown(f"Accepted: {limits.describe()}. Files are kept in the index's own documents folder.",
                elem_id="rag-upload-limits")
    add_button = gr.Button("Add documents", variant="secondary", elem_id="rag-upload")
    status = gr.Markdown(elem_id="rag-upload-status")
    gr.Markdown("### Remove a document")
    picked = gr.Dropdown(choices(), value=None, label="Added documents", elem_id="rag-remove-choice")
    confirm = gr.Checkbox(False, label="Yes, remove it and its passages from the index", elem_id="rag-remove-confirm")
    remove_button = gr.Button("Remove", variant="stop", size="sm", elem_id="rag-remove")
    add_button.click(add, [files], [status, header, picked, files], api_name="add_documents", concurrency_limit=1)
    remove_button.click(remove, [picked, confirm], [status, header, picked, confirm], api_name="remove_document",
                        concurrency_limit=1)


def launch(demo, host: str = "127.0.0.1", port: int = 7860, share: bool = False, prevent_thread_lock: bool = False,
           quiet: bool = False, auth: list[tuple[str, str]] | None = None, max_file_size=None):
    """Start serving `demo`; blocks unless `prevent_thread_lock`. Returns what `Blocks.launch` returns.

    `auth`: the (user, password) pairs Gradio's login accepts; None serves without a login."""
    import gradio as gr

    demo.queue(default_concurrency_limit=CONCURRENCY)
    try:
        return demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=prevent_thread_lock,
                           quiet=quiet, css=CSS, js=SCROLL_JS, theme=gr.themes.Soft(), footer_links=["api"],
                           auth=auth or None, max_file_size=max_file_size or MAX_FILE_SIZE)
    except OSError as exc:  # Gradio says "Cannot find empty port"; say which flag fixes it
        raise RagError(f"port {port} is in use on {host}; pass --port N with a free port") from exc


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_logins(pairs: list[str], auth_file: str | None) -> list[tuple[str, str]]:
    """(user, password) pairs from `--auth USER:PASSWORD` values and an `--auth-file` (one pair a line, # comments)."""
    logins = []
    lines = [(f"--auth {pair.split(':', 1)[0]}:…", pair) for pair in pairs]
    if auth_file:
        try:
            text = Path(auth_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RagError(f"cannot read the --auth-file {auth_file} ({getattr(exc, 'strerror', None) or exc}); "
                           f"give a UTF-8 file with one USER:PASSWORD a line") from None
        lines += [(f"{auth_file} line {n}", line.strip()) for n, line in enumerate(text.splitlines(), start=1)
                  if line.strip() and not line.lstrip().startswith("#")]
        if not any(where.startswith(auth_file) for where, _ in lines):
            raise RagError(f"the --auth-file {auth_file} holds no logins; add one USER:PASSWORD a line")
    for where, pair in lines:
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise RagError(f"{where} is not USER:PASSWORD with both parts; write it as user:password")
        logins.append((user, password))
    return logins


def port_in_use(host: str, port: int) -> bool:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def reachable_urls(host: str, port: int) -> list[str]:
    """Addresses a browser can open: for a wildcard host, this machine's loopback and its network address."""
    import socket

    if host not in ("0.0.0.0", "::", ""):
        return [f"http://{'[' + host + ']' if ':' in host else host}:{port}"]
    urls = [f"http://127.0.0.1:{port}"]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outgoing interface
            address = probe.getsockname()[0]
        if not address.startswith("127."):
            urls.append(f"http://{address}:{port}")
    except OSError:
        pass
    return urls


def open_or_build_index(index_dir: str | None, model: str | None, docs: str | None):
    """The index folder if it exists; otherwise built from `docs` (default: seeds/) with progress bars."""
    from rag.api import open_index
    from rag.config import Config
    from rag.storage import MANIFEST

    config = Config.from_env(index_path=index_dir, model=model)
    if docs and (config.index_path / MANIFEST).exists():
        print(f"Using the existing index at {config.index_path}; --docs is only read when it is missing "
              f"(rebuild with `rag index {docs} --index {config.index_path}`).", file=sys.stderr)
    return open_index(config, [docs] if docs else None, notify=lambda line: print(line, file=sys.stderr))


def run_cli(args) -> int:
    """`rag chat`: check the serving flags, open (or build) the index, then serve the chat until interrupted."""
    from rag.cli import warn_if_sources_changed

    logins = read_logins(args.auth, args.auth_file)
    public = args.share or not is_loopback(args.host)
    where = "a public share link" if args.share else f"{args.host}, which other machines can reach"
    if public and not logins:
        if not args.no_auth:
            raise RagError(f"serving on {where} needs a login; pass --auth USER:PASSWORD or --auth-file FILE "
                           f"(or --no-auth to let anyone who reaches it ask)")
        print(f"warning: serving on {where} without a login (--no-auth): anyone who reaches it can ask",
              file=sys.stderr)
    if port_in_use(args.host, args.port):
        raise RagError(f"port {args.port} is in use; pass --port N")
    index = open_or_build_index(args.index, args.model, args.docs)
    warn_if_sources_changed(index)
    urls = " or ".join(reachable_urls(args.host, args.port))
    limits = None
    if not getattr(args, "read_only", False) and (not public or getattr(args, "allow_uploads", False)):
        from rag.uploads import UploadLimits

        limits = UploadLimits()
    print(f"Chat on {urls}" + (" (and a public share link)" if args.share else "")
          + (f"; login required ({plural(len(logins), 'user')})" if logins else "")
          + ("; uploads on" if limits else "; uploads off" + (" (pass --allow-uploads to turn them on)"
                                                               if public and not args.read_only else "")),
          file=sys.stderr)
    launch(build_app(index, uploads=limits), host=args.host, port=args.port, share=args.share, auth=logins,
           max_file_size=limits.max_file_bytes if limits else None)
    return 0
