"""The chat in a real Chromium (Playwright): an answer with its citation and highlighted source, and a hostile
document that must show as text and run nothing.

Set RAG_SCREENSHOT=1 to save the answer screenshot to docs/screenshot.png (else it goes to tmp_path).
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("gradio")
playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"
TIMEOUT_MS = 30_000
# Text a malicious document (and question) may hold; each payload would set window.__pwned if it ran.
HOSTILE = """# Notes on the payload

The payload <script>window.__pwned = "script"</script> sits in the middle of this sentence.
An image payload <img src=x onerror="window.__pwned = 'img'"> sits here too.
A markdown image payload ![boom](x" onerror="window.__pwned='md') and ![pic](javascript:window.__pwned='js').
A template payload ${window.__pwned = 'template'} and {{constructor.constructor('window.__pwned=1')()}} end it.
"""


@contextmanager
def serving(index):
    from ui.app import build_app, launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        demo = build_app(index)
        launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not installed: apt-get install -y chromium")
    with playwright_api.sync_playwright() as p:
        # Playwright's own browser download cannot work offline; Debian's chromium is driven instead.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def ask(page, question: str) -> None:
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-ask").click()


def test_seed_question_shows_the_citation_and_the_highlighted_source(browser, lexical_index, tmp_path):
    with serving(lexical_index) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        ask(page, QUESTION)
        answer = page.locator("#rag-turn-1 .rag-answer-text")
        answer.wait_for()
        assert "Majid Sadeghi Dolatabadi" in answer.inner_text()
        marker = page.locator("#rag-turn-1 a.rag-marker")
        assert marker.inner_text() == "[1]"
        source = page.locator("#rag-src-1-1")
        assert "000_a2e84cf20c291977.txt" in source.locator(".rag-file").inner_text()
        assert "characters" in source.locator(".rag-loc").inner_text()
        highlighted = source.locator("mark.rag-quote")
        assert highlighted.is_visible() and "Majid Sadeghi Dolatabadi" in highlighted.inner_text()
        # The scores sit behind a toggle: hidden until "Why this passage" is opened.
        table = page.locator("#rag-turn-1 .rag-why table")
        assert not table.is_visible()
        page.locator("#rag-turn-1 .rag-why summary").click()
        assert table.is_visible() and "BM25" in table.inner_text()
        page.locator("#rag-turn-1 .rag-why summary").click()

        shot = ROOT / "docs" / "screenshot.png" if os.environ.get("RAG_SCREENSHOT") else tmp_path / "chat.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        # Clicking the marker brings the cited passage into view, even after scrolling away.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.set_viewport_size({"width": 1280, "height": 400})
        page.evaluate("window.scrollTo(0, 0)")
        marker.click()
        page.wait_for_function(
            """() => { const r = document.getElementById('rag-src-1-1').getBoundingClientRect();
                       return r.top >= 0 && r.top < window.innerHeight; }""")

        # A follow-up is rewritten and the rewritten query shown.
        page.set_viewport_size({"width": 1280, "height": 1000})
        ask(page, "When was he appointed there?")
        searched = page.locator("#rag-turn-2 .rag-searched")
        searched.wait_for()
        assert "When was Majid Sadeghi Dolatabadi appointed in Jalalabad?" in searched.inner_text()
        page.locator("#rag-clear").click()
        page.locator(".rag-empty").wait_for()


def test_hostile_document_and_question_show_as_text_and_run_nothing(browser, tmp_path):
    import rag

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    (docs / "hostile.txt").write_text(HOSTILE.replace("# Notes", "Plain notes"), encoding="utf-8")
    index = rag.Index.build([docs], path=tmp_path / "index", model="none", show_progress=False)
    question = "<img src=x onerror=\"window.__pwned='question'\"> Where does the payload sit?"
    with serving(index) as url:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        ask(page, question)
        page.locator("#rag-turn-1 .rag-answer").wait_for()
        page.locator("#rag-turn-1 .rag-why summary").click()  # render the score table's snippets too
        page.wait_for_timeout(500)  # give any injected handler (onerror fires on a failed load) time to run

        assert page.evaluate("window.__pwned") is None
        conversation = page.locator("#rag-conversation")
        assert conversation.locator("img").count() == 0
        assert conversation.locator("script").count() == 0
        assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
        text = conversation.inner_text()
        assert question in text  # the question, literally
        # The cited passage is the whole (short) document: every payload line shows exactly as written.
        for line in filter(None, HOSTILE.replace("# Notes", "Plain notes").splitlines()[1:]):
            assert line in text


def test_phone_width_scrolls_the_scores_and_numbers_sources_once(browser, lexical_index):
    with serving(lexical_index) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.locator("#rag-ask").click()  # nothing typed: a short hint, no turn
        page.get_by_text("Type a question first.").first.wait_for()
        assert page.locator(".rag-turn").count() == 0
        ask(page, QUESTION)
        page.locator("#rag-turn-1 .rag-answer-text").wait_for()
        # The sources list shows its own [n] only, not "1. [1]".
        assert page.eval_on_selector("#rag-turn-1 ol.rag-sources",
                                     "el => getComputedStyle(el).listStyleType") == "none"
        page.locator("#rag-turn-1 .rag-why summary").click()
        box = page.locator("#rag-turn-1 .rag-why-scroll")
        assert box.is_visible()
        widths = box.evaluate("el => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().right]")
        assert widths[0] > widths[1]  # the table is wider than the screen, and scrolls inside its box
        assert widths[2] <= 390  # the box itself fits the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
