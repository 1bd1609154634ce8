"""SnapStart's pure parts: validation, version states, REPORT lines, hooks, the seccomp split."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import itertools
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hearth.arns import ArnFormatter, FunctionRef
from hearth.control import snapstart
from hearth.control.functions import Functions
from hearth.errors import LambdaError
from hearth.logs.platform_lines import report_line
from hearth.logs.system_log import Report, SystemLog
from hearth.models import State
from hearth.store.code import CodeStore
from hearth.store.memory import MemoryRegistry

RUNTIMES = Path(__file__).resolve().parents[2] / "src" / "hearth" / "runtimes" / "python"
ARNS = ArnFormatter("us-east-1", "123456789012")
SNAP = {"SnapStart": {"ApplyOn": "PublishedVersions"}}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13", "java21", "dotnet8"])
def test_snapstart_is_taken_for_the_runtimes_aws_takes_it_for(runtime: str) -> None:
    snapstart.check(runtime, SNAP)


@pytest.mark.parametrize("runtime", ["python3.11", "python3.9", "nodejs22.x", "provided.al2023"])
def test_other_runtimes_are_refused_with_awss_message(runtime: str) -> None:
    with pytest.raises(LambdaError) as caught:
        snapstart.check(runtime, SNAP)
    assert caught.value.code == "InvalidParameterValueException"
    assert caught.value.status == 400
    assert caught.value.message == f"{runtime} is not supported for SnapStart enabled functions."


def test_apply_on_none_is_taken_for_any_runtime() -> None:
    snapstart.check("nodejs22.x", {"SnapStart": {"ApplyOn": "None"}})
    snapstart.check("nodejs22.x", {})


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return e\n")
    return buffer.getvalue()


def _functions(tmp_path: Path) -> Functions:
    return Functions(MemoryRegistry(), CodeStore(tmp_path / "code"), ARNS, lambda d, c: None)


def test_a_published_snapstart_version_waits_for_its_init(tmp_path: Path) -> None:
    functions = _functions(tmp_path)
    fields: dict[str, Any] = {
        "role": "arn:aws:iam::123456789012:role/r",
        "runtime": "python3.12",
        "handler": "app.handler",
        "passthrough": dict(SNAP),
    }
    asyncio.run(functions.create("f", fields, _zip(), publish=False, tags={}))
    functions.settle("f")
    version = functions.publish_version("f", code_sha256=None, description="", revision_id=None)
    assert version.state is State.PENDING
    assert version.state_reason_code == "Creating"
    assert version.awaiting_snapshot
    assert snapstart.response_shape(version) == {
        "ApplyOn": "PublishedVersions",
        "OptimizationStatus": "On",
    }
    functions.settle("f")  # an ordinary settle leaves it Pending
    _, latest = functions.get(_ref("f"))
    assert snapstart.response_shape(latest)["OptimizationStatus"] == "Off"
    _, pending = functions.get(_ref("f", "1"))
    assert pending.state is State.PENDING
    functions.settle_snapstart(pending, "Runtime.ImportModuleError: nope")
    _, failed = functions.get(_ref("f", "1"))
    assert failed.state is State.FAILED
    assert failed.state_reason_code == "FunctionError"
    assert failed.state_reason == "Runtime.ImportModuleError: nope"
    assert failed.revision_id == pending.revision_id  # what runs did not change


def test_settling_a_snapstart_version_makes_it_active(tmp_path: Path) -> None:
    functions = _functions(tmp_path)
    fields: dict[str, Any] = {
        "role": "arn:aws:iam::123456789012:role/r",
        "runtime": "python3.12",
        "handler": "app.handler",
        "passthrough": dict(SNAP),
    }
    asyncio.run(functions.create("g", fields, _zip(), publish=True, tags={}))
    _, pending = functions.get(_ref("g", "1"))
    assert pending.state is State.PENDING
    functions.settle_snapstart(pending, None)
    _, active = functions.get(_ref("g", "1"))
    assert active.state is State.ACTIVE
    assert active.state_reason is None


def _ref(name: str, qualifier: str | None = None) -> FunctionRef:
    return FunctionRef(name, qualifier)


def test_report_line_with_restore_duration_as_aws_prints_it() -> None:
    line = report_line("id", 1.234, 128, 70, restore_duration_ms=12.345)
    assert line == (
        "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 70 MB\t"
        "Restore Duration: 12.35 ms\tBilled Restore Duration: 13 ms\t"
    )


def test_json_report_carries_restore_metrics() -> None:
    text = SystemLog("JSON").report(Report("id", 1.0, 128, 70, restore_duration_ms=2.5))
    assert text is not None
    metrics = json.loads(text)["record"]["metrics"]
    assert metrics["restoreDurationMs"] == 2.5
    assert metrics["billedRestoreDurationMs"] == 3
    assert "initDurationMs" not in metrics


def test_hooks_module_registers_in_order_with_arguments() -> None:
    hooks = _load("snapshot_restore_py_under_test", RUNTIMES / "lib" / "snapshot_restore_py.py")
    calls: list[Any] = []

    def first() -> None:
        calls.append("first")

    assert hooks.register_before_snapshot(first) is first  # works as a decorator
    hooks.register_before_snapshot(calls.append, "second")
    for func, args, kwargs in hooks.get_before_snapshot():
        func(*args, **kwargs)
    assert calls == ["first", "second"]
    assert hooks.get_after_restore() == []


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's seccomp filter is Linux's")
def test_the_templates_filter_lets_mount_through_and_refuses_chroot() -> None:
    entry = _load("sandbox_entry_under_test", RUNTIMES / "sandbox_entry.py")
    mount, chroot = entry.SYSCALLS["mount"][0], entry.CHROOT[0]

    def denied(program: list[tuple[int, int, int, int]]) -> set[int]:
        # (JEQ nr, 0, 1) followed by RET EPERM: the syscalls the table refuses.
        return {
            step[3]
            for step, after in itertools.pairwise(program)
            if step[0] == 0x15 and step[1:3] == (0, 1) and after[0] == 0x06
        }

    plain = denied(entry.seccomp_program("x86_64"))
    template = denied(entry.seccomp_program("x86_64", template=True))
    assert mount in plain and chroot not in plain
    assert mount not in template and chroot in template
    assert plain - {mount} == template - {chroot}
