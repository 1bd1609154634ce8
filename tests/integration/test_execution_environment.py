"""The execution environment as AWS's looks from inside (the recorded runtime-introspection
answers, lambda_/test_lambda.snapshot.json), and /tmp on disk sized by EphemeralStorage."""

from __future__ import annotations

import json
import re
import shutil
import sys
from typing import Any

import pytest

from hearth.sandbox.capabilities import probe
from hearth.sandbox.choice import choose_isolation
from hearth.sandbox.isolation import Isolation

from .conftest import create_function, make_zip
from .parity.recorded import ACCOUNT as RECORDED_ACCOUNT
from .parity.recorded import Bindings, differences, recorded_case

HEARTH_ACCOUNT = "123456789012"  # the session server's (the recorder masked AWS's)


def recorded_account() -> str:
    return RECORDED_ACCOUNT


CHOICE = choose_isolation(Isolation.AUTO, probe())
pytestmark = pytest.mark.skipif(
    not (CHOICE.sandboxed and CHOICE.cgroups is not None),
    reason=f"this host cannot sandbox: {CHOICE.description}",
)

INTROSPECT = r"""
import errno, getpass, grp, os, pwd, stat, subprocess


def introspect(event, context):
    paths = {}
    for path in ("/var/task", "/opt", "/tmp", "/lambda-entrypoint.sh"):
        st = os.stat(path)
        key = "_" + path.strip("/").replace("/", "_")
        paths[key + "_mode"] = stat.filemode(st.st_mode)
        paths[key + "_owner"] = pwd.getpwuid(st.st_uid).pw_name
        paths[key + "_uid"] = st.st_uid
        paths[key + "_gid"] = st.st_gid
    return {
        "user_login_name": getpass.getuser(),
        "user_whoami": subprocess.run(["whoami"], capture_output=True, text=True).stdout.strip(),
        "pwd": os.getcwd(),
        "paths": paths,
        "env": {k: os.environ.get(k) for k in event["env"]},
    }


def tmp(event, context):
    st = os.statvfs("/tmp")
    fstype = [line.split()[2] for line in open("/proc/self/mounts") if line.split()[1] == "/tmp"]
    out = {"free_mb": st.f_bavail * st.f_frsize >> 20, "fstype": fstype}
    # Past the memory size, within /tmp's: blocks allocated, and 200 MB of them written.
    with open("/tmp/big", "wb") as f:
        os.posix_fallocate(f.fileno(), 0, event["allocate_mb"] << 20)
        chunk = b"x" * (1 << 20)
        for _ in range(event["write_mb"]):
            f.write(chunk)
    try:
        with open("/tmp/more", "wb") as f:
            os.posix_fallocate(f.fileno(), 0, event["then_mb"] << 20)
        out["then"] = "ok"
    except OSError as exc:
        out["then"] = errno.errorcode[exc.errno]
    os.unlink("/tmp/big")
    out["left"] = os.listdir("/tmp")
    return out
"""

# AWS's answer for these (recorded, x86_64 and arm64 alike).
RECORDED_PATHS = {
    "_var_task_mode": "drwxr-xr-x",
    "_var_task_uid": 0,
    "_var_task_owner": "root",
    "_var_task_gid": 0,
    "_opt_mode": "drwxr-xr-x",
    "_opt_uid": 0,
    "_opt_owner": "root",
    "_opt_gid": 0,
    "_tmp_mode": "drwxrwxrwt",
    "_tmp_uid": 0,
    "_tmp_owner": "root",
    "_tmp_gid": 0,
    "_lambda-entrypoint.sh_mode": "-rwxr-xr-x",
    "_lambda-entrypoint.sh_uid": 0,
    "_lambda-entrypoint.sh_owner": "root",
    "_lambda-entrypoint.sh_gid": 0,
}
RECORDED_ENV = {
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": (
        "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
        "/var/task/lib:/opt/lib"
    ),
    "_HANDLER": "env.introspect",
}


def _call(client: Any, name: str, event: dict[str, Any]) -> Any:
    answer = client.invoke(FunctionName=name, Payload=json.dumps(event))
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return payload


def test_runtime_introspection_as_recorded(client: Any, fn_name: str) -> None:
    create_function(client, fn_name, make_zip({"env.py": INTROSPECT}), Handler="env.introspect")
    seen = _call(client, fn_name, {"env": [*RECORDED_ENV, "_X_AMZN_TRACE_ID"]})
    assert seen["user_login_name"] == seen["user_whoami"] == "sbx_user1051"
    assert seen["pwd"] == "/var/task"
    assert seen["paths"] == RECORDED_PATHS
    env = seen["env"]
    trace = env.pop("_X_AMZN_TRACE_ID")
    assert env == RECORDED_ENV
    assert trace and trace.startswith("Root=1-")
    again = _call(client, fn_name, {"env": ["_X_AMZN_TRACE_ID"]})["env"]["_X_AMZN_TRACE_ID"]
    assert again != trace  # a new trace per invoke


def test_tmp_is_disk_sized_by_ephemeral_storage_not_memory(client: Any, fn_name: str) -> None:
    create_function(
        client,
        fn_name,
        make_zip({"env.py": INTROSPECT}),
        Handler="env.tmp",
        MemorySize=128,
        Timeout=60,
        EphemeralStorage={"Size": 512},
    )
    # 480 MB allocated and 200 MB of it written by a 128 MB function: on a tmpfs that would be
    # memory and an out-of-memory kill; then 64 MB more does not fit in 512 MB.
    seen = _call(client, fn_name, {"allocate_mb": 480, "write_mb": 200, "then_mb": 64})
    assert seen["fstype"] == ["ext4"]
    assert 505 <= seen["free_mb"] <= 520
    assert seen["then"] == "ENOSPC"
    assert seen["left"] == ["more"]
    # Sized per function: 1 GB takes what 512 MB did not.
    client.update_function_configuration(FunctionName=fn_name, EphemeralStorage={"Size": 1024})
    client.get_waiter("function_updated_v2").wait(
        FunctionName=fn_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    seen = _call(client, fn_name, {"allocate_mb": 480, "write_mb": 0, "then_mb": 64})
    assert 1015 <= seen["free_mb"] <= 1035
    assert seen["then"] == "ok"
    assert seen["left"] == ["more"]  # a new environment: the last one's files are gone


# AWS's introspection handler for the runtimes (the recorded test_introspection_invoke cases
# in lambda_/test_lambda_common.snapshot.json): the environment and the context, as they are.
COMMON_INTROSPECT = """
import os


def handler(event, context):
    return {
        "environment": dict(os.environ),
        "ctx": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_time_in_millis": context.get_remaining_time_in_millis(),
        },
        "packages": [],
    }
"""
COMMON_CASE = "test_introspection_invoke[python3.12]"
# Where Hearth's answer differs from AWS's, and why (the README's list, kept honest: a field
# that comes to match, or a new difference, fails the test).
DIVERGENCES = {
    "environment.AWS_LAMBDA_RUNTIME_API": "each environment's own listener, not 169.254.100.1:9001",
    "environment.PYTHONPATH": "/var/task and the bundled SDK's directory, not /var/runtime",
    "environment.AWS_ENDPOINT_URL": "Hearth's: where the SDKs find the embedded services",
    "environment.HEARTH_RUNTIME_API_SOCKET": "Hearth's runtime client's Unix socket",
    "environment.HOME": "/tmp (AWS sets none)",
    "environment.PYTHONUNBUFFERED": "1 (AWS sets none)",
}
# AWS's trace header, whose Lineage (recursion detection) has colons the placeholders of the
# recordings' matcher do not span: checked by its own pattern.
TRACE_ID = re.compile(
    r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01](;Lineage=[0-9a-f]+:\d+)?"
)


def _differing_fields(recorded: dict[str, Any], seen: dict[str, Any]) -> dict[str, str]:
    """`part.KEY` -> what differs, by the parity replays' comparison (placeholders as any
    value, bound consistently); the account as AWS's recorder masked it."""
    seen = json.loads(json.dumps(seen).replace(HEARTH_ACCOUNT, recorded_account()))
    recorded = json.loads(json.dumps(recorded))
    assert TRACE_ID.fullmatch(seen["environment"].pop("_X_AMZN_TRACE_ID"))
    recorded["environment"].pop("_X_AMZN_TRACE_ID")
    found = {}
    for line in differences(recorded, seen, Bindings()):
        field, _, problem = line.lstrip(".").partition(": ")
        found[field] = problem
    return found


def test_introspection_field_by_field_as_recorded(client: Any, fn_name: str) -> None:
    recorded = recorded_case(COMMON_CASE, "test_lambda_common.snapshot.json")
    create_function(
        client,
        fn_name,
        make_zip({"handler.py": COMMON_INTROSPECT}),
        Handler="handler.handler",
        MemorySize=1024,
        Environment={"Variables": {"TEST_KEY": "TEST_VAL"}},
    )
    first = _call(client, fn_name, {})
    found = _differing_fields(recorded["invocation_result_payload"], first)
    assert set(found) == set(DIVERGENCES), found
    # Invoked by its qualified ARN: the context says so, and the trace is a new one.
    arn = client.get_function(FunctionName=fn_name)["Configuration"]["FunctionArn"]
    second = _call(client, f"{arn}:$LATEST", {})
    found = _differing_fields(recorded["invocation_result_payload_qualified"], second)
    assert set(found) == set(DIVERGENCES), found
    assert second["environment"]["_X_AMZN_TRACE_ID"] != first["environment"]["_X_AMZN_TRACE_ID"]


RUNTIME_PATHS = r"""
import json, os, sys, traceback


def handler(event, context):
    try:
        json.loads("{")  # raised inside the standard library: its frames name its files
    except ValueError:
        trace = traceback.format_exc()
    return {"prefix": sys.prefix, "base_prefix": sys.base_prefix, "executable": sys.executable,
            "os": os.__file__, "json": json.__file__, "path": sys.path, "trace": trace,
            "mountinfo": open("/proc/self/mountinfo").read(),
            "maps": sorted({line.split()[-1] for line in open("/proc/self/maps")
                            if "/" in line.split()[-1]})}
"""
NODE_PATHS = """
exports.handler = async () => ({
  execPath: process.execPath,
  argv0: process.argv[0],
  mountinfo: require("fs").readFileSync("/proc/self/mountinfo", "utf8"),
});
"""


def _host_paths(text: str) -> list[str]:
    """Lines naming a host path: the interpreter's prefix, Hearth's source, the data dir."""
    from hearth.sandbox.isolation import HOST_RUNTIMES_DIR

    hosts = (sys.base_prefix, str(HOST_RUNTIMES_DIR), "/root/", "/home/", "/work/", "/tmp/")
    return [line for line in text.splitlines() if any(h in line for h in hosts)]


@pytest.mark.parametrize("network", ["host", "none"])
def test_the_python_runtime_is_under_var_lang(client: Any, fn_name: str, network: str) -> None:
    create_function(
        client,
        fn_name,
        make_zip({"app.py": RUNTIME_PATHS}),
        Environment={"Variables": {"HEARTH_NETWORK": network}},
    )
    seen = _call(client, fn_name, {})
    version = "python3.12"
    assert seen["prefix"] == seen["base_prefix"] == "/var/lang"
    assert seen["executable"] == f"/var/lang/bin/{version}"
    assert seen["os"] == f"/var/lang/lib/{version}/os.py"
    assert seen["json"] == f"/var/lang/lib/{version}/json/__init__.py"  # preloaded
    assert f'File "/var/lang/lib/{version}/json/decoder.py"' in seen["trace"]
    assert all(p.startswith(("/var/", "/opt")) or "/var/lang/" in p for p in seen["path"] if p)
    assert _host_paths(seen["trace"]) == []
    assert _host_paths(seen["mountinfo"]) == [], seen["mountinfo"]
    assert _host_paths("\n".join(seen["maps"])) == [], seen["maps"]


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on this host")
def test_the_node_runtime_is_under_var_lang(client: Any, fn_name: str) -> None:
    create_function(
        client,
        fn_name,
        make_zip({"index.js": NODE_PATHS}),
        Runtime="nodejs20.x",
        Handler="index.handler",
    )
    seen = _call(client, fn_name, {})
    assert seen["execPath"] == seen["argv0"] == "/var/lang/bin/node"
    assert _host_paths(seen["mountinfo"]) == [], seen["mountinfo"]
