"""Serving the chat safely: no open server beyond loopback without a login, Gradio's own auth, clean errors for
ports, no analytics, concurrent hybrid queries on an IVF index, and a closed pipe under `rag ask`."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest

import rag
from rag.cli import main

# A seed question whose answer sentence shares its rare words, so any reader finds it.
QUESTION = "Who was the acting consul of the Islamic Republic in Jalalabad?"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv", [["--host", "0.0.0.0"], ["--host", "192.168.1.20"], ["--share"],
                                  ["--host", "::"]])
def test_serving_beyond_loopback_without_a_login_is_refused(tmp_path, capsys, argv):
    # A missing index would be built: the refusal must come first, before anything is read or written.
    index = tmp_path / "never-built"
    assert main(["chat", "--index", str(index), *argv]) == 2
    err = one_line_error(capsys)
    assert "--auth USER:PASSWORD" in err and "--no-auth" in err
    assert not index.exists()


@pytest.mark.parametrize("argv, message", [
    (["--port", "99999"], "99999 is not a port number"),
    (["--port", "http"], "'http' is not a port number"),
    (["--auth", "alice"], "not USER:PASSWORD"),
    (["--auth-file", "{missing}"], "cannot read the --auth-file"),
    (["--auth-file", "{empty}"], "holds no logins"),
])
def test_bad_serving_flags_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty.txt").write_text("# no logins yet\n")
    argv = [a.format(missing=tmp_path / "nope.txt", empty=tmp_path / "empty.txt") for a in argv]
    with pytest.raises(SystemExit) if "--port" in argv else _no_raise():
        code = main(["chat", "--index", str(tmp_path / "idx"), *argv])
        assert code == 2
    assert message in one_line_error(capsys)


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_port_in_use_is_one_line(tmp_path, capsys, lexical_index):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["chat", "--index", str(lexical_index.path), "--port", str(port)]) == 2
    assert f"port {port} is in use; pass --port N" in one_line_error(capsys)


def test_logins_from_flags_and_file(tmp_path):
    from ui.app import read_logins

    logins = tmp_path / "logins"
    logins.write_text("# team\nbob:s3cret:with:colons\n\ncarol:pw\n", encoding="utf-8")
    assert read_logins(["alice:pw"], str(logins)) == [("alice", "pw"), ("bob", "s3cret:with:colons"),
                                                        ("carol", "pw")]


def test_wildcard_host_prints_a_reachable_address():
    from ui.app import reachable_urls

    urls = reachable_urls("0.0.0.0", 7860)
    assert urls[0] == "http://127.0.0.1:7860" and not any("0.0.0.0" in u for u in urls)
    assert reachable_urls("127.0.0.1", 80) == ["http://127.0.0.1:80"]


def test_chat_with_a_login_refuses_anonymous_clients_and_has_no_analytics(lexical_index):
    pytest.importorskip("gradio")
    from gradio_client import Client

    from test_ui_api import free_port
    from ui.app import build_app, launch

    demo = build_app(lexical_index)
    assert demo.analytics_enabled is False
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True, auth=[("alice", "pw")])
    try:
        assert demo.max_file_size == 1024 * 1024
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False, download_files=False).predict(QUESTION, 5, "lexical", api_name="/ask")
        with pytest.raises(Exception):
            Client(url, verbose=False, download_files=False, auth=("alice", "wrong"))
        client = Client(url, verbose=False, download_files=False, auth=("alice", "pw"))
        html, _ = client.predict(QUESTION, 5, "lexical", api_name="/ask")
        assert "Dolatabadi" in html
    finally:
        demo.close()


@pytest.fixture
def ivf_index(tmp_path, tiny_model, monkeypatch):
    """An IVF index (low threshold) over many small documents, with the tiny model's vectors."""
    from rag import dense
    from rag.config import Config
    from rag.encoding import Encoder

    words = ["river", "mountain", "province", "governor", "harvest", "market", "bridge", "temple", "winter", "salt"]
    rng = np.random.default_rng(3)
    docs = []
    for i in range(300):
        picked = rng.choice(words, 6)
        text = f"Report {i} mentions the {picked[0]} and the {picked[1]}. The {picked[2]} lies near the {picked[3]}."
        docs.append(rag.Document(doc_id=f"d{i}", source=f"d{i}.txt", text=text))
    config = Config(index_path=tmp_path / "ivf", model=None)
    plain = rag.Index.from_documents(docs, config, show_progress=False)
    texts = []
    for pid in range(len(plain)):
        row = plain.store.passage(pid)
        texts.append(plain.store.text(row.doc_index)[row.start : row.end])
    vectors = Encoder(str(tiny_model)).encode_passages(texts)
    monkeypatch.setattr(dense, "build_index", partial(dense.build_index, approximate_above=100))
    rag.Index.from_documents(docs, config, show_progress=False, vectors=vectors, model_name=str(tiny_model))
    return rag.Index.load(tmp_path / "ivf")


def test_concurrent_hybrid_queries_on_an_ivf_index(ivf_index):
    faiss_index = ivf_index.store._dense
    assert type(faiss_index).__name__ == "IndexIVFFlat"
    assert faiss_index.direct_map.type != 0  # made at load, not by the first query while others search
    questions = [f"Where does the {w} lie near the governor?" for w in ("river", "bridge", "temple", "salt")] * 16
    expected = {q: ivf_index.retrieve(q, k=5, mode="hybrid") for q in set(questions)}
    fresh = rag.Index.load(ivf_index.path)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda q: fresh.retrieve(q, k=5, mode="hybrid"), questions))
    assert results == [expected[q] for q in questions]


class _ClosedPipe:
    """stdout whose reader has gone away, as under `| head -c10`."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_pipe_exits_quietly(lexical_index, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(["ask", QUESTION, "--index", str(lexical_index.path), "--json"]) == 1
    assert capsys.readouterr().err == ""
