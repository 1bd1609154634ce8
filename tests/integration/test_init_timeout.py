"""The init phase does not eat the handler's timeout (issue 12 item 3): the deadline a
function sees starts when its invocation is handed to the runtime, not while the
interpreter's zygote or the environment starts. On AWS init has a 10 s limit of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.integration

REMAINING = "def handler(event, context):\n    return context.get_remaining_time_in_millis()\n"
# A slow init, counted in Init Duration and not against the 3 s timeout.
SLOW_INIT = "import time\ntime.sleep(1.5)\n" + REMAINING


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Server]:
    """A new server: its first python invoke also starts the interpreter's zygote."""
    server = Server(tmp_path / "data", ["--isolation", "process"]).start()
    yield server
    server.stop()


def test_the_first_invoke_on_a_new_interpreter_gets_its_whole_timeout(fresh: Server) -> None:
    client = fresh.client()
    create_function(client, "first", make_zip({"app.py": REMAINING}), Timeout=3)
    create_function(client, "slow-init", make_zip({"app.py": SLOW_INIT}), Timeout=3)
    for name in ("first", "slow-init"):
        response = client.invoke(FunctionName=name, Payload=b"{}")
        assert "FunctionError" not in response
        remaining = json.loads(response["Payload"].read())
        # Was 2,742-2,794 for the first (the zygote starting), 1,4xx for the slow init.
        assert 2_900 <= remaining <= 3_000, (name, remaining)
