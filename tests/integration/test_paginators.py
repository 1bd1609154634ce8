"""Every List* operation Hearth serves, paged one item at a time by botocore's own paginators
(issue 12 item 1's check for the Lambda API): each page after the last one's marker, every
item once, in the same order as one unpaged call, and an end. Names and version numbers are
chosen so that string order and numeric order disagree (2 < 10, "B" < "a")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.integration

ACCOUNT = "arn:aws:lambda:us-east-1:123456789012"
# More than any page, and enough to reach two-digit version numbers.
VERSIONS = 11


@pytest.fixture(scope="module")
def lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of its own, so ListFunctions and ListLayers see only what this module made."""
    server = Server(tmp_path_factory.mktemp("paging"), ["--isolation", "process"]).start()
    client = server.client()
    for name in ("pg-b", "pg-A", "pg-a10", "pg-a2"):
        create_function(client, name)
    for n in range(VERSIONS):
        client.update_function_code(
            FunctionName="pg-b", ZipFile=make_zip({"app.py": f"N = {n}\n"}), Publish=True
        )
        client.get_waiter("function_updated_v2").wait(
            FunctionName="pg-b", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
    for alias, version in (("live", "1"), ("B", "2"), ("a10", "10"), ("a2", "11")):
        client.create_alias(FunctionName="pg-b", Name=alias, FunctionVersion=version)
    for qualifier in ("$LATEST", "1", "2", "10", "live", "B"):
        client.put_function_event_invoke_config(
            FunctionName="pg-b", Qualifier=qualifier, MaximumRetryAttempts=0
        )
    for layer in ("pg-layer", "PG-Layer", "pg-layer10", "pg-layer2"):
        versions = VERSIONS if layer == "pg-layer" else 1
        for _ in range(versions):
            client.publish_layer_version(
                LayerName=layer,
                Content={"ZipFile": make_zip({"python/m.py": "x = 1\n"})},
                CompatibleRuntimes=["python3.12"],
            )
    yield client
    server.stop()


def paged(client: Any, operation: str, field: str, **params: Any) -> list[Any]:
    paginator = client.get_paginator(operation)
    # PageSize 1: a marker after every item. MaxItems bounds a loop of ever-new markers
    # (botocore itself stops one that repeats a marker).
    config = {"PageSize": 1, "MaxItems": 500}
    items = [
        item
        for page in paginator.paginate(PaginationConfig=config, **params)
        for item in page[field]
    ]
    assert len(items) < 500, f"{operation} pages without end"
    return items


def unpaged(client: Any, operation: str, field: str, **params: Any) -> list[Any]:
    page = getattr(client, operation)(MaxItems=50, **params)
    assert "NextMarker" not in page
    items: list[Any] = page[field]
    return items


CASES = [
    ("list_functions", "Functions", {}),
    ("list_functions", "Functions", {"FunctionVersion": "ALL"}),
    ("list_versions_by_function", "Versions", {"FunctionName": "pg-b"}),
    ("list_aliases", "Aliases", {"FunctionName": "pg-b"}),
    ("list_function_event_invoke_configs", "FunctionEventInvokeConfigs", {"FunctionName": "pg-b"}),
    ("list_layers", "Layers", {}),
    ("list_layers", "Layers", {"CompatibleRuntime": "python3.12"}),
    ("list_layer_versions", "LayerVersions", {"LayerName": "pg-layer"}),
]


@pytest.mark.parametrize(("operation", "field", "params"), CASES)
def test_paging_one_at_a_time_gives_every_item_once(
    lam: Any, operation: str, field: str, params: dict[str, Any]
) -> None:
    whole = unpaged(lam, operation, field, **params)
    assert len(whole) >= 4
    assert paged(lam, operation, field, **params) == whole


def test_the_fixture_made_what_the_cases_page(lam: Any) -> None:
    versions = unpaged(lam, "list_versions_by_function", "Versions", FunctionName="pg-b")
    assert [v["Version"] for v in versions] == ["$LATEST", *map(str, range(1, VERSIONS + 1))]
    layer = unpaged(lam, "list_layer_versions", "LayerVersions", LayerName="pg-layer")
    assert [v["Version"] for v in layer] == list(range(VERSIONS, 0, -1))  # newest first


def test_provisioned_configs_page_too(lam: Any, tmp_path: Path) -> None:
    create_function(lam, "pg-pc", make_zip())
    numbers = []
    for n in range(3):
        lam.update_function_code(
            FunctionName="pg-pc",
            ZipFile=make_zip({"app.py": f"def handler(e, c):\n    return {n}\n"}),
        )
        lam.get_waiter("function_updated_v2").wait(
            FunctionName="pg-pc", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
        numbers.append(lam.publish_version(FunctionName="pg-pc")["Version"])
    for number in numbers:
        lam.put_provisioned_concurrency_config(
            FunctionName="pg-pc", Qualifier=number, ProvisionedConcurrentExecutions=1
        )
    field = "ProvisionedConcurrencyConfigs"
    whole = unpaged(lam, "list_provisioned_concurrency_configs", field, FunctionName="pg-pc")
    assert {c["FunctionArn"] for c in whole} == {f"{ACCOUNT}:function:pg-pc:{n}" for n in numbers}
    assert paged(lam, "list_provisioned_concurrency_configs", field, FunctionName="pg-pc") == whole
