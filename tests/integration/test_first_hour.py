"""What a new user hit in the first hour (issue 12), through the `hearth` command itself
against a real server: a missing function's logs, Ctrl-C, payloads from files and stdin,
tables that never cut, the credentials the aws CLI needs, and one server per data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, aws, create_function, make_zip

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def hearth(
    server: Server, *args: str, columns: int = 200, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_ENDPOINT_URL": server.endpoint, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def echo_function(client: Any, name: str, **overrides: Any) -> None:
    code = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
    create_function(client, name, code, **overrides)


def test_logs_of_a_missing_function_is_an_error(server: Server) -> None:
    result = hearth(server, "logs", "no-such-function")
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "error: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    ) in result.stderr


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_logs_pages_to_the_end_and_ctrl_c_on_follow_is_success(
    server: Server, client: Any, fn_name: str
) -> None:
    echo_function(client, fn_name)
    for n in range(3):
        assert hearth(server, "invoke", fn_name, "--payload", f'{{"n": {n}}}').returncode == 0
    printed = hearth(server, "logs", fn_name)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("REPORT RequestId:") == 3  # each line once, and it ends

    follower = subprocess.Popen(
        [sys.executable, "-m", "hearth", "logs", fn_name, "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HEARTH_ENDPOINT_URL": server.endpoint},
        # As in a person's terminal: a suite started in the background (`cmd &`, nohup) has
        # SIGINT ignored, and an ignored disposition is inherited, so Ctrl-C would do nothing.
        preexec_fn=_ctrl_c_as_in_a_terminal,  # noqa: PLW1509 - one signal call, no locks
    )
    assert follower.stdout is not None
    seen = [follower.stdout.readline() for _ in range(9)]  # the three invokes' lines
    assert sum("REPORT RequestId:" in line for line in seen) == 3
    assert hearth(server, "invoke", fn_name, "--payload", '{"n": "late"}').returncode == 0
    while "REPORT RequestId:" not in seen[-1]:  # the late invoke's lines arrive
        seen.append(follower.stdout.readline())
        assert seen[-1], "the follower stopped"
    time.sleep(1)  # two more polls: nothing is printed twice
    follower.send_signal(signal.SIGINT)  # what Ctrl-C sends
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "Aborted" not in err
    assert ("".join(seen) + out).count("REPORT RequestId:") == 4


def test_invoke_reads_the_payload_from_a_file_or_stdin(
    server: Server, client: Any, fn_name: str, tmp_path: Path
) -> None:
    echo_function(client, fn_name)
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    for source in (f"file://{event}", f"fileb://{event}"):
        result = hearth(server, "invoke", fn_name, "--payload", source)
        assert result.returncode == 0, result.stderr
        assert '"from": "file"' in result.stdout
    piped = hearth(server, "invoke", fn_name, "--payload", "-", stdin='{"from": "stdin"}')
    assert piped.returncode == 0, piped.stderr
    assert '"from": "stdin"' in piped.stdout
    missing = hearth(server, "invoke", fn_name, "--payload", f"file://{tmp_path}/nope.json")
    assert missing.returncode == 2
    assert f"cannot read {tmp_path}/nope.json: No such file or directory" in missing.stderr


def test_functions_never_cuts_what_people_read(server: Server, client: Any, fn_name: str) -> None:
    handler = "a_rather_long_module_name.a_rather_long_handler_name"
    code = make_zip(
        {"a_rather_long_module_name.py": "def a_rather_long_handler_name(e, c): pass\n"}
    )
    create_function(client, fn_name, code, Runtime="python3.11", Handler=handler)
    result = hearth(server, "functions", columns=80)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if fn_name in line)
    assert "python3.11" in row
    assert handler in row
    modified = client.get_function_configuration(FunctionName=fn_name)["LastModified"]
    assert modified[:19].replace("T", " ") in row
    assert "…" not in result.stdout


def test_the_announced_aws_cli_line_works_without_credentials(server: Server) -> None:
    announced = "".join(server.output)
    exports = next(line for line in server.output if line.strip().startswith("export "))
    assert exports.split() == [
        "export",
        "AWS_ACCESS_KEY_ID=hearth",
        "AWS_SECRET_ACCESS_KEY=hearth",
    ]
    assert f"aws lambda list-functions --endpoint-url {server.endpoint}" in announced
    # Run the announced line in an environment with no credentials but the two exports.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(dict(item.split("=", 1) for item in exports.split()[1:]))
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            *("lambda", "list-functions", "--endpoint-url", server.endpoint),
            *("--region", "us-east-1"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"Functions"' in result.stdout
    assert aws(server.endpoint, "list-functions").returncode == 0


def test_a_second_server_on_the_same_data_dir_refuses_naming_the_first(tmp_path: Path) -> None:
    first = Server(tmp_path / "data", ["--isolation", "process"]).start()
    try:
        # A zygote and an environment are running too: none of them may hold the lock on.
        echo_function(first.client(), "warm")
        assert first.client().invoke(FunctionName="warm", Payload=b"{}")["StatusCode"] == 200
        pid = first.process.pid if first.process else 0
        second = subprocess.run(
            [
                *(sys.executable, "-m", "hearth", "serve", "--port", "0"),
                *("--data-dir", str(tmp_path / "data"), "--isolation", "process"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert second.stdout == ""
        assert second.stderr.strip() == (
            f"error: another Hearth server (pid {pid}, listening at {first.endpoint}) is using "
            f"the data dir {tmp_path / 'data'}; stop it first, or give this one another "
            "--data-dir."
        )
    finally:
        first.stop(signal.SIGKILL)  # a crash: the kernel drops the lock with the process
    again = Server(tmp_path / "data", ["--isolation", "process"]).start()
    try:
        assert [f["FunctionName"] for f in again.client().list_functions()["Functions"]] == ["warm"]
    finally:
        assert again.stop() == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_run_sh_says_how_to_stop_once_and_ctrl_c_is_success(tmp_path: Path) -> None:
    """./scripts/run.sh as the README has a new user run it, stopped with Ctrl-C (SIGINT to
    the whole foreground process group, as a terminal sends it)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "HEARTH_PORT": str(free_port()),
        "HEARTH_DATA_DIR": str(tmp_path / "data"),
        "HEARTH_ISOLATION": "process",
    }
    run = subprocess.Popen(
        ["./scripts/run.sh"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    assert run.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = run.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("  .venv/bin/aws "):  # the last tip: it is serving now
            break
    os.killpg(run.pid, signal.SIGINT)
    rest, _ = run.communicate(timeout=60)
    output = "".join(lines) + rest
    assert run.returncode == 0, output
    assert "Aborted" not in output
    assert output.count("Press Ctrl-C to stop.") == 1
    assert "Hello, Hearth!" in output
    tip = next(line for line in lines if line.startswith("  .venv/bin/aws "))
    assert "AWS_ACCESS_KEY_ID=" in "".join(lines)  # the aws tip says what it needs
    assert "--endpoint-url" in tip
