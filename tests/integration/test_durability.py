"""A kill -9 and a restart lose nothing that was acknowledged."""

from __future__ import annotations

import base64
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, make_zip


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("durable")).start()
    yield server
    if server.process is not None:
        server.stop()


def test_kill_9_mid_traffic_loses_no_acknowledged_write(own_server: Server) -> None:
    client = own_server.client()
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        local = own_server.client()
        for i in range(1000):
            if stop.is_set():
                return
            name = f"durable-{worker}-{i}"
            try:
                local.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=ROLE,
                    Handler="app.handler",
                    Code={"ZipFile": make_zip({"app.py": f"# {name}\n"})},
                    Tags={"n": str(i)},
                )
            except Exception:  # the server died under us: this one was never acknowledged
                return
            acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 40:
        threading.Event().wait(0.05)
    client.create_alias(FunctionName=acknowledged[0], Name="live", FunctionVersion="$LATEST")
    client.publish_version(FunctionName=acknowledged[1])
    own_server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()

    own_server.start()
    client = own_server.client()
    for name in list(acknowledged):
        config = client.get_function(FunctionName=name)
        assert config["Configuration"]["State"] == "Active"
        assert config["Tags"]["n"] == name.rsplit("-", 1)[1]
    assert (
        client.get_alias(FunctionName=acknowledged[0], Name="live")["FunctionVersion"] == "$LATEST"
    )
    assert [
        v["Version"]
        for v in client.list_versions_by_function(FunctionName=acknowledged[1])["Versions"]
    ] == ["$LATEST", "1"]
    # Every stored blob is referenced: nothing half-written survived the crash.
    blobs = {p.stem for p in (own_server.data_dir / "code" / "blobs").glob("*.zip")}
    functions = [
        f
        for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    ]
    assert set(acknowledged) <= {f["FunctionName"] for f in functions}
    assert blobs == {base64.b64decode(f["CodeSha256"]).hex() for f in functions}


def test_sigterm_shuts_down_cleanly_and_restart_keeps_everything(own_server: Server) -> None:
    client: Any = own_server.client()
    client.create_function(
        FunctionName="kept",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip()},
    )
    assert own_server.stop(signal.SIGTERM) == 0
    assert any("Hearth stopped" in line for line in own_server.output)
    own_server.start()
    assert (
        own_server.client().get_function(FunctionName="kept")["Configuration"]["State"] == "Active"
    )
    assert own_server.stop(signal.SIGINT) == 0
    own_server.start()
    with pytest.raises(ClientError):
        own_server.client().get_function(FunctionName="never-created")
