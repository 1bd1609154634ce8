"""`hearth up`, `hearth dev` and `hearth event` against a real `hearth serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server

TEMPLATES = Path(__file__).parent.parent / "templates"


def hearth(
    server: Server, *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HEARTH_ENDPOINT_URL": server.endpoint,
        "HEARTH_DATA_DIR": str(server.data_dir),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "hearth", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
        cwd=cwd,
        input=stdin,
    )


def payload(client: Any, name: str, **extra: Any) -> Any:
    response = client.invoke(FunctionName=name, **extra)
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_hello_world_quick_start(server: Server, client: Any, tmp_path: Path) -> None:
    app = tmp_path / "sam-app"
    shutil.copytree(TEMPLATES / "hello-world", app)
    first = hearth(server, "up", cwd=app)
    assert first.returncode == 0, first.stderr
    assert "created  HelloWorldFunction" in first.stdout
    assert "created  ServerlessRestApi" in first.stdout
    assert "Not run by Hearth" not in first.stdout
    assert re.search(r"HelloWorldApi = http://[a-z0-9]+\.execute-api\.localhost:\d+/Prod/hello/",
                     first.stdout)  # fmt: skip
    assert "IAM recorded, not enforced: HelloWorldFunctionRole" in first.stdout
    assert (
        "HelloWorldFunction = arn:aws:lambda:us-east-1:123456789012:function:HelloWorldFunction"
        in first.stdout
    )
    answer = payload(client, "HelloWorldFunction")
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"message": "hello world"}
    tags = client.list_tags(
        Resource=client.get_function(FunctionName="HelloWorldFunction")["Configuration"][
            "FunctionArn"
        ]
    )["Tags"]
    assert tags["hearth:stack"] == "sam-app" and tags["hearth:logical-id"] == "HelloWorldFunction"
    policy = json.loads(client.get_policy(FunctionName="HelloWorldFunction")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}

    again = hearth(server, "up", cwd=app)
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stdout

    # A sample event piped into invoke.
    event = hearth(server, "event", "s3", "put", "--bucket", "b", "--key", "k")
    invoked = hearth(server, "invoke", "HelloWorldFunction", "--event", "-", stdin=event.stdout)
    assert invoked.returncode == 0, invoked.stderr
    assert '"statusCode": 200' in invoked.stdout


def test_features_parameters_conditions_layers_and_removal(
    server: Server, client: Any, tmp_path: Path
) -> None:
    app = tmp_path / "feat"
    shutil.copytree(TEMPLATES / "features", app)
    first = hearth(server, "up", "--stack-name", "feat", cwd=app)
    assert first.returncode == 0, first.stderr
    assert "UnknownThing (AWS::StepFunctions::StateMachine)" in first.stdout
    assert payload(client, "feat-greeter", Qualifier="live") == {
        "greeting": "hello",
        "stage": "dev",
        "mode": "development",
        "zone": "us-east-1b",
        "parts": "a",
        "self": "us-east-1:123456789012",
        "shared": "from the layer",
    }
    config = client.get_function_configuration(FunctionName="feat-greeter")
    assert config["Timeout"] == 5 and config["MemorySize"] == 256
    assert (
        client.get_function_concurrency(FunctionName="feat-greeter")["ReservedConcurrentExecutions"]
        == 5
    )
    invoke_config = client.get_function_event_invoke_config(
        FunctionName="feat-greeter", Qualifier="live"
    )
    assert invoke_config["MaximumRetryAttempts"] == 1
    assert payload(client, "Inline") == {"inline": True}

    prod = hearth(
        server,
        "up",
        "--stack-name",
        "feat",
        "--parameter-overrides",
        "Stage=prod Greeting=hi",
        cwd=app,
    )
    assert prod.returncode == 0, prod.stderr
    assert "deleted  Inline" in prod.stdout and "created  ProdOnly" in prod.stdout
    answer = payload(client, "feat-greeter", Qualifier="live")
    assert answer["greeting"] == "hi" and answer["mode"] == "production"
    assert client.get_alias(FunctionName="feat-greeter", Name="live")["FunctionVersion"] == "2"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="Inline")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "Resources:\n  F:\n    Type: X\n\tbad: 1\n",
            "template.yaml line 4, column 1: invalid YAML",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: {'Fn::Nope': 1}\n",
            "Resources.A.Properties.Role.Fn::Nope: unknown intrinsic function",
        ),
        (
            "Parameters:\n  P:\n    Type: String\nResources:\n  A:\n    Type: AWS::SQS::Queue\n",
            "Parameters.P: has no Default",
        ),
    ],
)
def test_malformed_templates_change_nothing(
    server: Server, client: Any, tmp_path: Path, text: str, words: str
) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    (app / "template.yaml").write_text(text)
    before = {f["FunctionName"] for f in client.list_functions()["Functions"]}
    result = hearth(server, "up", cwd=app)
    assert result.returncode == 1
    assert result.stderr.count("error:") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert {f["FunctionName"] for f in client.list_functions()["Functions"]} == before
    assert not (server.data_dir / "stacks" / "broken.json").exists()


def test_dev_reloads_a_save(server: Server, client: Any, tmp_path: Path) -> None:
    app = tmp_path / "devapp"
    shutil.copytree(TEMPLATES / "hello-world", app)
    (app / "template.yaml").write_text(
        (app / "template.yaml").read_text().replace("HelloWorldFunction", "DevFunction")
    )
    env = {
        **os.environ,
        "HEARTH_ENDPOINT_URL": server.endpoint,
        "HEARTH_DATA_DIR": str(server.data_dir),
    }
    dev = subprocess.Popen(
        [sys.executable, "-m", "hearth", "dev"],
        cwd=app,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    watching = threading.Event()

    def pump() -> None:
        assert dev.stdout is not None
        for line in dev.stdout:
            lines.append(line)
            if line.startswith("Watching"):
                watching.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert watching.wait(120), "".join(lines)
        assert json.loads(payload(client, "DevFunction")["body"]) == {"message": "hello world"}
        source = app / "hello_world" / "app.py"
        source.write_text(source.read_text().replace("hello world", "reloaded"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if json.loads(payload(client, "DevFunction")["body"]) == {"message": "reloaded"}:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("".join(lines))
        deadline = time.monotonic() + 10
        while (
            not any(line.startswith("reloaded app.py") for line in lines)
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert any("reloaded app.py → DevFunction" in line for line in lines), "".join(lines)
        deadline = time.monotonic() + 10
        while not any("REPORT RequestId" in line for line in lines) and time.monotonic() < deadline:
            payload(client, "DevFunction")
            time.sleep(0.2)
        assert any("DevFunction REPORT RequestId" in line for line in lines), "".join(lines)
    finally:
        dev.terminate()
        dev.wait(10)
        if dev.stdout is not None:
            dev.stdout.close()


@pytest.mark.slow  # a real pip install: about 15 s
def test_requirements_are_installed_once(server: Server, client: Any, tmp_path: Path) -> None:
    app = tmp_path / "deps"
    shutil.copytree(TEMPLATES / "with-deps", app)
    first = hearth(server, "up", cwd=app)
    assert first.returncode == 0, first.stderr
    assert "installing WithDeps's requirements.txt (pip)" in first.stdout
    assert payload(client, "WithDeps") == {"six": "1.17.0"}
    (app / "src" / "app.py").write_text(
        (app / "src" / "app.py").read_text().replace('"six"', '"six!"')
    )
    second = hearth(server, "up", cwd=app)
    assert second.returncode == 0, second.stderr
    assert "installing" not in second.stdout  # the manifest did not change
    assert "updated  WithDeps" in second.stdout
    assert payload(client, "WithDeps") == {"six!": "1.17.0"}


def test_a_function_url_answers_at_the_output(server: Server, tmp_path: Path) -> None:
    import urllib.request

    app = tmp_path / "withurl"
    shutil.copytree(TEMPLATES / "function-url", app)
    result = hearth(server, "up", cwd=app)
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"Url = http://([a-z0-9]+)\.lambda-url\.us-east-1\.localhost:\d+/", result.stdout
    )
    assert found, result.stdout
    # The path form of the same URL: Python's resolver does not map *.localhost to loopback.
    with urllib.request.urlopen(f"{server.endpoint}/lambda-url/{found.group(1)}/hi") as answer:
        assert json.loads(answer.read()) == {"path": "/hi"}


@pytest.mark.slow  # about 70 s, most of it the server's slow stop
def test_the_sqs_quick_start_runs_end_to_end(tmp_path: Path) -> None:
    import signal

    import boto3

    from tests.integration.async_helpers import wait_for
    from tests.integration.conftest import logs_client

    # A server of its own: one with a poller in SQS's 20 s long poll is slow to stop (see the
    # report), which the session's server must not be.
    server = Server(tmp_path / "data").start()
    try:
        # The `sam init` Node.js SQS quick start, as AWS publishes it.
        app = tmp_path / "sqsapp"
        shutil.copytree(TEMPLATES / "sam-init" / "nodejs20.x-sqs", app)
        result = hearth(server, "up", cwd=app)
        assert result.returncode == 0, result.stderr
        assert "created  SimpleQueue" in result.stdout
        assert "created  SQSPayloadLoggerSQSQueueEvent" in result.stdout
        sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id="hearth-test", aws_secret_access_key="hearth-test")  # fmt: skip
        url = sqs.get_queue_url(QueueName="sqsapp-SimpleQueue")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello from the queue")
        logs = logs_client(server.endpoint)

        def logged() -> bool:
            try:
                found = logs.filter_log_events(logGroupName="/aws/lambda/SQSPayloadLogger")
            except logs.exceptions.ResourceNotFoundException:
                return False  # until the first invoke
            return any("hello from the queue" in e["message"] for e in found["events"])

        wait_for(logged, timeout=30, interval=0.3)
        again = hearth(server, "up", cwd=app)
        assert "no changes" in again.stdout, again.stdout
    finally:
        try:
            server.stop(timeout=40)
        except subprocess.TimeoutExpired:
            server.stop(sig=signal.SIGKILL)
