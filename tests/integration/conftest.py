"""A real `hearth serve` on a free loopback port, driven by boto3 and the aws CLI."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

READY = re.compile(r"ready at (http://\S+)")
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"


@dataclass
class Server:
    """One `hearth serve` process; can be killed and restarted on the same data dir."""

    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # RLIMIT_NOFILE (soft and hard) for the server process, to test running out of descriptors.
    nofile: int | None = None
    process: subprocess.Popen[str] | None = None
    endpoint: str = ""
    output: list[str] = field(default_factory=list)
    _pump: threading.Thread = field(init=False, repr=False)

    def start(self, timeout: float = 30.0) -> Server:
        command = [
            sys.executable,
            "-m",
            "hearth",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
        ]
        if self.nofile is not None:  # util-linux's prlimit: no preexec_fn in a threaded test
            command = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *command]
        self.process = subprocess.Popen(
            [*command, *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **self.env},
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                found = READY.search(line)
                if found:
                    self.endpoint = found.group(1)
                if "Press Ctrl-C to stop." in line:  # the announcement's last line
                    ready.set()
            ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        if not ready.wait(timeout) or not self.endpoint:
            self.stop()
            raise RuntimeError("hearth serve did not start:\n" + "".join(self.output))
        return self

    def rss_kb(self) -> int:
        """The server process's resident set size, in KB (Linux)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self._pump.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def client(self, **kwargs: Any) -> Any:
        return lambda_client(self.endpoint, **kwargs)


def lambda_client(
    endpoint: str, *, key: str = "hearth-test", secret: str = "hearth-test", validate: bool = True
) -> Any:
    config = Config(retries={"max_attempts": 0}, parameter_validation=validate)
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
    )


def logs_client(endpoint: str, *, validate: bool = True) -> Any:
    """A CloudWatch Logs client for Hearth's Logs API on the same port."""
    return boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
        config=Config(retries={"max_attempts": 0}, parameter_validation=validate),
    )


def log_events(endpoint: str, group: str) -> list[dict[str, Any]]:
    """Every event of a log group, through the paginator; none while the group does not
    exist yet (a function's group appears with its first line, as on AWS)."""
    logs = logs_client(endpoint)
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        return [event for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def make_zip(files: dict[str, str | bytes] | None = None) -> bytes:
    files = (
        files
        if files is not None
        else {"app.py": "def handler(event, context):\n    return event\n"}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("hearth-data")).start()
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def moto_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def moto_clock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write N here and the `moto` server's new stream records arrive N seconds ago
    (tests/integration/moto_server.py); absent or empty, its clock is the real one."""
    return tmp_path_factory.mktemp("moto-clock") / "seconds-back"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory, moto_clock: Path) -> Iterator[str]:
    """moto's server (an AWS-compatible SQS, SNS, Kinesis, DynamoDB, API Gateway...) on a free
    loopback port, one per test module: modules leave no state in each other's."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    launcher = str(Path(__file__).parent / "moto_server.py")
    process = subprocess.Popen(
        [sys.executable, launcher, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HEARTH_TEST_MOTO_CLOCK": str(moto_clock)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not moto_up(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not start (see {log.name})")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="session")
def client(server: Server) -> Any:
    return server.client()


@pytest.fixture(scope="session")
def raw_client(server: Server) -> Any:
    """A client that skips botocore's own parameter checks, to reach the server's."""
    return server.client(validate=False)


@pytest.fixture
def fn_name(request: pytest.FixtureRequest) -> str:
    """A function name unique to the test."""
    return re.sub(r"[^a-zA-Z0-9_-]", "-", request.node.name)[:64]


def create_function(
    client: Any, name: str, code: bytes | None = None, **overrides: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": code if code is not None else make_zip()},
    }
    params.update(overrides)
    result: dict[str, Any] = client.create_function(**params)
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    return result


def aws(
    endpoint: str, *args: str, check: bool = True, service: str = "lambda"
) -> subprocess.CompletedProcess[str]:
    """Run the aws CLI (from the test venv) against Hearth: `aws <service> <args>`."""
    aws_bin = Path(sys.executable).parent / "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "hearth-test",
        "AWS_SECRET_ACCESS_KEY": "hearth-test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    result = subprocess.run(
        [str(aws_bin), service, *args, "--endpoint-url", endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def aws_json(endpoint: str, *args: str) -> Any:
    out = aws(endpoint, *args).stdout
    return json.loads(out) if out.strip() else None


def service_client(
    endpoint: str, service: str, *, key: str = "hearth-test", secret: str = "hearth-test", **kw: Any
) -> Any:
    """A client for one of the AWS services Hearth embeds on its port (S3, DynamoDB, SNS...)."""
    session: Any = boto3.session.Session()  # Any: the service is picked at run time
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, **kw),
    )
