"""Adding and removing documents from the chat: through its HTTP API (gradio_client) and in Chromium. Limits are
checked on the server, bad files get a clear message and write nothing, an added PDF is cited with its page,
and a process killed during an upload leaves a loadable index."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

import rag
from kill_scripts import UPLOAD_SCRIPT
from doc_fixtures import PDF_PAGES, make_pdf
from rag.errors import InputError
from rag.uploads import UploadLimits, add_files, check_upload, safe_name

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

PDF_QUESTION = "When was the Hollowmere lighthouse automated?"
LIMITS = UploadLimits(max_file_bytes=20_000, max_files=3, max_folder_bytes=100_000)


@pytest.fixture
def small_index(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "otters.txt").write_text("River otters in the Kessel valley build dens under willow roots.", "utf-8")
    return rag.Index.build([docs], path=tmp_path / "idx", model="none", show_progress=False)


@contextmanager
def serving(index, uploads=LIMITS):
    from ui.app import build_app, launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        demo = build_app(index, uploads=uploads)
        launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True,
               max_file_size=uploads.max_file_bytes * 2 if uploads else None)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def documents_folder(index) -> list[str]:
    folder = Path(index.path) / "documents"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_upload_a_pdf_ask_about_it_see_the_page_then_remove_it(small_index, tmp_path):
    from gradio_client import handle_file

    pdf = make_pdf(tmp_path / "lighthouse.pdf", PDF_PAGES)
    with serving(small_index) as url:
        c = client(url)
        status, header, *_ = c.predict([handle_file(str(pdf))], api_name="/add_documents")
        assert "Added lighthouse.pdf: added 1, updated 0, removed 0, unchanged 0" in status
        assert "now holds 2 documents" in status and "2 documents" in header
        html, _ = c.predict(PDF_QUESTION, 5, "lexical", api_name="/ask")
        assert "1987" in html and "<span class='rag-place'>page 2</span>" in html
        assert documents_folder(small_index) == ["lighthouse.pdf"]

        status, *_ = c.predict("lighthouse.pdf", False, api_name="/remove_document")
        assert "Tick the box" in status and documents_folder(small_index) == ["lighthouse.pdf"]
        status, header, *_ = c.predict("lighthouse.pdf", True, api_name="/remove_document")
        assert "Removed lighthouse.pdf (added 0, updated 0, removed 1, unchanged 0)" in status
        assert "1 document," in header and documents_folder(small_index) == []
        html, _ = c.predict(PDF_QUESTION, 5, "lexical", api_name="/ask")
        assert "1987" not in html.split("id='rag-turn-2'")[1]  # the conversation keeps turn 1
    loaded = rag.Index.load(small_index.path)
    assert [Path(d.source).name for d in loaded.documents] == ["otters.txt"]


@pytest.mark.parametrize("name,content,message", [
    ("big.txt", b"word " * 5000, "is 25 KB; the limit is 20 KB a file"),
    ("fake.pdf", b"just text pretending to be a PDF", "is named .pdf but it is not a PDF"),
    ("fake.docx", b"plain text", "is named .docx but it is not a Word .docx file"),
    ("binary.txt", b"\x00\x01\x02binary", "is named .txt but it is binary"),
    ("tool.exe", b"MZ\x90\x00", ".exe files cannot be added"),
])
def test_a_bad_upload_gets_a_clear_message_and_nothing_is_written(small_index, tmp_path, name, content, message):
    from gradio_client import handle_file

    bad = tmp_path / name
    bad.write_bytes(content)
    before = (Path(small_index.path) / "manifest.json").read_bytes()
    with serving(small_index) as url:
        try:
            status, *_ = client(url).predict([handle_file(str(bad))], api_name="/add_documents")
        except Exception as exc:  # noqa: BLE001 - Gradio may refuse a type its file_types exclude before us
            assert name.endswith(".exe"), exc
            status = f"Not added: {message}"
    assert status.startswith("Not added:") and message in status
    assert documents_folder(small_index) == []
    assert (Path(small_index.path) / "manifest.json").read_bytes() == before


def test_limits_on_count_and_folder_size_and_names_are_sanitised(tmp_path):
    files = []
    for i in range(4):
        f = tmp_path / f"n{i}.txt"
        f.write_text("A sentence of text.", "utf-8")
        files.append((f, f.name))
    with pytest.raises(InputError, match="4 files at once; the limit is 3"):
        check_upload(files, tmp_path / "documents", LIMITS)
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "existing.txt").write_bytes(b"x" * 99_990)
    with pytest.raises(InputError, match="the documents folder would hold"):
        check_upload(files[:1], tmp_path / "documents", LIMITS)
    assert safe_name("../../etc/passwd.TXT") == "passwd.txt"
    assert safe_name("..\\..\\evil.md") == "evil.md"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("Résumé <final>.PDF") == "Resume _final.pdf"


def test_the_chat_hides_uploads_when_read_only_or_served_beyond_loopback(small_index, monkeypatch):
    from ui import app

    seen = {}
    monkeypatch.setattr(app, "build_app", lambda index, uploads=None: seen.setdefault("uploads", uploads))
    monkeypatch.setattr(app, "launch", lambda demo, **kw: seen.setdefault("max_file_size", kw["max_file_size"]))
    monkeypatch.setattr(app, "port_in_use", lambda host, port: False)
    from rag.cli import _parser

    def run(*flags):
        seen.clear()
        app.run_cli(_parser().parse_args(["chat", "--index", str(small_index.path), *flags]))
        return seen["uploads"], seen["max_file_size"]

    uploads, size = run()
    assert uploads is not None and size == uploads.max_file_bytes == 20 * 10**6
    assert run("--read-only") == (None, None)
    assert run("--host", "0.0.0.0", "--no-auth") == (None, None)
    assert run("--host", "0.0.0.0", "--no-auth", "--allow-uploads")[0] is not None




def test_an_upload_killed_midway_leaves_a_loadable_index_and_the_next_sync_takes_the_file(small_index, tmp_path):
    pdf = make_pdf(tmp_path / "lighthouse.pdf", PDF_PAGES)
    process = subprocess.Popen([sys.executable, "-c", UPLOAD_SCRIPT, str(small_index.path), str(pdf)],
                               stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
    assert process.stdout.readline().strip() == "built"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    index = rag.Index.load(small_index.path)
    assert len(index.documents) == 1 and documents_folder(index) == ["lighthouse.pdf"]
    assert index.sync(None).summary() == "added 1, updated 0, removed 0, unchanged 0"
    assert index.answer(PDF_QUESTION).citations[0].page == 2


def test_a_rebuild_keeps_the_documents_folder(small_index, tmp_path):
    pdf = make_pdf(tmp_path / "lighthouse.pdf", PDF_PAGES)
    add_files(small_index, [(pdf, "lighthouse.pdf")])
    docs = Path(small_index.documents[0].source).parent
    rebuilt = rag.Index.build([docs], path=small_index.path, model="none", show_progress=False)
    assert documents_folder(small_index) == ["lighthouse.pdf"]
    assert len(rebuilt.documents) == 2  # a rebuild indexes the documents folder too
    assert rebuilt.sync([docs]).summary() == "added 0, updated 0, removed 0, unchanged 2"


@pytest.mark.browser
@pytest.mark.slow
def test_upload_in_chromium_then_ask_and_see_the_page(small_index, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("chromium not installed: apt-get install -y chromium")
    pdf = make_pdf(tmp_path / "lighthouse.pdf", PDF_PAGES)
    with serving(small_index) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            assert "up to 20 KB a file" in page.locator("#rag-upload-limits").inner_text()
            page.locator("#rag-upload-files input[type=file]").set_input_files(str(pdf))
            page.locator("#rag-upload-files").get_by_text("lighthouse.pdf").first.wait_for()
            page.locator("#rag-upload").click()
            page.locator("#rag-upload-status").get_by_text("now holds 2 documents").wait_for()
            assert "2 documents" in page.locator("#rag-counts").inner_text()
            page.locator("#rag-question textarea").fill(PDF_QUESTION)
            page.locator("#rag-ask").click()
            source = page.locator("#rag-src-1-1")
            source.wait_for()
            assert "lighthouse.pdf, page 2" in source.inner_text()
        finally:
            browser.close()
