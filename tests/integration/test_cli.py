"""`hearth deploy`, `hearth functions`, `hearth delete` for people."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Server


def hearth(
    server: Server | None, *args: str, endpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    url = endpoint or (server.endpoint if server else "")
    env = {**os.environ, "HEARTH_ENDPOINT_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_deploy_creates_then_updates(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 'one'\n")
    first = hearth(
        server,
        "deploy",
        str(source),
        "--name",
        "cli-deployed",
        "--runtime",
        "python3.12",
        "--handler",
        "app.handler",
        "--env",
        "STAGE=dev",
    )
    assert first.returncode == 0, first.stderr
    assert "Created arn:aws:lambda:us-east-1:123456789012:function:cli-deployed" in first.stdout

    unchanged = hearth(
        server,
        "deploy",
        str(source),
        "--name",
        "cli-deployed",
        "--runtime",
        "python3.12",
        "--handler",
        "app.handler",
    )
    assert unchanged.returncode == 0, unchanged.stderr
    sha_first = first.stdout.split("CodeSha256 ")[1].split()[0]
    assert (
        f"CodeSha256 {sha_first}" in unchanged.stdout
    )  # a deterministic zip: same code, same hash

    (source / "app.py").write_text("def handler(event, context):\n    return 'two'\n")
    second = hearth(
        server,
        "deploy",
        str(source),
        "--name",
        "cli-deployed",
        "--runtime",
        "python3.12",
        "--handler",
        "app.handler",
        "--timeout",
        "9",
    )
    assert second.returncode == 0, second.stderr
    assert "Updated" in second.stdout
    assert f"CodeSha256 {sha_first}" not in second.stdout

    table = hearth(server, "functions")
    assert table.returncode == 0
    assert "cli-deployed" in table.stdout
    assert "9 s" in table.stdout

    deleted = hearth(server, "delete", "cli-deployed")
    assert deleted.returncode == 0
    again = hearth(server, "delete", "cli-deployed")
    assert again.returncode == 1
    assert "ResourceNotFoundException: Function not found" in again.stderr


def test_errors_speak_to_a_person(server: Server, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    bad = hearth(
        server,
        "deploy",
        str(tmp_path),
        "--name",
        "bad",
        "--runtime",
        "cobol",
        "--handler",
        "app.handler",
    )
    assert bad.returncode == 1
    # Not a runtime AWS knows: AWS's own InvalidParameterValueException (a Runtime may also be
    # a runtime version's ARN, so AWS checks it past its front end).
    assert (
        "error: InvalidParameterValueException: Value cobol at 'runtime' "
        "failed to satisfy constraint: Member must satisfy enum value set: [" in bad.stderr
    )
    unreachable = hearth(None, "functions", endpoint="http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "cannot reach Hearth at http://127.0.0.1:9" in unreachable.stderr


def test_console_command(server: Server) -> None:
    shown = hearth(server, "console", "--no-open")
    assert shown.returncode == 0, shown.stderr
    assert f"Hearth console: {server.endpoint}/console" in shown.stdout
    missing = hearth(None, "console", "--no-open", endpoint="http://127.0.0.1:9")
    assert missing.returncode == 1 and "No Hearth console at http://127.0.0.1:9" in missing.stdout
