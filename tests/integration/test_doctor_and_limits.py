"""`hearth doctor`, the isolation line of `hearth serve`, and Lambda's rlimits in every environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hearth.sandbox.capabilities import probe
from hearth.sandbox.choice import choose_isolation
from hearth.sandbox.isolation import Isolation
from tests.integration.conftest import Server, create_function, make_zip

PYTHON_LIMITS = """\
import errno
import resource


def handler(event, context):
    if event.get("open_files"):
        kept = []
        try:
            for _ in range(event["open_files"]):
                kept.append(open("/dev/null"))
        except OSError as exc:
            return {"opened": len(kept), "errno": errno.errorcode[exc.errno]}
        finally:
            for f in kept:
                f.close()
        return {"opened": len(kept), "errno": None}
    return {
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
        "core": resource.getrlimit(resource.RLIMIT_CORE),
    }
"""

NODE_LIMITS = """\
const fs = require("fs");
exports.handler = async () => {
  const line = fs.readFileSync("/proc/self/limits", "utf8")
    .split("\\n").find((l) => l.startsWith("Max open files"));
  const [soft, hard] = line.replace("Max open files", "").trim().split(/\\s+/);
  return { nofile: [Number(soft), Number(hard)] };
};
"""


def invoke(client: Any, name: str, event: Any = None) -> Any:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event or {}))
    assert "FunctionError" not in response, response
    return json.loads(response["Payload"].read())


def test_doctor_names_the_cgroup_version_and_level() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hearth", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # wide enough that rich wraps nothing
    )
    assert result.returncode == 0, result.stderr
    assert "cgroup v1" in result.stdout or "cgroup v2" in result.stdout, result.stdout
    assert "Isolation this host allows:" in result.stdout
    expected = choose_isolation(Isolation.AUTO, probe()).description
    assert f"hearth serve would use: {expected}" in result.stdout


def test_serve_announces_its_isolation(server: Server) -> None:
    lines = [line for line in server.output if line.startswith("  isolation: ")]
    assert len(lines) == 1, server.output
    expected = choose_isolation(Isolation.AUTO, probe()).description
    assert lines[0] == f"  isolation: {expected}\n"


def test_serve_says_loudly_when_functions_are_not_isolated(tmp_path: Path) -> None:
    plain = Server(tmp_path, ["--isolation", "process"]).start()
    try:
        lines = [line for line in plain.output if line.startswith("  isolation: ")]
        assert lines == [
            "  isolation: processes+rlimits: NOT ISOLATED. Functions run as plain processes "
            "that can see each other and the host (--isolation process)\n"
        ]
        client = plain.client()
        create_function(client, "plain-limits", make_zip({"app.py": PYTHON_LIMITS}))
        assert invoke(client, "plain-limits") == {"nofile": [1024, 1024], "core": [0, 0]}
    finally:
        plain.stop()


def test_python_environment_has_lambda_rlimits(client: Any) -> None:
    create_function(client, "limits-python", make_zip({"app.py": PYTHON_LIMITS}))
    assert invoke(client, "limits-python") == {"nofile": [1024, 1024], "core": [0, 0]}


def test_too_many_files_is_emfile_inside_the_function(client: Any) -> None:
    create_function(client, "limits-python-emfile", make_zip({"app.py": PYTHON_LIMITS}))
    result = invoke(client, "limits-python-emfile", {"open_files": 2000})
    assert result["errno"] == "EMFILE"
    assert 900 < result["opened"] < 1024  # the runtime holds a few of the 1024 itself
    # The environment survives and keeps serving.
    assert invoke(client, "limits-python-emfile")["nofile"] == [1024, 1024]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_environment_has_lambda_nofile(client: Any) -> None:
    create_function(
        client,
        "limits-node",
        make_zip({"index.js": NODE_LIMITS}),
        Runtime="nodejs20.x",
        Handler="index.handler",
    )
    assert invoke(client, "limits-node") == {"nofile": [1024, 1024]}
