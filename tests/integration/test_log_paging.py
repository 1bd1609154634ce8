"""Paging as botocore's paginators and the aws CLI's default paging do it: the last page of
every paginated operation carries no token (issue 12, item 1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Server, aws, create_function, logs_client, make_zip

pytestmark = pytest.mark.integration

CHATTY = (
    "def handler(event, context):\n    for i in range(3):\n        print('line', i)\n    return 1\n"
)


@pytest.fixture(scope="module")
def chatty(server: Server, client: Any) -> str:
    name = "paging-chatty"
    create_function(client, name, make_zip({"app.py": CHATTY}))
    for _ in range(3):
        client.invoke(FunctionName=name, Payload=b"{}")
    version = client.publish_version(FunctionName=name)["Version"]
    for alias in ("one", "two"):
        client.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    return f"/aws/lambda/{name}"


def _lines(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e["message"].startswith("line")]


def test_filter_log_events_paginator_reads_every_page(server: Server, chatty: str) -> None:
    paginator = logs_client(server.endpoint).get_paginator("filter_log_events")
    for page_size in (2, 7, 10_000):
        pages = list(
            paginator.paginate(logGroupName=chatty, PaginationConfig={"PageSize": page_size})
        )
        events = [e for page in pages for e in page["events"]]
        assert _lines(events) == ["line 0", "line 1", "line 2"] * 3
        assert "nextToken" not in pages[-1]
        assert len({e["eventId"] for e in events}) == len(events)  # no page read twice


def test_the_last_page_has_no_token(server: Server, chatty: str) -> None:
    logs = logs_client(server.endpoint)
    page = logs.filter_log_events(logGroupName=chatty)
    assert page["events"] and "nextToken" not in page
    first = logs.filter_log_events(logGroupName=chatty, limit=1)
    assert len(first["events"]) == 1 and "nextToken" in first


def test_aws_cli_default_paging(server: Server, chatty: str) -> None:
    result = aws(server.endpoint, "filter-log-events", "--log-group-name", chatty, service="logs")
    assert _lines(json.loads(result.stdout)["events"]) == ["line 0", "line 1", "line 2"] * 3
    small = aws(
        server.endpoint,
        "filter-log-events",
        "--log-group-name",
        chatty,
        "--page-size",
        "4",
        service="logs",
    )
    assert _lines(json.loads(small.stdout)["events"]) == ["line 0", "line 1", "line 2"] * 3


LAMBDA_PAGINATORS = [
    ("list_functions", {}),
    ("list_versions_by_function", {"FunctionName": "paging-chatty"}),
    ("list_aliases", {"FunctionName": "paging-chatty"}),
    ("list_layers", {}),
    ("list_provisioned_concurrency_configs", {"FunctionName": "paging-chatty"}),
    ("list_function_event_invoke_configs", {"FunctionName": "paging-chatty"}),
]


@pytest.mark.parametrize(("operation", "params"), LAMBDA_PAGINATORS)
def test_lambda_paginators_end(
    client: Any, chatty: str, operation: str, params: dict[str, Any]
) -> None:
    pages = list(
        client.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": 1})
    )
    assert pages and not pages[-1].get("NextMarker")
