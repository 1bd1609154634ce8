"""Aliases, permissions, tags, concurrency, account settings and layers through boto3."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import create_function, make_zip
from tests.integration.test_functions import error_of


def publish(client: Any, name: str, timeout: int) -> str:
    client.update_function_configuration(FunctionName=name, Timeout=timeout)
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
    return str(client.publish_version(FunctionName=name)["Version"])


def test_aliases_with_weighted_routing(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    v1, v2 = publish(client, fn_name, 4), publish(client, fn_name, 5)
    alias = client.create_alias(
        FunctionName=fn_name,
        Name="live",
        FunctionVersion=v1,
        Description="prod",
        RoutingConfig={"AdditionalVersionWeights": {v2: 0.25}},
    )
    assert alias["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert alias["AliasArn"].endswith(f":function:{fn_name}:live")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {v2: 0.25}}
    got = client.get_alias(FunctionName=fn_name, Name="live")
    assert got["FunctionVersion"] == v1

    with pytest.raises(ClientError) as exc:
        client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=v1)
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as exc:
        client.create_alias(FunctionName=fn_name, Name="nine", FunctionVersion="99")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.update_alias(
            FunctionName=fn_name, Name="live", FunctionVersion=v2, RevisionId="stale"
        )
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)

    updated = client.update_alias(
        FunctionName=fn_name,
        Name="live",
        FunctionVersion=v2,
        RoutingConfig={"AdditionalVersionWeights": {}},
        RevisionId=got["RevisionId"],
    )
    assert updated["FunctionVersion"] == v2
    assert "RoutingConfig" not in updated or not updated["RoutingConfig"].get(
        "AdditionalVersionWeights"
    )
    # The alias resolves to its version for reads.
    assert client.get_function_configuration(FunctionName=fn_name, Qualifier="live")["Timeout"] == 5

    client.create_alias(FunctionName=fn_name, Name="beta", FunctionVersion="$LATEST")
    names = [a["Name"] for a in client.list_aliases(FunctionName=fn_name)["Aliases"]]
    assert names == ["beta", "live"]
    assert [
        a["Name"] for a in client.list_aliases(FunctionName=fn_name, FunctionVersion=v2)["Aliases"]
    ] == ["live"]
    with pytest.raises(ClientError) as exc:
        client.delete_function(FunctionName=fn_name, Qualifier=v2)
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)
    assert (
        client.delete_alias(FunctionName=fn_name, Name="beta")["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    with pytest.raises(ClientError) as exc:
        client.get_alias(FunctionName=fn_name, Name="beta")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_permissions(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    added = client.add_permission(
        FunctionName=fn_name,
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount="123456789012",
    )
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "s3-invoke"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"] == {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}
    with pytest.raises(ClientError) as exc:
        client.add_permission(
            FunctionName=fn_name,
            StatementId="s3-invoke",
            Action="lambda:InvokeFunction",
            Principal="*",
        )
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)

    policy = client.get_policy(FunctionName=fn_name)
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == ["s3-invoke"]
    assert (
        client.remove_permission(FunctionName=fn_name, StatementId="s3-invoke")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    with pytest.raises(ClientError) as exc:
        client.get_policy(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.remove_permission(FunctionName=fn_name, StatementId="gone")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_tags(client: Any, fn_name: str) -> None:
    arn = create_function(client, fn_name, Tags={"a": "1"})["FunctionArn"]
    client.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
    assert client.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2", "c": "3"}
    client.untag_resource(Resource=arn, TagKeys=["a", "c"])
    assert client.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    with pytest.raises(ClientError) as exc:
        client.list_tags(Resource=arn.replace(fn_name, "missing-fn"))
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_concurrency_and_account_settings(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    before = client.get_account_settings()
    assert before["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert before["AccountLimit"]["CodeSizeZipped"] == 52428800
    assert before["AccountUsage"]["FunctionCount"] >= 1
    assert (
        client.get_function_concurrency(FunctionName=fn_name).get("ReservedConcurrentExecutions")
        is None
    )
    assert (
        client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=50)[
            "ReservedConcurrentExecutions"
        ]
        == 50
    )
    assert (
        client.get_function_concurrency(FunctionName=fn_name)["ReservedConcurrentExecutions"] == 50
    )
    assert client.get_function(FunctionName=fn_name)["Concurrency"] == {
        "ReservedConcurrentExecutions": 50
    }
    after = client.get_account_settings()
    assert (
        after["AccountLimit"]["UnreservedConcurrentExecutions"]
        == before["AccountLimit"]["UnreservedConcurrentExecutions"] - 50
    )
    with pytest.raises(ClientError) as exc:
        client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=901)
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    client.delete_function_concurrency(FunctionName=fn_name)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(
        FunctionName=fn_name
    )


def test_layers(client: Any, fn_name: str) -> None:
    content = make_zip({"python/helper.py": "VALUE = 1\n"})
    first = client.publish_layer_version(
        LayerName="shared-lib",
        Content={"ZipFile": content},
        CompatibleRuntimes=["python3.12"],
        Description="helpers",
        LicenseInfo="MIT",
    )
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["Version"] == 1
    assert first["LayerVersionArn"] == "arn:aws:lambda:us-east-1:123456789012:layer:shared-lib:1"
    with urllib.request.urlopen(first["Content"]["Location"]) as response:
        assert response.read() == content
    second = client.publish_layer_version(
        LayerName="shared-lib", Content={"ZipFile": make_zip({"python/x.py": ""})}
    )
    assert second["Version"] == 2
    versions = client.list_layer_versions(LayerName="shared-lib")["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    by_arn = client.get_layer_version_by_arn(Arn=first["LayerVersionArn"])
    assert by_arn["Description"] == "helpers"
    assert client.get_layer_version(LayerName="shared-lib", VersionNumber=1)["LicenseInfo"] == "MIT"
    layers = {layer["LayerName"]: layer for layer in client.list_layers()["Layers"]}
    assert layers["shared-lib"]["LatestMatchingVersion"]["Version"] == 2

    created = create_function(client, fn_name, Layers=[first["LayerVersionArn"]])
    assert created["Layers"] == [{"Arn": first["LayerVersionArn"], "CodeSize": len(content)}]

    client.delete_layer_version(LayerName="shared-lib", VersionNumber=2)
    with pytest.raises(ClientError) as exc:
        client.get_layer_version(LayerName="shared-lib", VersionNumber=2)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    third = client.publish_layer_version(
        LayerName="shared-lib", Content={"ZipFile": make_zip({"python/y.py": ""})}
    )
    assert third["Version"] == 3
