"""Functions and versions through boto3 against a real `hearth serve`."""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, create_function, make_zip


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_create_answers_pending_then_becomes_active(client: Any, fn_name: str) -> None:
    code = make_zip()
    created = client.create_function(
        FunctionName=fn_name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] == "Pending"
    assert created["StateReasonCode"] == "Creating"
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert created["CodeSize"] == len(code)
    assert created["Version"] == "$LATEST"
    assert (created["Timeout"], created["MemorySize"]) == (3, 128)
    assert created["EphemeralStorage"] == {"Size": 512}
    assert created["Architectures"] == ["x86_64"]
    assert created["TracingConfig"] == {"Mode": "PassThrough"}
    assert created["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn_name}"}
    assert created["PackageType"] == "Zip"
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})
    client.get_waiter("function_exists").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})
    config = client.get_function_configuration(FunctionName=fn_name)
    assert config["State"] == "Active"
    assert config["LastUpdateStatus"] == "Successful"


def test_get_function_code_location_serves_the_zip(client: Any, fn_name: str) -> None:
    code = make_zip({"app.py": "def handler(e, c):\n    return 42\n", "lib/util.py": "X = 1\n"})
    create_function(client, fn_name, code, Tags={"team": "core"})
    got = client.get_function(FunctionName=fn_name)
    assert got["Code"]["RepositoryType"] == "S3"
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        assert response.read() == code
    assert got["Tags"] == {"team": "core"}
    tampered = got["Code"]["Location"].replace("Signature=", "Signature=0")
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(tampered)
    assert denied.value.code == 403
    denied.value.close()


def test_function_name_forms(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}"
    for form in (
        fn_name,
        arn,
        f"123456789012:function:{fn_name}",
        f"{fn_name}:$LATEST",
        f"{arn}:$LATEST",
    ):
        assert client.get_function_configuration(FunctionName=form)["FunctionName"] == fn_name
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=f"{fn_name}:$LATEST", Qualifier="1")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="does-not-exist")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:does-not-exist",
    )


def test_create_twice_conflicts(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    with pytest.raises(ClientError) as exc:
        create_function(client, fn_name)
    assert error_of(exc) == ("ResourceConflictException", 409, f"Function already exist: {fn_name}")


def test_update_code_with_revision_and_publish(client: Any, fn_name: str) -> None:
    created = create_function(client, fn_name)
    revision = client.get_function_configuration(FunctionName=fn_name)["RevisionId"]
    with pytest.raises(ClientError) as exc:
        client.update_function_code(FunctionName=fn_name, ZipFile=make_zip(), RevisionId="not-it")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)

    new_code = make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    updated = client.update_function_code(
        FunctionName=fn_name, ZipFile=new_code, RevisionId=revision
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["CodeSha256"] != created["CodeSha256"]
    assert updated["RevisionId"] != revision
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})

    published = client.update_function_code(
        FunctionName=fn_name, ZipFile=make_zip({"app.py": "# v3\n"}), Publish=True
    )
    assert published["Version"] == "1"
    assert published["FunctionArn"].endswith(f"{fn_name}:1")

    dry = client.update_function_code(
        FunctionName=fn_name, ZipFile=make_zip({"app.py": "# dry\n"}), DryRun=True
    )
    assert (
        client.get_function_configuration(FunctionName=fn_name)["CodeSha256"] != dry["CodeSha256"]
    )


def test_update_configuration(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    updated = client.update_function_configuration(
        FunctionName=fn_name,
        Timeout=30,
        MemorySize=512,
        Description="hello",
        Environment={"Variables": {"STAGE": "test"}},
        EphemeralStorage={"Size": 1024},
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})
    config = client.get_function_configuration(FunctionName=fn_name)
    assert (config["Timeout"], config["MemorySize"], config["Description"]) == (30, 512, "hello")
    assert config["Environment"] == {"Variables": {"STAGE": "test"}}
    assert config["EphemeralStorage"] == {"Size": 1024}
    assert config["Runtime"] == "python3.12"  # untouched fields stay


def test_publish_version_preconditions_and_listing(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    latest = client.get_function_configuration(FunctionName=fn_name)
    with pytest.raises(ClientError) as exc:
        client.publish_version(FunctionName=fn_name, CodeSha256="AAAA")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        client.publish_version(FunctionName=fn_name, RevisionId="stale")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)

    v1 = client.publish_version(
        FunctionName=fn_name, CodeSha256=latest["CodeSha256"], Description="first"
    )
    assert (v1["Version"], v1["Description"]) == ("1", "first")
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    again = client.publish_version(FunctionName=fn_name)
    assert again["Version"] == "1"  # nothing changed: AWS returns the existing version

    client.update_function_configuration(FunctionName=fn_name, Timeout=10)
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})
    assert client.publish_version(FunctionName=fn_name)["Version"] == "2"

    versions = client.list_versions_by_function(FunctionName=fn_name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert client.get_function_configuration(FunctionName=fn_name, Qualifier="1")["Timeout"] == 3
    assert client.get_function_configuration(FunctionName=f"{fn_name}:2")["Timeout"] == 10

    client.delete_function(FunctionName=fn_name, Qualifier="2")
    client.update_function_configuration(FunctionName=fn_name, Timeout=11)
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 0.2})
    assert (
        client.publish_version(FunctionName=fn_name)["Version"] == "3"
    )  # numbers are never reused
    with pytest.raises(ClientError) as exc:
        client.delete_function(FunctionName=fn_name, Qualifier="$LATEST")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


def test_list_functions_pages_and_all_versions(client: Any) -> None:
    names = [f"page-fn-{i:03d}" for i in range(57)]
    for name in names:
        client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip()},
        )
    first = client.list_functions()
    assert len(first["Functions"]) == 50
    assert "NextMarker" in first
    listed = [
        f["FunctionName"]
        for page in client.get_paginator("list_functions").paginate()
        for f in page["Functions"]
    ]
    assert set(names) <= set(listed)
    assert listed == sorted(listed)
    small = client.list_functions(MaxItems=5)
    assert len(small["Functions"]) == 5
    second = client.list_functions(MaxItems=5, Marker=small["NextMarker"])
    assert second["Functions"][0]["FunctionName"] > small["Functions"][-1]["FunctionName"]
    assert "State" not in small["Functions"][0]  # ListFunctions leaves state out, as AWS does

    client.publish_version(FunctionName=names[0])
    everything = [
        (f["FunctionName"], f["Version"])
        for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    ]
    assert (names[0], "$LATEST") in everything
    assert (names[0], "1") in everything
    for name in names:
        client.delete_function(FunctionName=name)


def test_delete_function(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    response = client.delete_function(FunctionName=fn_name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        client.delete_function(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
