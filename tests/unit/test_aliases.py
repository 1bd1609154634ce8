"""Aliases: AWS's validation, existence and routing rules, revisions, and the HTTP routes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from hearth.api.aliases import AliasesApi
from hearth.api.http import LambdaApp, Router
from hearth.arns import LATEST, ArnFormatter
from hearth.control.aliases import Aliases, parse_routing_config
from hearth.errors import LambdaError
from hearth.models import FunctionRecord, Policy, PolicyStatement
from hearth.store.memory import MemoryRegistry
from tests.unit import asgi, factories

ARNS = ArnFormatter("us-east-1", "123456789012")
FN = "fn"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def put_function(registry: MemoryRegistry, name: str = FN, versions: int = 2) -> None:
    factories.put_function(registry, name, versions)


@pytest.fixture
def registry() -> MemoryRegistry:
    registry = MemoryRegistry()
    put_function(registry)
    return registry


@pytest.fixture
def aliases(registry: MemoryRegistry) -> Aliases:
    return Aliases(registry, ARNS)


def error(exc: pytest.ExceptionInfo[LambdaError]) -> tuple[str, int, str]:
    return exc.value.code, exc.value.status, exc.value.message


# Create / get ------------------------------------------------------------------------------


def test_create_and_get(aliases: Aliases) -> None:
    created = aliases.create(FN, "live", "1", description="prod")
    assert (created.function_name, created.name, created.function_version) == (FN, "live", "1")
    assert created.description == "prod"
    assert created.routing_weights == {}
    uuid.UUID(created.revision_id)
    assert aliases.get(FN, "live") == created
    assert aliases.create(FN, "dev", LATEST).function_version == LATEST


@pytest.mark.parametrize("name", ["123", "has space", "a" * 129, "", "x:y"])
def test_alias_name_is_validated(aliases: Aliases, name: str) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, name, "1")
    assert exc.value.code == "ValidationException"
    assert "at 'name' failed to satisfy constraint" in exc.value.message


def test_function_must_exist(aliases: Aliases) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create("nope", "live", "1")
    # CreateAlias names the version it looked for (recorded: routing_config_exc_fn_doesnotexist).
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:1",
    )
    for call in (
        lambda: aliases.get("nope", "live"),
        lambda: aliases.list("nope"),
        lambda: aliases.update("nope", "live", description="x"),
        lambda: aliases.delete("nope", "live"),
    ):
        with pytest.raises(LambdaError) as exc:
            call()
        assert exc.value.message == f"Function not found: {ARNS.function('nope')}"


def test_function_version_must_exist(aliases: Aliases) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "9")
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {FN_ARN}:9")
    # `$LATEST.PUBLISHED` passes the model's pattern but names no version here.
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "$LATEST.PUBLISHED")
    assert exc.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize("version", ["abc", "live", "1.0", ""])
def test_function_version_pattern(aliases: Aliases, version: str) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", version)
    assert exc.value.code == "ValidationException"
    assert "at 'functionVersion'" in exc.value.message


def test_create_existing_conflicts(aliases: Aliases) -> None:
    aliases.create(FN, "live", "1")
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "2")
    assert error(exc) == ("ResourceConflictException", 409, f"Alias already exists: {FN_ARN}:live")
    assert aliases.get(FN, "live").function_version == "1"


def test_missing_alias(aliases: Aliases) -> None:
    # AWS's three answers, as recorded: Get and Update word it differently, Delete succeeds.
    with pytest.raises(LambdaError) as exc:
        aliases.get(FN, "ghost")
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        f"Cannot find alias arn: {FN_ARN}:ghost",
    )
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "ghost", description="x")
    assert error(exc) == ("ResourceNotFoundException", 404, f"Alias not found: {FN_ARN}:ghost")
    aliases.delete(FN, "ghost")


def test_description_limit(aliases: Aliases) -> None:
    aliases.create(FN, "live", "1", description="d" * 256)
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "other", "1", description="d" * 257)
    assert exc.value.code == "ValidationException"
    assert "Member must have length less than or equal to 256" in exc.value.message
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", description="d" * 257)
    assert exc.value.code == "ValidationException"


# Routing -----------------------------------------------------------------------------------


def test_weighted_routing(aliases: Aliases) -> None:
    alias = aliases.create(FN, "live", "1", routing_weights={"2": 0.25})
    assert alias.routing_weights == {"2": 0.25}
    assert aliases.get(FN, "live").routing_weights == {"2": 0.25}
    # The bounds themselves are allowed.
    assert aliases.create(FN, "zero", "1", routing_weights={"2": 0.0}).routing_weights == {"2": 0}
    assert aliases.create(FN, "one", "1", routing_weights={"2": 1.0}).routing_weights == {"2": 1}


def test_at_most_one_additional_version(registry: MemoryRegistry, aliases: Aliases) -> None:
    put_function(registry, versions=3)
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "1", routing_weights={"2": 0.1, "3": 0.1})
    assert error(exc) == (
        "InvalidParameterValueException",
        400,
        "Number of items in AdditionalVersionWeights cannot be greater than 1",
    )


@pytest.mark.parametrize("weight", [1.5, -0.1])
def test_weight_range(aliases: Aliases, weight: float) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "1", routing_weights={"2": weight})
    assert exc.value.code == "ValidationException"
    assert exc.value.message == (
        f"1 validation error detected: Value '{{2={weight}}}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must "
        "satisfy constraint: [Member must have value less than or equal to 1.0, Member must "
        "have value greater than or equal to 0.0]"
    )


@pytest.mark.parametrize("key", [LATEST, "live", ""])
def test_additional_version_must_be_a_number(aliases: Aliases, key: str) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "1", routing_weights={key: 0.5})
    assert exc.value.code == "ValidationException"
    assert "Map keys must satisfy constraint" in exc.value.message


def test_additional_version_must_differ_from_primary(aliases: Aliases) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "1", routing_weights={"1": 0.5})
    assert error(exc) == (
        "InvalidParameterValueException",
        400,
        "Invalid function version 1. Function version 1 is already included in routing "
        "configuration.",
    )


def test_primary_must_be_published_with_routing(aliases: Aliases) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", LATEST, routing_weights={"1": 0.5})
    assert error(exc) == (
        "InvalidParameterValueException",
        400,
        "$LATEST is not supported for an alias pointing to more than 1 version",
    )


def test_additional_version_must_exist(aliases: Aliases) -> None:
    with pytest.raises(LambdaError) as exc:
        aliases.create(FN, "live", "1", routing_weights={"7": 0.5})
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {FN_ARN}:7")
    with pytest.raises(LambdaError):
        aliases.get(FN, "live")  # nothing was written


def test_parse_routing_config() -> None:
    assert parse_routing_config(None) is None
    assert parse_routing_config({}) == {}
    assert parse_routing_config({"AdditionalVersionWeights": {}}) == {}
    assert parse_routing_config({"AdditionalVersionWeights": {"2": 1}}) == {"2": 1.0}
    bad_configs: list[Any] = [
        "x",
        {"AdditionalVersionWeights": []},
        {"AdditionalVersionWeights": {"2": "0.5"}},
        {"AdditionalVersionWeights": {"2": True}},
        {"AdditionalVersionWeights": {"2": None}},
    ]
    for bad in bad_configs:
        with pytest.raises(LambdaError) as exc:
            parse_routing_config(bad)
        assert exc.value.code == "ValidationException"


# Update ------------------------------------------------------------------------------------


def test_update_changes_what_is_given(aliases: Aliases) -> None:
    created = aliases.create(FN, "live", "1", description="prod", routing_weights={"2": 0.5})
    moved = aliases.update(FN, "live", description="moved")
    assert moved.function_version == "1"
    assert moved.routing_weights == {"2": 0.5}  # kept when RoutingConfig is not sent
    assert moved.description == "moved"
    assert moved.revision_id != created.revision_id
    cleared = aliases.update(FN, "live", function_version="2", routing_weights={})
    assert (cleared.function_version, cleared.routing_weights) == ("2", {})
    assert cleared.description == "moved"
    assert aliases.get(FN, "live") == cleared
    # Even an update that changes nothing gets a new revision.
    assert aliases.update(FN, "live").revision_id != cleared.revision_id


def test_update_revision_id(aliases: Aliases) -> None:
    created = aliases.create(FN, "live", "1")
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", function_version="2", revision_id="stale")
    assert error(exc) == ("PreconditionFailedException", 412, REVISION_MISMATCH)
    assert aliases.get(FN, "live").function_version == "1"
    updated = aliases.update(FN, "live", function_version="2", revision_id=created.revision_id)
    assert updated.function_version == "2"
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", revision_id=created.revision_id)  # now stale
    assert exc.value.code == "PreconditionFailedException"


def test_update_checks_versions_and_routing(aliases: Aliases) -> None:
    aliases.create(FN, "live", "1", routing_weights={"2": 0.5})
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", function_version="9")
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {FN_ARN}:9")
    # A new primary equal to the kept additional version is refused.
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", function_version="2")
    assert exc.value.code == "InvalidParameterValueException"
    assert "is already included in routing configuration" in exc.value.message
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", function_version=LATEST)
    assert exc.value.message == (
        "$LATEST is not supported for an alias pointing to more than 1 version"
    )
    with pytest.raises(LambdaError) as exc:
        aliases.update(FN, "live", routing_weights={"2": 2.0})
    assert exc.value.code == "ValidationException"
    assert (
        aliases.update(FN, "live", function_version=LATEST, routing_weights={}).routing_weights
        == {}
    )


# Delete / list -----------------------------------------------------------------------------


def test_delete_drops_the_alias_policy(registry: MemoryRegistry, aliases: Aliases) -> None:
    aliases.create(FN, "live", "1")
    aliases.create(FN, "beta", "1")
    policy = Policy((PolicyStatement("s", {"Sid": "s"}),), "rev")
    with registry.transaction() as tx:
        record = tx.get_function(FN)
        assert record is not None
        tx.put_function(
            FunctionRecord(
                name=FN,
                created=record.created,
                policies={"": policy, "live": policy, "beta": policy},
            )
        )
    aliases.delete(FN, "live")
    with pytest.raises(LambdaError):
        aliases.get(FN, "live")
    with registry.transaction() as tx:
        record = tx.get_function(FN)
        assert record is not None
        assert set(record.policies) == {"", "beta"}
    assert [a.name for a in aliases.list(FN)] == ["beta"]


def test_list_sorted_and_filtered(aliases: Aliases) -> None:
    aliases.create(FN, "zeta", "2")
    aliases.create(FN, "alpha", "1", routing_weights={"2": 0.1})
    aliases.create(FN, "mid", LATEST)
    assert [a.name for a in aliases.list(FN)] == ["alpha", "mid", "zeta"]
    assert [a.name for a in aliases.list(FN, "2")] == ["zeta"]
    assert [a.name for a in aliases.list(FN, LATEST)] == ["mid"]
    assert aliases.list(FN, "9") == []
    with pytest.raises(LambdaError) as exc:
        aliases.list(FN, "live")
    assert exc.value.code == "ValidationException"


# HTTP --------------------------------------------------------------------------------------


def test_api_routes(aliases: Aliases) -> None:
    router = Router()
    AliasesApi(aliases, ARNS).register(router)
    app = LambdaApp(router)
    by_arn = f"/2015-03-31/functions/{quote(FN_ARN, safe='')}/aliases"

    async def scenario() -> None:
        created = await asgi.call(
            app,
            "POST",
            by_arn,
            body={
                "Name": "live",
                "FunctionVersion": "1",
                "Description": "prod",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}},
            },
        )
        assert created.status == 201, created.body
        shape = created.json()
        assert shape == {
            "AliasArn": f"{FN_ARN}:live",
            "Name": "live",
            "FunctionVersion": "1",
            "Description": "prod",
            "RevisionId": shape["RevisionId"],
            "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.25}},
        }

        again = await asgi.call(app, "POST", by_arn, body={"Name": "live", "FunctionVersion": "1"})
        assert again.status == 409
        assert again.headers["x-amzn-errortype"] == "ResourceConflictException"
        assert again.json() == {"Type": "User", "message": f"Alias already exists: {FN_ARN}:live"}

        missing = await asgi.call(app, "POST", by_arn, body={"Name": "x"})
        assert missing.status == 400
        assert missing.headers["x-amzn-errortype"] == "ValidationException"

        await asgi.call(app, "POST", by_arn, body={"Name": "beta", "FunctionVersion": LATEST})
        got = await asgi.call(app, "GET", f"/2015-03-31/functions/{FN}/aliases/live")
        assert got.status == 200
        assert got.json() == shape

        first = await asgi.call(app, "GET", by_arn, "MaxItems=1")
        assert [a["Name"] for a in first.json()["Aliases"]] == ["beta"]
        marker = first.json()["NextMarker"]
        second = await asgi.call(app, "GET", by_arn, f"MaxItems=1&Marker={quote(marker)}")
        assert [a["Name"] for a in second.json()["Aliases"]] == ["live"]
        assert "NextMarker" not in second.json()
        only_latest = await asgi.call(app, "GET", by_arn, f"FunctionVersion={quote(LATEST)}")
        assert [a["Name"] for a in only_latest.json()["Aliases"]] == ["beta"]

        stale = await asgi.call(
            app, "PUT", f"{by_arn}/live", body={"FunctionVersion": "2", "RevisionId": "stale"}
        )
        assert stale.status == 412
        assert stale.json()["message"] == REVISION_MISMATCH
        updated = await asgi.call(
            app,
            "PUT",
            f"{by_arn}/live",
            body={
                "FunctionVersion": "2",
                "RoutingConfig": {"AdditionalVersionWeights": {}},
                "RevisionId": shape["RevisionId"],
            },
        )
        assert updated.status == 200, updated.body
        assert updated.json()["FunctionVersion"] == "2"
        assert "RoutingConfig" not in updated.json()
        assert updated.json()["Description"] == "prod"

        deleted = await asgi.call(app, "DELETE", f"{by_arn}/beta")
        assert deleted.status == 204
        assert deleted.body == b""
        gone = await asgi.call(app, "GET", f"{by_arn}/beta")
        assert gone.status == 404
        assert gone.json() == {"Type": "User", "Message": f"Cannot find alias arn: {FN_ARN}:beta"}

        qualified = await asgi.call(app, "GET", f"/2015-03-31/functions/{FN}:live/aliases")
        assert qualified.status == 400
        assert qualified.headers["x-amzn-errortype"] == "InvalidParameterValueException"

    asyncio.run(scenario())
