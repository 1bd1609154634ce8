"""Every bad input gets AWS's error and leaves no trace."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROLE, Server, make_zip
from tests.integration.test_functions import error_of

UNZIP_ERROR = "Could not unzip uploaded file. Please check your file, then try to upload again."


def create(client: Any, name: str, code: bytes | None = None, **overrides: Any) -> Any:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": code if code is not None else make_zip()},
    }
    params.update(overrides)
    return client.create_function(**params)


def assert_no_trace(server: Server, client: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    code_dir = server.data_dir / "code"
    referenced = {
        f["CodeSha256"]
        for page in client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in page["Functions"]
    }
    blobs = list((code_dir / "blobs").glob("*")) if (code_dir / "blobs").exists() else []
    # No blob that no function references (layers are checked in their own tests).
    assert len(blobs) <= len(referenced) + len(list_layer_digests(client))
    leftovers = (
        [p for p in (code_dir / "trees").glob(".tmp*")] if (code_dir / "trees").exists() else []
    )
    assert leftovers == []


def list_layer_digests(client: Any) -> set[str]:
    digests = set()
    for layer in client.list_layers()["Layers"]:
        for version in client.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]:
            detail = client.get_layer_version_by_arn(Arn=version["LayerVersionArn"])
            digests.add(detail["Content"]["CodeSha256"])
    return digests


def zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("not-a-zip", b"this is not a zip file"),
        ("slip-dotdot", zip_with([("../evil.py", b"x")])),
        ("slip-nested", zip_with([("a/../../evil.py", b"x")])),
        ("slip-absolute", zip_with([("/etc/evil.py", b"x")])),
        ("slip-backslash", zip_with([("..\\evil.py", b"x")])),
        ("link-absolute", zip_with([("app.py", b"x"), symlink("passwd", "/etc/passwd")])),
        ("link-outside", zip_with([("app.py", b"x"), symlink("up", "../../..")])),
        ("link-chain", zip_with([symlink("y", "."), symlink("x", "y/..")])),
    ],
)
def test_hostile_zips_are_refused_and_leave_nothing(
    server: Server, client: Any, label: str, code: bytes
) -> None:
    name = f"hostile-{label}"
    with pytest.raises(ClientError) as exc:
        create(client, name, code)
    code_name, status, message = error_of(exc)
    assert (code_name, status) == ("InvalidParameterValueException", 400)
    assert message.startswith(UNZIP_ERROR)
    assert_no_trace(server, client, name)


def test_zip_over_50_mb_is_413(server: Server, raw_client: Any) -> None:
    big = zip_with([("blob.bin", os.urandom(50 * 1024 * 1024 + 1024))])
    with pytest.raises(ClientError) as exc:
        create(raw_client, "too-big-zipped", big)
    assert error_of(exc) == (
        "RequestEntityTooLargeException",
        413,
        "Zipped size must be smaller than 52428800 bytes",
    )
    assert_no_trace(server, raw_client, "too-big-zipped")


def test_zip_bomb_over_250_mb_unzipped(server: Server, client: Any) -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        chunk = bytes(1024 * 1024)
        for _ in range(260):
            entry.write(chunk)
    assert len(buffer.getvalue()) < 1024 * 1024  # a small zip...
    with pytest.raises(ClientError) as exc:
        create(client, "zip-bomb", buffer.getvalue())
    assert error_of(exc) == (
        "InvalidParameterValueException",
        400,
        "Unzipped size must be smaller than 262144000 bytes",
    )
    assert_no_trace(server, client, "zip-bomb")


@pytest.mark.parametrize(
    ("overrides", "code", "fragment"),
    [
        (
            {"FunctionName": "bad name!"},
            "ValidationException",
            "at 'functionName' failed to satisfy constraint",
        ),
        # AWS's handler refuses it, not its front end (recorded: function_name_too_long).
        (
            {"FunctionName": "x" * 65},
            "InvalidParameterValueException",
            "at 'functionName' failed to satisfy constraint: Member must have length less than "
            "or equal to 64",
        ),
        (
            {"Runtime": "python2.7"},
            "InvalidParameterValueException",
            "The runtime parameter of python2.7 is no longer supported",
        ),
        (
            {"Runtime": "java21"},
            "InvalidParameterValueException",
            "Supported runtimes: python3.10",
        ),
        (
            {"Timeout": 0},
            "ValidationException",
            "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            {"Timeout": 901},
            "ValidationException",
            "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
        ),
        ({"MemorySize": 127}, "ValidationException", "at 'memorySize'"),
        (
            {"MemorySize": 10241},
            "ValidationException",
            "Member must have value less than or equal to 10240",
        ),
        (
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "InvalidParameterValueException",
            "Reserved keys used in this request: AWS_REGION",
        ),
        (
            {"Environment": {"Variables": {"1BAD": "x"}}},
            "ValidationException",
            "Map keys must satisfy constraint",
        ),
        (
            {"Environment": {"Variables": {"BIG": "x" * 4100}}},
            "InvalidParameterValueException",
            "exceeded the 4KB limit",
        ),
        ({"Role": "not-a-role"}, "ValidationException", "at 'role'"),
        ({"Handler": "has space"}, "ValidationException", "at 'handler'"),
        ({"EphemeralStorage": {"Size": 100}}, "ValidationException", "ephemeralStorage.size"),
        (
            {"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:nope:1"]},
            "InvalidParameterValueException",
            "does not exist",
        ),
    ],
)
def test_invalid_configuration_is_refused(
    server: Server, raw_client: Any, overrides: dict[str, Any], code: str, fragment: str
) -> None:
    name = overrides.get("FunctionName", "invalid-config")
    with pytest.raises(ClientError) as exc:
        create(raw_client, name, **overrides)
    got_code, status, message = error_of(exc)
    assert (got_code, status) == (code, 400)
    assert fragment in message
    if isinstance(name, str) and len(name) <= 64 and name.replace("-", "").isalnum():
        assert_no_trace(server, raw_client, name)


def test_invalid_update_changes_nothing(raw_client: Any, client: Any) -> None:
    create(client, "update-guard")
    client.get_waiter("function_active_v2").wait(
        FunctionName="update-guard", WaiterConfig={"Delay": 0.2}
    )
    before = client.get_function_configuration(FunctionName="update-guard")
    with pytest.raises(ClientError):
        raw_client.update_function_configuration(
            FunctionName="update-guard", Timeout=5, MemorySize=1
        )
    with pytest.raises(ClientError):
        raw_client.update_function_code(FunctionName="update-guard", ZipFile=b"not a zip")
    after = client.get_function_configuration(FunctionName="update-guard")
    assert after == before | {"ResponseMetadata": after["ResponseMetadata"]}


def raw_request(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    url = urlparse(server.endpoint)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    # Answered (and closed) before the whole body was sent: read the answer, as urllib3 does.
    with contextlib.suppress(BrokenPipeError):
        connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return (
        response.status,
        {k.lower(): v for k, v in response.getheaders()},
        (json.loads(payload) if payload else None),
    )


def test_malformed_json(server: Server) -> None:
    status, headers, body = raw_request(server, "POST", "/2015-03-31/functions", b"{not json")
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert body["message"].startswith("Could not parse request body into json")
    assert headers["x-amzn-requestid"]


def test_unknown_route(server: Server) -> None:
    status, headers, _ = raw_request(server, "GET", "/2015-03-31/nothing-here")
    assert status == 404
    assert headers["x-amzn-errortype"] == "UnknownOperationException"
    status, headers, _ = raw_request(server, "PATCH", "/2015-03-31/functions")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")


def test_request_body_over_the_limit_is_413(server: Server) -> None:
    status, headers, body = raw_request(server, "POST", "/2015-03-31/functions", b"x" * 70_167_212)
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
    assert "Request must be smaller than 70167211 bytes" in body["message"]


def test_data_dir_holds_no_partial_files(server: Server) -> None:
    temp = [p for p in Path(server.data_dir).rglob("*") if ".tmp" in p.name]
    assert temp == []
