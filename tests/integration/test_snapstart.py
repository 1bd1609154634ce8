"""SnapStart through boto3: a version's init runs at publish, its environments are forked."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, create_function, log_events, make_zip

# Init writes to /tmp (which the template's children must not see), registers hooks that
# record their order, and draws a random number that every fork would share if the runtime
# did not reseed.
HANDLER = """
import os, random, time
from snapshot_restore_py import register_before_snapshot, register_after_restore

CALLS = []
INIT_TYPE = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")
with open("/tmp/from-init", "w") as f:
    f.write("x")

@register_before_snapshot
def before(tag="before"):
    CALLS.append(tag)
    os.remove("/tmp/from-init")

register_after_restore(CALLS.append, "after")

def handler(event, context):
    if event.get("kill_template"):
        try:
            os.kill(os.getppid(), 9)
        except PermissionError:
            return {"killed": False}
        return {"killed": True}
    if event.get("caps"):
        with open("/proc/self/status") as status:
            return [line for line in status if line.startswith("CapEff")]
    if event.get("write"):
        with open("/tmp/" + event["write"], "w") as f:
            f.write("x")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "calls": CALLS,
        "init_type": INIT_TYPE,
        "env_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "random": random.random(),
        "tmp": sorted(os.listdir("/tmp")),
        "pid": os.getpid(),
        "uid": os.getuid(),
        "cgroups": sorted(open("/proc/self/cgroup").read().split()),
        "stream": context.log_stream_name,
    }
"""

SNAP = {"ApplyOn": "PublishedVersions"}


@pytest.fixture(scope="module")
def snap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("hearth-snapstart")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def lam(snap_server: Server) -> Any:
    return snap_server.client()


def _wait_state(lam: Any, name: str, version: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        config: dict[str, Any] = lam.get_function_configuration(
            FunctionName=name, Qualifier=version
        )
        if config["State"] != "Pending" or time.monotonic() > deadline:
            return config
        time.sleep(0.05)


def _invoke(lam: Any, name: str, qualifier: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = lam.invoke(
        FunctionName=name, Qualifier=qualifier, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    body: dict[str, Any] = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return body


def _published(lam: Any, name: str, code: str = HANDLER) -> dict[str, Any]:
    create_function(
        lam,
        name,
        make_zip({"app.py": code}),
        Runtime="python3.12",
        SnapStart=SNAP,
        Timeout=10,
    )
    published: dict[str, Any] = lam.publish_version(FunctionName=name)
    return published


def test_publish_pending_then_active_and_forked(lam: Any, snap_server: Server) -> None:
    name = "snap-lifecycle"
    published = _published(lam, name)
    assert published["State"] == "Pending"
    assert published["StateReasonCode"] == "Creating"
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    latest = lam.get_function_configuration(FunctionName=name)
    assert latest["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    config = _wait_state(lam, name, published["Version"])
    assert config["State"] == "Active", config
    assert config["SnapStart"]["OptimizationStatus"] == "On"

    # Two environments at once: each forked, each with its own random state and /tmp.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(
            lambda tag: _invoke(lam, name, published["Version"], {"write": tag, "sleep": 0.3}),
            ["one", "two"],
        )
    assert first["pid"] != second["pid"]
    assert first["calls"] == ["before", "after"]
    assert second["calls"] == ["before", "after"]
    assert first["init_type"] == "snap-start"
    assert first["env_type"] == "snap-start"
    assert first["random"] != second["random"]
    assert first["tmp"] == ["one"]
    assert second["tmp"] == ["two"]
    assert first["stream"] != second["stream"]
    assert first["uid"] != second["uid"]
    if os.geteuid() == 0:  # sandboxed: each in a memory cgroup of its own
        memory = [[c for c in env["cgroups"] if ":memory:" in c] for env in (first, second)]
        assert memory[0] != memory[1]
        assert all(c[0].count("/") == 2 for c in memory)  # /hearth-<pid>/<environment>

    answer = lam.invoke(FunctionName=name, Qualifier=published["Version"], LogType="Tail")
    assert answer["StatusCode"] == 200


def test_report_line_has_restore_duration(lam: Any, snap_server: Server) -> None:
    name = "snap-report"
    version = _published(lam, name)["Version"]
    assert _wait_state(lam, name, version)["State"] == "Active"
    _invoke(lam, name, version, {})
    deadline = time.monotonic() + 10
    reports: list[str] = []
    while time.monotonic() < deadline and not reports:
        reports = [
            e["message"]
            for e in log_events(snap_server.endpoint, f"/aws/lambda/{name}")
            if e["message"].startswith("REPORT")
        ]
        time.sleep(0.1)
    assert reports, "no REPORT line"
    assert "\tRestore Duration: " in reports[0]
    assert "\tBilled Restore Duration: " in reports[0]
    assert "Init Duration" not in reports[0]


def test_init_failure_at_publish_fails_the_version(lam: Any) -> None:
    name = "snap-init-fails"
    code = "raise RuntimeError('no init for you')\ndef handler(event, context):\n    return 1\n"
    published = _published(lam, name, code)
    config = _wait_state(lam, name, published["Version"])
    assert config["State"] == "Failed"
    assert config["StateReasonCode"] == "FunctionError"
    assert "RuntimeError: no init for you" in config["StateReason"]
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Qualifier=published["Version"])
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"


def _host_pids_of_uid(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                found.append(int(status.parent.name))
    return found


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError("no PPid")


def test_environment_cannot_reach_its_template(lam: Any) -> None:
    name = "snap-no-reach"
    version = _published(lam, name)["Version"]
    assert _wait_state(lam, name, version)["State"] == "Active"
    assert _invoke(lam, name, version, {"kill_template": True}) == {"killed": False}
    caps: Any = _invoke(lam, name, version, {"caps": True})
    assert caps == ["CapEff:\t0000000000000000\n"]


def test_killed_template_is_rebuilt(lam: Any) -> None:
    name = "snap-template-dies"
    version = _published(lam, name)["Version"]
    assert _wait_state(lam, name, version)["State"] == "Active"
    before = _invoke(lam, name, version, {})
    (child,) = _host_pids_of_uid(before["uid"])
    os.kill(_parent(child), signal.SIGKILL)
    # Its children die with it (PR_SET_PDEATHSIG), and the pool learns it; the next
    # environment is forked from a new template.
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    # An invoke that reaches the dead environment before the server has seen it go fails
    # as on AWS (Runtime.ExitError); the one after it runs in a new environment.
    answer = lam.invoke(FunctionName=name, Qualifier=version)
    if "FunctionError" in answer:
        assert json.loads(answer["Payload"].read())["errorType"] == "Runtime.ExitError"
    after = _invoke(lam, name, version, {})
    assert after["calls"] == ["before", "after"]
    assert after["stream"] != before["stream"]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found.update(int(part) for part in task.read_text().split())
    return found


def _spares(template: int, environments: set[int], timeout: float = 5.0) -> set[int]:
    """The template's children that are no environment, once there is one (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        spares = _children(template) - environments
        if spares or time.monotonic() > deadline:
            return spares
        time.sleep(0.02)


@pytest.mark.skipif(os.geteuid() != 0, reason="host pids of the sandbox's processes")
def test_spare_is_handed_over_refilled_and_replaced(lam: Any) -> None:
    name = "snap-spare"
    version = _published(lam, name)["Version"]
    assert _wait_state(lam, name, version)["State"] == "Active"
    first = _invoke(lam, name, version, {})
    (child,) = _host_pids_of_uid(first["uid"])
    template = _parent(child)
    # One spare parks beside the environment once it has started: the template's uid, no
    # environment's, and nothing of the function's running in it.
    (spare,) = _spares(template, {child})
    assert _host_pids_of_uid(first["uid"]) == [child]
    # A spare killed while it waits is replaced, and nobody is told of it.
    os.kill(spare, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _spares(template, {child}, 0) in (set(), {spare}) and time.monotonic() < deadline:
        time.sleep(0.02)
    (replacement,) = _spares(template, {child})
    assert replacement != spare
    # More invokes at once than spares (and the warm environment): one handed over, one
    # forked; each environment still with its own random state, /tmp and uid.
    tags = ["a", "b", "c"]
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(lambda tag: _invoke(lam, name, version, {"write": tag, "sleep": 0.5}), tags)
        )
    assert len({answer["pid"] for answer in answers}) == 3
    assert len({answer["uid"] for answer in answers}) == 3
    assert len({answer["random"] for answer in answers}) == 3
    assert [answer["tmp"] for answer in answers] == [[tag] for tag in tags]
    assert all(answer["calls"] == ["before", "after"] for answer in answers)


def test_update_of_latest_keeps_the_versions_template(lam: Any) -> None:
    name = "snap-latest-update"
    version = _published(lam, name)["Version"]
    assert _wait_state(lam, name, version)["State"] == "Active"
    first = _invoke(lam, name, version, {})
    lam.update_function_code(FunctionName=name, ZipFile=make_zip())
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    assert _invoke(lam, name, "$LATEST", {"ping": 1}) == {"ping": 1}
    again = _invoke(lam, name, version, {})
    assert again["calls"] == ["before", "after"]
    assert again["stream"] == first["stream"]  # the same warm environment


def test_snapstart_latest_variable_forks_latest(lam: Any) -> None:
    name = "snap-latest-opt-in"
    create_function(
        lam,
        name,
        make_zip({"app.py": HANDLER}),
        Environment={"Variables": {"HEARTH_SNAPSTART_LATEST": "on"}},
    )
    body = _invoke(lam, name, "$LATEST", {})
    assert body["calls"] == ["before", "after"]
    assert body["env_type"] == "snap-start"


def test_validation(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName="snap-node",
            Runtime="nodejs20.x",
            Role=ROLE,
            Handler="index.handler",
            Code={"ZipFile": make_zip()},
            SnapStart=SNAP,
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"] == "nodejs20.x is not supported for SnapStart enabled functions."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    create_function(lam, "snap-py311", Runtime="python3.11")
    with pytest.raises(ClientError) as caught:
        lam.update_function_configuration(FunctionName="snap-py311", SnapStart=SNAP)
    assert caught.value.response["Error"]["Message"] == (
        "python3.11 is not supported for SnapStart enabled functions."
    )


def test_bad_apply_on(snap_server: Server) -> None:
    raw = snap_server.client(validate=False)
    with pytest.raises(ClientError) as caught:
        raw.create_function(
            FunctionName="snap-bad",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip()},
            SnapStart={"ApplyOn": "invalidOption"},
        )
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'invalidOption' at 'snapStart.applyOn' failed to "
        "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]"
    )
