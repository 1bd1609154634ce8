"""Memory per extra warm Node.js environment, and its cold start, on a real `hearth serve`.

    .venv/bin/python bench/node_env_memory.py [--count 6] [--isolation sandbox|process]

The method of bench/compare.py's "delta": PSS of the server's whole process tree (smaps_rollup,
so pages shared between environments count once) with one warm function, then after `count`
more functions have each had one invocation (one environment each); the difference divided by
`count`. Standbys are refilled before each reading, so they cancel out. Prints medians.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peers.memory import tree_usage
from tests.integration.conftest import ROLE, Server

HANDLER = "export const handler = async (event) => ({ ok: true, got: event });\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", HANDLER)
    return buffer.getvalue()


def _settled(roots: list[int]) -> dict[str, float]:
    """The tree's usage once standbys have been refilled (the process count stops changing)."""
    last = tree_usage(roots)
    for _ in range(40):
        time.sleep(0.5)
        now = tree_usage(roots)
        if now["processes"] == last["processes"]:
            return now
        last = now
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--isolation", default=None, help="passed to hearth serve")
    args = parser.parse_args()
    extra = ["--isolation", args.isolation] if args.isolation else []
    with tempfile.TemporaryDirectory() as data:
        server = Server(Path(data), extra).start()
        try:
            client = server.client()
            code = _zip()

            def deploy_and_invoke(name: str) -> float:
                client.create_function(
                    FunctionName=name,
                    Runtime="nodejs20.x",
                    Role=ROLE,
                    Handler="index.handler",
                    Code={"ZipFile": code},
                )
                client.get_waiter("function_active_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
                )
                began = time.perf_counter()
                response = client.invoke(FunctionName=name, Payload=b"{}")
                elapsed = (time.perf_counter() - began) * 1000
                assert "FunctionError" not in response, response["Payload"].read()
                return elapsed

            assert server.process is not None
            roots = [server.process.pid]
            deploy_and_invoke("warm-0")
            before = _settled(roots)
            colds = []
            for i in range(args.count):
                colds.append(deploy_and_invoke(f"extra-{i}"))
                _settled(roots)  # each cold start from a refilled standby pool
            after = _settled(roots)
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "isolation": args.isolation or "default",
                "count": args.count,
                "pss_mb_per_env": round((after["pss_mb"] - before["pss_mb"]) / args.count, 2),
                "rss_mb_per_env": round((after["rss_mb"] - before["rss_mb"]) / args.count, 2),
                "cold_start_ms_p50": round(statistics.median(colds), 1),
                "cold_start_ms": [round(c, 1) for c in colds],
            }
        )
    )


if __name__ == "__main__":
    main()
