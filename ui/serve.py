"""Serving the browser chat: `launch` (queue, port error), logins (`read_logins`), whether a host is loopback,
port checks, the addresses to print, and opening or building the index the chat serves.

It deliberately does not build the chat (`ui.app.build_app`), answer questions, or decide from the `rag chat` flags
whether a login or uploads are needed (`ui.app.run_cli`). Gradio is imported inside `launch` only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.errors import RagError

from .render import CSS

# Requests answered at the same time. Answering is CPU work that releases the GIL in numpy/faiss/torch, and
# the index is read-only, so sessions need not wait for each other (Gradio's own default is one at a time).
CONCURRENCY = 16
# Without uploads Gradio's upload route is still there, so cap what it accepts; with uploads, the per-file limit.
MAX_FILE_SIZE = "1mb"

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
