"""The `sam init` quick starts, as AWS publishes them (tests/templates/sam-init, Apache-2.0),
deployed with `hearth up` to one real server, one after the other under one stack (each
redeploy replaces the last application), answering as their READMEs say."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server
from tests.integration.test_up_services import aws, up_output, url_parts

SAM_INIT = Path(__file__).parent.parent / "templates" / "sam-init"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("quick-starts")).start()
    yield started
    started.stop()


def deploy(server: Server, tmp_path: Path, name: str) -> dict[str, str]:
    """Deploy the quick start ``name`` as stack sam-app; its outputs."""
    app = tmp_path / name
    shutil.copytree(SAM_INIT / name, app)
    output = up_output(server, app / "template.yaml", "sam-app")
    return dict(
        line.strip().split("  #")[0].split(" = ", 1)
        for line in output.split("Outputs:\n", 1)[-1].splitlines()
        if " = " in line
    )


def request(url: str, body: Any = None) -> tuple[int, Any]:
    host, port, path = url_parts(url)
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(sent, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def curl(url: str) -> Any:
    answer = subprocess.run(["curl", "-sS", "--fail", url], capture_output=True, text=True,
                            timeout=30, check=True)  # fmt: skip
    return json.loads(answer.stdout)


def test_the_hello_worlds_answer_at_their_printed_urls(server: Server, tmp_path: Path) -> None:
    # README: `curl <HelloWorldApi>` answers {"message": "hello world"} (curl resolves
    # *.localhost to this machine itself).
    outputs = deploy(server, tmp_path, "python3.12-hello")
    assert outputs["HelloWorldApi"].endswith("/Prod/hello/")
    assert curl(outputs["HelloWorldApi"]) == {"message": "hello world"}
    # The Node.js one under the same stack: the function is replaced, the API rebuilt.
    outputs = deploy(server, tmp_path, "nodejs20.x-hello")
    assert request(outputs["HelloWorldApi"]) == (200, {"message": "hello world"})


def test_the_web_backend_stores_and_reads_items(server: Server, tmp_path: Path) -> None:
    # README: POST an item to the API, GET / lists the items, GET /{id} reads one.
    endpoint = deploy(server, tmp_path, "nodejs20.x-web")["WebEndpoint"]
    item = {"id": "id1", "name": "Alice"}
    assert request(endpoint, item) == (200, item)
    assert request(endpoint) == (200, [item])
    assert request(endpoint + "id1") == (200, item)


def test_the_scheduled_events_quick_start_makes_its_rule(server: Server, tmp_path: Path) -> None:
    # (The SQS quick start runs in test_up.py, on a server of its own: see there.)
    deploy(server, tmp_path, "nodejs20.x-cw-event")
    events = aws(server, "events")
    rule = events.describe_rule(Name="sam-app-ScheduledEventLoggerCloudWatchEvent")
    assert rule["ScheduleExpression"] == "cron(0 * * * ? *)"
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"].endswith(":function:ScheduledEventLogger")
    # The web backend's API went with the redeploy.
    assert not aws(server, "apigateway").get_rest_apis()["items"]
