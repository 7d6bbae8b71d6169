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
This module holds the chat layout, question handling and `rag chat` (`run_cli`); it deliberately does not hold
the documents panel (`ui.documents_panel`) or serving, logins and port checks (`ui.serve`), whose names it
re-exports so `from ui.app import launch, read_logins, ...` keeps working.
Gradio is imported inside the functions, so importing `ui.app` (for `rag chat --help`) stays cheap.
"""

from __future__ import annotations

import sys

from rag.cli_format import plural
from rag.config import MAX_QUESTION_CHARS
from rag.errors import RagError

from .documents_panel import upload_panel  # noqa: F401  (re-exported)
from .render import Turn, header_html, render_answer, render_conversation, render_error
from .serve import (  # noqa: F401  (re-exported: tests, benchmarks and `rag chat` import these from ui.app)
    CONCURRENCY,
    MAX_FILE_SIZE,
    SCROLL_JS,
    is_loopback,
    launch,
    open_or_build_index,
    port_in_use,
    reachable_urls,
    read_logins,
)

DEFAULT_K = 5
MAX_K = 20
EXAMPLES = 3
QUESTION_SET = "questions.jsonl"  # a question set shipped beside the documents gives the example questions


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
    from rag.cli_format import sources_changed_line

    return sources_changed_line(index)


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


def run_cli(args) -> int:
    """`rag chat`: check the serving flags, open (or build) the index, then serve the chat until interrupted."""
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
    note = sources_changed_note(index)
    if note:
        print(f"warning: {note}", file=sys.stderr)
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
