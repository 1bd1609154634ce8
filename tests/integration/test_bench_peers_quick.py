"""The peers benchmark's --quick mode (Hearth and the floor, every workload) runs in the suite,
so the benchmark code cannot rot; its pure parts are checked directly."""

from __future__ import annotations

import http.server
import importlib
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_peers_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    subprocess.run(
        [sys.executable, str(BENCH / "compare.py"), "--quick", "--out", str(out)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    results = json.loads(out.read_text())
    median = results["median"]
    assert set(median) == {"python-trivial", "python-heavy", "node"}
    for workload, by_tool in median.items():
        hearth = next(figures for name, figures in by_tool.items() if name.startswith("hearth"))
        assert hearth["warm"]["count"] == 100 and hearth["warm"]["errors"] == 0, workload
        assert hearth["warm_boto3"]["errors"] == 0, workload
        assert hearth["cold"]["count"] == 3 and hearth["cold"]["errors"] == 0, workload
        assert hearth["concurrency_8"]["errors"] == 0, workload
        assert hearth["concurrency_8"]["per_second"] > 0, workload
        assert hearth["crashed"] is False
        # The whole tree: the server, the zygote and the environments.
        assert hearth["peak_memory"]["processes"] >= 3, workload
        assert hearth["peak_memory"]["pss_mb"] > 0
        assert hearth["per_env_mb"]["pss_mb"] > 0, workload
        floor = by_tool["floor"]
        assert floor["warm"]["errors"] == 0 and floor["concurrency_1"]["errors"] == 0
    assert median["python-trivial"]["floor"]["cold"]["errors"] == 0
    assert median["node"]["floor"]["cold"] is None  # no fork floor for Node.js
    # Initialising the heavy package costs far more than the trivial handler's cold start.
    heavy_hearth = next(f for n, f in median["python-heavy"].items() if n.startswith("hearth"))
    trivial_hearth = next(f for n, f in median["python-trivial"].items() if n.startswith("hearth"))
    assert heavy_hearth["cold"]["p50_ms"] > trivial_hearth["cold"]["p50_ms"]
    assert results["heavy_workload"]["import_ms"] > 5
    assert results["ratios"]["python-trivial"]["floor"]["warm_p50"] is not None

    # The report's tables (no matplotlib needed for them) render from the same results.
    report = _bench_module("peers.report")
    text = report.markdown(results)
    assert "## python-heavy" in text and "| hearth" in text and "LocalStack" in text
    assert text.count("| floor |") >= 3
    assert "| node | floor | — |" in report.summary(results)


def _bench_module(name: str) -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_merge_rounds_takes_medians_and_spreads() -> None:
    stats = _bench_module("peers.stats")
    merge_rounds, percentile = stats.merge_rounds, stats.percentile
    rounds = [
        {"t": {"p50_ms": 1.0, "crashed": False, "note": "a"}},
        {"t": {"p50_ms": 3.0, "crashed": True, "note": "b"}},
        {"t": {"p50_ms": 2.0, "crashed": False, "note": "c"}},
    ]
    merged = merge_rounds(rounds)
    assert merged["t"]["p50_ms"] == 2.0
    assert merged["t"]["p50_ms_spread"] == [1.0, 3.0]
    assert merged["t"]["crashed"] is True  # a crash in any round is reported
    assert merged["t"]["note"] == "a"
    assert percentile(list(map(float, range(100))), 0.99) == 99.0


def test_fast_client_parses_what_tools_answer() -> None:
    parse = _bench_module("peers.fastclient").parse
    whole = b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"ok": true}'
    assert parse(whole + b"HTTP/1.1") == (len(whole), 200, b'{"ok": true}')
    assert parse(whole[:-1]) is None  # the body is not all there yet
    assert parse(b"HTTP/1.1 500 Error\r\ncontent-length: 0\r\n\r\n") == (41, 500, b"")
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ok"\r\n7\r\n: true}\r\n0\r\n\r\n'
    assert parse(chunked) == (len(chunked), 200, b'{"ok": true}')
    assert parse(chunked[:-2]) is None
    with pytest.raises(ValueError):
        parse(b"HTTP/1.1 abc\r\n\r\n")


def test_fast_client_counts_successes_errors_and_a_dead_tool() -> None:
    closed_loop = _bench_module("peers.fastclient").closed_loop
    answers = iter([b'{"ok": true}', b'{"ok": false}'] * 1000)

    class Answer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = next(answers)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        done = closed_loop([("127.0.0.1", port, "/")], 3, 40, None)
        assert done["ok"] + done["errors"] == 40 and done["ok"] == 20, done
    finally:
        server.shutdown()
        server.server_close()
    # Nothing listens there any more: every client gives up, each error counted.
    done = closed_loop([("127.0.0.1", port, "/")], 2, None, 5.0)
    assert done["ok"] == 0 and done["clients_gave_up"] == 2 and done["errors"] >= 400, done


def test_fast_client_fails_a_call_nobody_answers() -> None:
    closed_loop = _bench_module("peers.fastclient").closed_loop
    with socket.socket() as silent:  # accepts (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        target = ("127.0.0.1", silent.getsockname()[1], "/")
        done = closed_loop([target], 2, None, 0.2, call_timeout=0.3)
    assert done == {**done, "ok": 0, "errors": 2, "clients_gave_up": 0}, done
