"""The chat over its HTTP API (gradio_client): answers, follow-ups, declines, settings and 20 users at once.

The app is launched on a free loopback port with prevent_thread_lock=True and closed after the module.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(index):
    """The chat for `index` on a loopback port; yields its URL, closes the server afterwards."""
    from ui.app import build_app, launch

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")  # no network, ever
        demo = build_app(index)
        port = free_port()
        launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield demo, f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@pytest.fixture(scope="module")
def server(lexical_index):
    with serving(lexical_index) as served:
        yield served


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def ask(c, question, k=5, mode="lexical") -> str:
    html, box = c.predict(question, k, mode, api_name="/ask")
    assert box == ""  # the question box is cleared for the next question
    return html


def _text(html: str) -> str:
    """The HTML without the short answer's bold, which sits inside the quote."""
    return html.replace("<strong class='rag-span'>", "").replace("</strong>", "")


def test_answer_quotes_and_cites_with_the_quote_highlighted_in_its_passage(server):
    raw = ask(client(server[1]), QUESTION)
    assert "<strong class='rag-span'>" in raw  # the short answer, bold inside the quote
    html = _text(raw)
    assert "Majid Sadeghi Dolatabadi" in html
    assert "href='#rag-src-1-1'" in html and "id='rag-src-1-1'" in html  # marker [1] points at source [1]
    assert "000_a2e84cf20c291977.txt" in html and "characters " in html and "line " in html
    marked = html.split("<mark class='rag-quote'>", 1)[1].split("</mark>", 1)[0]
    assert "Majid Sadeghi Dolatabadi" in marked
    assert "Why this passage" in html and "BM25" in html


def test_follow_up_is_rewritten_and_shown(server):
    c = client(server[1])
    ask(c, QUESTION)
    html = ask(c, "When was he appointed there?")
    second = html.split("id='rag-turn-2'", 1)[1]
    assert "searched for: <q>When was Majid Sadeghi Dolatabadi appointed in Jalalabad?</q>" in second
    assert "rag-answer-text" in second or "do not answer" in second


def test_decline_says_so_and_lists_related_reading(server):
    html = ask(client(server[1]), "How tall is the Taliban governor?")
    assert "The documents do not answer this question" in html
    assert "Related reading" in html and "rag-passage" in html


def test_clear_empties_the_conversation(server):
    c = client(server[1])
    ask(c, QUESTION)
    html, box = c.predict(api_name="/clear")
    assert "rag-turn" not in html and box == ""
    assert "id='rag-turn-1'" in ask(c, QUESTION)  # numbering restarts


def test_sessions_do_not_share_conversations(server):
    a, b = client(server[1]), client(server[1])
    ask(a, QUESTION)
    assert "rag-turn-2" not in ask(b, "Who claimed responsibility for the explosion?")


def test_twenty_concurrent_clients_all_get_correct_answers(server):
    demo, url = server
    # The queue runs several requests at once (Gradio's default is one at a time).
    limits = {fn.name: fn.concurrency_limit for fn in demo.fns.values()}
    assert limits["ask"] is None or limits["ask"] > 1
    questions = {
        QUESTION: "Majid Sadeghi Dolatabadi",
        "Who claimed responsibility for the explosion?": "claimed responsibility",
    }
    jobs = [list(questions)[i % 2] for i in range(20)]

    def one(question):
        return question, ask(client(url), question)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, jobs))
    assert len(results) == 20
    for question, html in results:
        assert questions[question] in _text(html).split("<mark class='rag-quote'>", 1)[1].split("</mark>")[0]


def props_by_id(demo) -> dict[str, dict]:
    return {c["props"]["elem_id"]: c["props"] for c in demo.config["components"] if c.get("props", {}).get("elem_id")}


def test_unavailable_modes_are_shown_disabled_with_the_reason(lexical_index):
    from ui.app import build_app

    props = props_by_id(build_app(lexical_index))
    assert [choice[0] for choice in props["rag-mode"]["choices"]] == ["lexical"]
    disabled = props["rag-unavailable-modes"]
    assert disabled["interactive"] is False
    assert [choice[0] for choice in disabled["choices"]] == ["dense", "hybrid"]
    assert "semantic model" in disabled["info"]


def test_all_modes_and_k_run_with_a_semantic_model(dense_index):
    from ui.app import build_app

    props = props_by_id(build_app(dense_index))
    assert [choice[0] for choice in props["rag-mode"]["choices"]] == ["lexical", "dense", "hybrid"]
    assert "rag-unavailable-modes" not in props
    with serving(dense_index) as (_, url):
        c = client(url)
        html = ask(c, QUESTION, k=8, mode="hybrid")
        assert "hybrid retrieval" in html or "do not answer" in html
        assert html.count("<tr><td>") == 8  # k passages in the scores table
        assert "<td>" in html.split("Why this passage", 1)[1]  # fused and dense scores shown
        assert "lexical retrieval" in ask(c, QUESTION, k=3, mode="lexical")
