"""The "Add documents" and "Remove a document" controls of the browser chat (`upload_panel`), shown when
`ui.app.build_app` is given upload limits.

It wires Gradio widgets to `rag.uploads` (copy into the index's `documents/` folder, sync, remove) and swaps the
reloaded index into the chat's shared slot. It deliberately does not check limits or file contents itself (that is
`rag.uploads`, on the server), build the chat layout or answer questions (`ui.app`), or serve (`ui.serve`).
"""

from __future__ import annotations

import os

from rag.cli_format import plural

from .render import header_html


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
