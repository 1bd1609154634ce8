"""A full disk (issue 11 item 8), on a real 32 MB tmpfs holding the data dir.

Code-carrying requests and Event invokes are told the cause; DeleteFunction still works;
log lines that cannot be written are counted; events that ran while the disk filled run once,
across a restart too. Needs root (to mount the tmpfs); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.async_helpers import queue_empty, read_lines, wait_for
from tests.integration.conftest import Server, create_function, make_zip

# Waits for the gate file, then records its run (on the host's disk, not the full one).
GATED = """
import json, os, time

def handler(event, context):
    if "gate" in event:
        while not os.path.exists(event["gate"]):
            time.sleep(0.02)
        with open(event["file"], "a") as out:
            out.write(json.dumps({"requestId": context.aws_request_id}) + "\\n")
    print("a log line that has nowhere to go " * 4)
    return {"ok": True}
"""


def _can_mount() -> bool:
    return os.geteuid() == 0 and os.path.exists("/bin/mount")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
        try:  # the last partial blocks
            while True:
                out.write(b"\0" * 512)
        except OSError:
            pass


def _error(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], dict(response["Error"])


def _json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_a_full_disk_names_its_cause_and_deletes_still_work(
    small_disk: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.jsonl"
    gate = tmp_path / "gate"
    server = Server(small_disk / "data", ["--isolation", "process"]).start()
    try:
        lam = server.client()
        create_function(lam, "keep", make_zip({"app.py": GATED}))
        padding = make_zip({"app.py": GATED, "pad.bin": os.urandom(2 * 1024 * 1024)})
        create_function(lam, "doomed", padding)
        # Three events start running, then the disk fills while they run.
        for n in range(3):
            payload = json.dumps({"gate": str(gate), "file": str(runs), "n": n}).encode()
            assert (
                lam.invoke(FunctionName="keep", InvocationType="Event", Payload=payload)[
                    "StatusCode"
                ]
                == 202
            )
        wait_for(lambda: _json(f"{server.endpoint}/_hearth/async")["Queue"]["InFlight"] == 3)
        _fill(small_disk)
        gate.touch()
        wait_for(lambda: len(read_lines(runs)) == 3)

        code = make_zip({"app.py": GATED, "pad.bin": os.urandom(300_000)})
        for what, call in {
            "CreateFunction": lambda: lam.create_function(
                FunctionName="new",
                Runtime="python3.12",
                Role="arn:aws:iam::123456789012:role/x",
                Handler="app.handler",
                Code={"ZipFile": code},
            ),
            "UpdateFunctionCode": lambda: lam.update_function_code(
                FunctionName="keep", ZipFile=code
            ),
            "PublishLayerVersion": lambda: lam.publish_layer_version(
                LayerName="layer", Content={"ZipFile": code}
            ),
        }.items():
            status, error = _error(call)
            assert (status, error["Code"]) == (400, "CodeStorageExceededException"), what
            assert "no space left on its disk" in error["Message"], error

        status, error = _error(
            lambda: lam.invoke(FunctionName="keep", InvocationType="Event", Payload=b"{}")
        )
        assert (status, error["Code"]) == (500, "ServiceException")
        assert "no space left on its disk, so the event was not queued" in error["Message"]

        # A synchronous invoke still runs; its log lines are dropped and counted.
        assert json.loads(lam.invoke(FunctionName="keep", Payload=b"{}")["Payload"].read()) == {
            "ok": True
        }
        logs = wait_for(
            lambda: (s := _json(f"{server.endpoint}/_hearth/logs"))["dropped"]["diskFull"] and s
        )
        assert logs["droppedDiskFullByGroup"].get("/aws/lambda/keep", 0) > 0

        # Space can be freed through the API.
        lam.delete_function(FunctionName="doomed")
        names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
        assert names == {"keep"}
        wait_for(lambda: queue_empty(server.endpoint))
        server.stop()
        (small_disk / "filler").unlink()  # room again, for the restart
        server.start()
        time.sleep(1.0)  # an unacknowledged event would run again now
        lines = read_lines(runs)
        assert len(lines) == 3 and len({line["requestId"] for line in lines}) == 3, lines
        assert {f["FunctionName"] for f in server.client().list_functions()["Functions"]} == {
            "keep"
        }
    finally:
        gate.touch()
        if server.process is not None:
            server.stop()


def test_the_log_store_is_bounded_by_size(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ["--isolation", "process", "--log-max-mb", "1"]).start()
    try:
        lam = server.client()
        noisy = "def handler(event, context):\n    print('x' * 60000)\n    return 1\n"
        create_function(lam, "noisy", make_zip({"app.py": noisy}))
        for _ in range(40):  # about 2.4 MB of log lines
            lam.invoke(FunctionName="noisy", Payload=b"{}")
        time.sleep(2.2)  # the next append checks the bounds
        lam.invoke(FunctionName="noisy", Payload=b"{}")
        status = _json(f"{server.endpoint}/_hearth/logs")
        assert status["dropped"]["size"] > 0, status
        assert status["bytes"] <= 1024 * 1024 * 1.1, status
        assert (tmp_path / "data" / "logs.sqlite3").stat().st_size < 3 * 1024 * 1024
    finally:
        server.stop()
