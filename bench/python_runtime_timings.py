"""A warm invocation's round trip through Hearth's Python runtime client, measured and printed
(not asserted; moved here from tests/sandbox/test_python_runtime.py, since a figure is not a
test).

    .venv/bin/python -m pytest bench/python_runtime_timings.py -s -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.sandbox.test_python_runtime import RuntimeApi, api, call, run, spawn, write_code

from hearth.sandbox.zygote import Zygote

__all__ = ["api"]  # the fixture this benchmark uses


def test_warm_invoke_latency(api: RuntimeApi, tmp_path: Path) -> None:
    """Measured, not asserted: the test server's own threading dominates the figure."""
    root = write_code(tmp_path, {"app.py": "def handler(e, c):\n    return e\n"})

    async def scenario(zygote: Zygote) -> None:
        await spawn(zygote, api, root)
        await call(api, {})

        def many() -> float:
            started = time.perf_counter()
            for n in range(300):
                api.invoke({"n": n})
            return (time.perf_counter() - started) / 300 * 1000

        print(
            f"\nwarm invoke round trip through a threaded test server: {await asyncio.to_thread(many):.3f} ms"
        )

    run(scenario)
