"""Load on the chat: many concurrent chat clients, then a long soak, against `rag chat` served on 127.0.0.1.

    .venv/bin/python benchmarks/load.py [--clients 100] [--per-client 5] [--soak 2000] [--timeout 600]

The chat (ui.app.build_app + launch) serves the seed article, indexed for BM25 into a temporary folder, on a
free loopback port in this process. Phase 1: `--clients` gradio_client clients at once, each asking
`--per-client` questions of seeds/questions.jsonl (clearing its conversation before each, so no follow-up
rewriting), and every returned page must equal the one rendered from a direct `Index.answer` of the same
question: it counts errors and mismatches and reports latency p50/p95. Phase 2 (soak): `--soak` questions in a
row through one client, with the server's RSS (this process) before and after. Bounded: everything stops at
`--timeout` seconds, and the server is closed at the end whatever happens. Exit code 1 on any error or mismatch.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K = 5


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--soak", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--model", default=None, help="model for the index (default: the bundled one; none: BM25)")
    parser.add_argument("--mode", default=None, help="retrieval mode (default: the index's, hybrid with a model)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from gradio_client import Client

    import rag
    from ui.app import answer_turn, build_app, launch
    from ui.render import render_conversation

    questions = [json.loads(line)["question"] for line in (ROOT / "seeds" / "questions.jsonl").read_text().splitlines()
                 if line.strip()]
    deadline = time.monotonic() + args.timeout
    stop = threading.Event()
    timer = threading.Timer(args.timeout, stop.set)
    timer.daemon = True
    timer.start()
    with tempfile.TemporaryDirectory() as tmp:
        index = rag.Index.build([ROOT / "seeds"], path=Path(tmp) / "idx", model=args.model,
                                show_progress=False)
        mode = args.mode or index.default_mode()
        print(f"index: model {index.manifest.describe_model()}, mode {mode}")
        expected = {q: render_conversation([answer_turn(index, q, K, mode, [])]) for q in questions}
        demo = build_app(index)
        port = free_port()
        launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        url = f"http://127.0.0.1:{port}/"
        errors, mismatches, latencies = [], 0, []
        lock = threading.Lock()

        def one_client(n: int) -> None:
            nonlocal mismatches
            try:
                client = Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 120})
            except Exception as exc:  # noqa: BLE001 - counted and reported, not swallowed
                with lock:
                    errors.append(f"client {n}: {exc!r}")
                return
            for i in range(args.per_client):
                if stop.is_set():
                    return
                question = questions[(n * args.per_client + i) % len(questions)]
                try:
                    client.predict(api_name="/clear")
                    started = time.perf_counter()
                    html, _ = client.predict(question, K, mode, api_name="/ask")
                    elapsed = time.perf_counter() - started
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors.append(f"client {n}: {exc!r}")
                    continue
                with lock:
                    latencies.append(elapsed)
                    mismatches += html != expected[question]

        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(one_client, range(args.clients)))
            wall = time.perf_counter() - started
            asked = args.clients * args.per_client
            print(f"concurrent: {args.clients} clients x {args.per_client} questions = {asked}; answered "
                  f"{len(latencies)}, errors {len(errors)}, mismatches with Index.answer {mismatches}; "
                  f"p50 {percentile(latencies, .5) * 1000:.0f} ms, p95 {percentile(latencies, .95) * 1000:.0f} ms, "
                  f"wall {wall:.1f} s" if latencies else "concurrent: no answers")
            for line in errors[:5]:
                print("  " + line)

            client = Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 120})
            soak_latencies, soak_errors, soak_mismatches = [], 0, 0
            before = rss_mib()
            for i in range(args.soak):
                if stop.is_set() or time.monotonic() > deadline:
                    print(f"soak: stopped at the {args.timeout:.0f} s bound after {i} questions")
                    break
                question = questions[i % len(questions)]
                try:
                    client.predict(api_name="/clear")
                    t0 = time.perf_counter()
                    html, _ = client.predict(question, K, mode, api_name="/ask")
                    soak_latencies.append(time.perf_counter() - t0)
                    soak_mismatches += html != expected[question]
                except Exception:  # noqa: BLE001
                    soak_errors += 1
            after = rss_mib()
            if soak_latencies:
                print(f"soak: {len(soak_latencies)} questions in a row, errors {soak_errors}, mismatches "
                      f"{soak_mismatches}; p50 {percentile(soak_latencies, .5) * 1000:.0f} ms, p95 "
                      f"{percentile(soak_latencies, .95) * 1000:.0f} ms; server RSS {before:.0f} MiB before, "
                      f"{after:.0f} MiB after ({after - before:+.0f} MiB)")
        finally:
            timer.cancel()
            demo.close()
    failed = errors or mismatches or soak_errors or soak_mismatches
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
