"""Layers: version numbering, filters, idempotent delete, shared code GC, and the HTTP routes."""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from hearth.api.code_urls import CodeUrlSigner
from hearth.api.http import LambdaApp, Router
from hearth.api.layers import LayersApi
from hearth.arns import ArnFormatter
from hearth.control.code_source import CodeSource
from hearth.control.functions import Functions
from hearth.control.layers import Layers
from hearth.errors import LambdaError
from hearth.models import LayerVersion
from hearth.store.code import CodeStore
from hearth.store.memory import MemoryRegistry
from tests.unit import asgi

T = TypeVar("T")

ARNS = ArnFormatter("us-east-1", "123456789012")
HOST = "localhost:9001"
FUNCTION_FIELDS = {
    "role": "arn:aws:iam::123456789012:role/lambda-role",
    "runtime": "python3.12",
    "handler": "app.handler",
}


def make_zip(content: str = "x = 1\n", name: str = "python/lib.py") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, content)
    return buf.getvalue()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class World:
    registry: MemoryRegistry
    code: CodeStore
    functions: Functions
    layers: Layers

    def layer_exists(self, name: str) -> bool:
        with self.registry.transaction() as tx:
            return tx.get_layer(name) is not None


def make_world(root: Path, **code_limits: int) -> World:
    registry = MemoryRegistry()
    code = CodeStore(root / "code", **code_limits)
    # Settling is irrelevant here: the scheduler drops the callbacks.
    functions = Functions(registry, code, ARNS, lambda delay, callback: None)
    return World(registry, code, functions, Layers(registry, ARNS, functions, code))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def numbers(versions: list[LayerVersion]) -> list[int]:
    return [v.version for v in versions]


# Control ---------------------------------------------------------------------------------


def test_version_numbers_are_never_reused(world: World) -> None:
    async def scenario() -> list[int]:
        first = await world.layers.publish("lib", make_zip("a"))
        second = await world.layers.publish("lib", make_zip("b"))
        await world.layers.delete("lib", 2)
        third = await world.layers.publish("lib", make_zip("c"))
        return [first.version, second.version, third.version]

    assert run(scenario()) == [1, 2, 3]
    assert numbers(world.layers.list_versions("lib")) == [3, 1]


def test_numbering_survives_deleting_every_version(world: World) -> None:
    async def scenario() -> int:
        await world.layers.publish("lib", make_zip())
        await world.layers.delete("lib", 1)
        return (await world.layers.publish("lib", make_zip())).version

    assert run(scenario()) == 2


def test_concurrent_publishes_get_distinct_numbers(world: World) -> None:
    async def scenario() -> list[LayerVersion]:
        return list(
            await asyncio.gather(*(world.layers.publish("lib", make_zip(str(i))) for i in range(4)))
        )

    assert sorted(v.version for v in run(scenario())) == [1, 2, 3, 4]


def test_publish_records_fields_and_code(world: World) -> None:
    zip_bytes = make_zip()
    version = run(
        world.layers.publish(
            "lib",
            zip_bytes,
            description="shared code",
            compatible_runtimes=["python3.12", "python3.13"],
            compatible_architectures=["arm64"],
            license_info="MIT",
        )
    )
    assert version.code_size == len(zip_bytes)
    assert world.code.has(version.code_sha256_hex)
    assert world.layers.get("lib", 1) == version
    assert version.compatible_runtimes == ("python3.12", "python3.13")
    assert version.license_info == "MIT"


def test_list_versions_newest_first_with_filters(world: World) -> None:
    async def scenario() -> None:
        specs = [
            (["python3.12"], ["x86_64"]),
            (["nodejs20.x"], ["arm64"]),
            (["python3.12", "python3.13"], ["arm64"]),
        ]
        for i, (runtimes, architectures) in enumerate(specs):
            await world.layers.publish(
                "lib",
                make_zip(str(i)),
                compatible_runtimes=runtimes,
                compatible_architectures=architectures,
            )

    run(scenario())
    layers = world.layers
    assert numbers(layers.list_versions("lib")) == [3, 2, 1]
    assert numbers(layers.list_versions("lib", runtime="python3.12")) == [3, 1]
    assert numbers(layers.list_versions("lib", architecture="arm64")) == [3, 2]
    assert numbers(layers.list_versions("lib", "python3.12", "x86_64")) == [1]
    assert layers.list_versions("lib", runtime="provided.al2023") == []
    # AWS lists an unknown layer's versions as an empty list, not a 404.
    assert layers.list_versions("nope") == []


def test_list_layers_reports_latest_matching_version(world: World) -> None:
    async def scenario() -> None:
        publish = world.layers.publish
        await publish("beta", make_zip("b1"), compatible_runtimes=["nodejs20.x"])
        await publish("alpha", make_zip("a1"), compatible_runtimes=["python3.12"])
        await publish("alpha", make_zip("a2"), compatible_runtimes=["python3.13"])
        await publish("gone", make_zip("g1"))
        await world.layers.delete("gone", 1)

    run(scenario())
    listed = world.layers.list_layers()
    assert [(r.name, v.version) for r, v in listed] == [("alpha", 2), ("beta", 1)]
    by_runtime = world.layers.list_layers(runtime="python3.12")
    assert [(r.name, v.version) for r, v in by_runtime] == [("alpha", 1)]
    assert world.layers.list_layers(architecture="arm64") == []
    assert world.layer_exists("gone")  # the record keeps the counter, but is not listed


def test_bad_filters_are_validation_errors(world: World) -> None:
    with pytest.raises(LambdaError) as caught:
        world.layers.list_versions("lib", runtime="cobol85")
    assert caught.value.code == "ValidationException"
    assert "'cobol85' at 'compatibleRuntime'" in caught.value.message
    with pytest.raises(LambdaError) as caught:
        world.layers.list_layers(architecture="sparc")
    assert caught.value.code == "ValidationException"


def test_get_missing_is_resource_not_found(world: World) -> None:
    run(world.layers.publish("lib", make_zip()))
    for name, version in (("lib", 2), ("nope", 1)):
        with pytest.raises(LambdaError) as caught:
            world.layers.get(name, version)
        assert caught.value.status == 404
        assert caught.value.code == "ResourceNotFoundException"
        assert caught.value.message == "The resource you requested does not exist."


def test_get_by_arn(world: World) -> None:
    published = run(world.layers.publish("lib", make_zip()))
    assert world.layers.get_by_arn(ARNS.layer_version("lib", 1)) == published
    with pytest.raises(LambdaError) as caught:
        world.layers.get_by_arn(ARNS.layer_version("lib", 7))
    assert caught.value.code == "ResourceNotFoundException"
    other_account = ArnFormatter("us-east-1", "999999999999").layer_version("lib", 1)
    with pytest.raises(LambdaError) as caught:
        world.layers.get_by_arn(other_account)
    assert caught.value.code == "ResourceNotFoundException"
    with pytest.raises(LambdaError) as caught:
        world.layers.get_by_arn(ARNS.layer("lib"))  # no version
    assert caught.value.code == "ValidationException"


def test_delete_is_idempotent(world: World) -> None:
    async def scenario() -> None:
        await world.layers.publish("lib", make_zip())
        await world.layers.delete("lib", 1)
        await world.layers.delete("lib", 1)
        await world.layers.delete("never-was", 5)

    run(scenario())
    with pytest.raises(LambdaError):
        world.layers.get("lib", 1)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"compatible_runtimes": ["python3.12"] * 16},
            "at 'compatibleRuntimes' failed to satisfy constraint: Member must have length "
            "less than or equal to 15",
        ),
        (
            {"compatible_runtimes": ["python3.12", "python3.99"]},
            "Value '[python3.12, python3.99]' at 'compatibleRuntimes' failed to satisfy "
            "constraint: Member must satisfy enum value set: [",
        ),
        (
            {"compatible_architectures": ["x86_64", "arm64", "x86_64"]},
            "at 'compatibleArchitectures' failed to satisfy constraint: Member must have "
            "length less than or equal to 2",
        ),
        (
            {"compatible_architectures": ["sparc"]},
            # As recorded on AWS: each member's constraints, nested.
            "Value '[sparc]' at 'compatibleArchitectures' failed to satisfy constraint: "
            "Member must satisfy constraint: [Member must satisfy enum value set: "
            "[x86_64, arm64], Member must not be null]",
        ),
        (
            {"description": "d" * 257},
            "at 'description' failed to satisfy constraint: Member must have length less "
            "than or equal to 256",
        ),
        (
            {"license_info": "l" * 513},
            "at 'licenseInfo' failed to satisfy constraint: Member must have length less "
            "than or equal to 512",
        ),
    ],
)
def test_publish_validation(world: World, kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(LambdaError) as caught:
        run(world.layers.publish("lib", make_zip(), **kwargs))
    assert caught.value.code == "ValidationException"
    assert expected in caught.value.message
    assert world.code.digests() == set()
    assert not world.layer_exists("lib")


def test_publish_validation_lists_every_violation(world: World) -> None:
    with pytest.raises(LambdaError) as caught:
        run(world.layers.publish("lib", make_zip(), description="d" * 300, license_info="l" * 600))
    assert caught.value.message.startswith("2 validation errors detected: ")


def test_limits_accept_the_maximum(world: World) -> None:
    version = run(
        world.layers.publish(
            "lib",
            make_zip(),
            description="d" * 256,
            license_info="l" * 512,
            compatible_architectures=["x86_64", "arm64"],
        )
    )
    assert version.version == 1


# Code and garbage collection ---------------------------------------------------------------


def test_deleting_the_last_version_collects_its_code(world: World) -> None:
    version = run(world.layers.publish("lib", make_zip()))
    run(world.layers.delete("lib", 1))
    assert not world.code.has(version.code_sha256_hex)
    assert world.code.digests() == set()


def test_code_shared_by_two_versions_stays_until_both_go(world: World) -> None:
    zip_bytes = make_zip()
    version = run(world.layers.publish("lib", zip_bytes))
    run(world.layers.publish("lib", zip_bytes))
    run(world.layers.delete("lib", 1))
    assert world.code.has(version.code_sha256_hex)
    run(world.layers.delete("lib", 2))
    assert not world.code.has(version.code_sha256_hex)


def test_code_a_function_uses_is_kept(world: World) -> None:
    zip_bytes = make_zip()

    async def scenario() -> str:
        await world.functions.create("fn", dict(FUNCTION_FIELDS), zip_bytes, publish=False, tags={})
        layer = await world.layers.publish("lib", zip_bytes)
        await world.layers.delete("lib", 1)
        return layer.code_sha256_hex

    digest = run(scenario())
    assert world.code.has(digest)


def test_code_of_an_attached_layer_is_kept(world: World) -> None:
    # As on AWS, a function keeps working after the layer version it uses is deleted.
    async def scenario() -> str:
        layer = await world.layers.publish("lib", make_zip("layer"))
        fields = {**FUNCTION_FIELDS, "layer_arns": [ARNS.layer_version("lib", 1)]}
        await world.functions.create("fn", fields, make_zip("fn"), publish=False, tags={})
        await world.layers.delete("lib", 1)
        return layer.code_sha256_hex

    digest = run(scenario())
    assert world.code.has(digest)


def test_bad_zip_leaves_nothing_behind(world: World) -> None:
    run(world.layers.publish("lib", make_zip("kept")))
    before = world.code.digests()
    with pytest.raises(LambdaError) as caught:
        run(world.layers.publish("lib", b"this is not a zip"))
    assert caught.value.status == 400
    with pytest.raises(LambdaError):
        run(world.layers.publish("fresh", b"PK\x03\x04broken"))
    assert world.code.digests() == before
    assert not world.layer_exists("fresh")
    # The failed publishes did not consume version numbers.
    assert run(world.layers.publish("lib", make_zip("next"))).version == 2


def test_zip_escaping_its_directory_leaves_nothing_behind(world: World) -> None:
    with pytest.raises(LambdaError) as caught:
        run(world.layers.publish("lib", make_zip(name="../../escape.py")))
    assert caught.value.status == 400
    assert world.code.digests() == set()
    assert not world.layer_exists("lib")


def test_oversized_zip_is_413_and_leaves_nothing_behind(tmp_path: Path) -> None:
    small = make_world(tmp_path, max_zipped=64)
    with pytest.raises(LambdaError) as caught:
        run(small.layers.publish("lib", make_zip("x" * 4096)))
    assert caught.value.status == 413
    assert caught.value.code == "RequestEntityTooLargeException"
    assert small.code.digests() == set()
    assert not small.layer_exists("lib")


def test_failed_transaction_collects_the_stored_blob(world: World) -> None:
    # The zip is fine and stored, then the registry write fails: the blob must not stay.
    class Boom(Exception):
        pass

    registry = world.registry
    real = registry.transaction
    calls = {"n": 0}

    def failing_transaction() -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise Boom
        return real()

    registry.transaction = failing_transaction  # type: ignore[method-assign]
    with pytest.raises(Boom):
        run(world.layers.publish("lib", make_zip()))
    registry.transaction = real  # type: ignore[method-assign]
    assert world.code.digests() == set()
    assert not world.layer_exists("lib")


# HTTP --------------------------------------------------------------------------------------


def make_app(world: World) -> LambdaApp:
    router = Router()
    LayersApi(world.layers, ARNS, CodeUrlSigner(b"k" * 32), CodeSource(None)).register(router)
    return LambdaApp(router)


def call(*args: Any, **kwargs: Any) -> Any:
    return asgi.call(*args, host=HOST, **kwargs)


def zip_content(data: bytes) -> dict[str, str]:
    return {"ZipFile": base64.b64encode(data).decode()}


def test_api_publish_get_list_delete(world: World) -> None:
    app = make_app(world)
    layer_arn = ARNS.layer("lib")
    zip_bytes = make_zip()

    async def scenario() -> None:
        reply = await call(
            app,
            "POST",
            "/2018-10-31/layers/lib/versions",
            body={
                "Content": zip_content(zip_bytes),
                "Description": "first",
                "CompatibleRuntimes": ["python3.12"],
                "CompatibleArchitectures": ["x86_64"],
                "LicenseInfo": "MIT",
            },
        )
        assert reply.status == 201, reply.body
        detail = reply.json()
        assert detail["LayerArn"] == layer_arn
        assert detail["LayerVersionArn"] == f"{layer_arn}:1"
        assert detail["Version"] == 1
        assert detail["Description"] == "first"
        assert detail["CompatibleRuntimes"] == ["python3.12"]
        assert detail["CompatibleArchitectures"] == ["x86_64"]
        assert detail["LicenseInfo"] == "MIT"
        assert detail["Content"]["CodeSize"] == len(zip_bytes)
        assert base64.b64decode(detail["Content"]["CodeSha256"]) == bytes.fromhex(
            world.layers.get("lib", 1).code_sha256_hex
        )
        assert detail["Content"]["Location"].startswith(f"http://{HOST}/_hearth/code/")
        assert "x-amzn-requestid" in reply.headers

        second = await call(
            app,
            "POST",
            f"/2018-10-31/layers/{quote(layer_arn, safe='')}/versions",
            body={"Content": zip_content(make_zip("2"))},
        )
        assert second.status == 201
        assert second.json()["Version"] == 2
        assert "CompatibleRuntimes" not in second.json()

        # GetLayerVersion, with the layer named by its (percent-encoded) ARN.
        got = await call(app, "GET", f"/2018-10-31/layers/{quote(layer_arn, safe='')}/versions/1")
        assert got.status == 200
        assert got.json()["LayerVersionArn"] == f"{layer_arn}:1"

        # GetLayerVersionByArn shares GET /layers with ListLayers.
        by_arn = await call(
            app, "GET", "/2018-10-31/layers", f"find=LayerVersion&Arn={quote(f'{layer_arn}:1')}"
        )
        assert by_arn.status == 200
        assert {k: v for k, v in by_arn.json().items() if k != "Content"} == {
            k: v for k, v in detail.items() if k != "Content"
        }

        listed = await call(app, "GET", "/2018-10-31/layers")
        assert listed.status == 200
        assert listed.json() == {
            "Layers": [
                {
                    "LayerName": "lib",
                    "LayerArn": layer_arn,
                    "LatestMatchingVersion": {
                        k: v for k, v in second.json().items() if k not in ("Content", "LayerArn")
                    },
                }
            ]
        }
        filtered = await call(app, "GET", "/2018-10-31/layers", "CompatibleRuntime=python3.12")
        assert filtered.json()["Layers"][0]["LatestMatchingVersion"]["Version"] == 1

        versions = await call(app, "GET", "/2018-10-31/layers/lib/versions")
        assert [v["Version"] for v in versions.json()["LayerVersions"]] == [2, 1]
        assert "NextMarker" not in versions.json()

        deleted = await call(app, "DELETE", "/2018-10-31/layers/lib/versions/2")
        assert deleted.status == 204
        assert deleted.body == b""
        again = await call(app, "DELETE", "/2018-10-31/layers/lib/versions/2")
        assert again.status == 204

        gone = await call(
            app, "GET", "/2018-10-31/layers", f"find=LayerVersion&Arn={quote(f'{layer_arn}:2')}"
        )
        assert gone.status == 404
        assert gone.headers["x-amzn-errortype"] == "ResourceNotFoundException"
        assert gone.json() == {
            "Type": "User",
            "Message": "The resource you requested does not exist.",
        }

    run(scenario())


def test_api_list_versions_pages(world: World) -> None:
    app = make_app(world)

    async def scenario() -> None:
        for i in range(3):
            await world.layers.publish("lib", make_zip(str(i)))
        seen: list[int] = []
        query = "MaxItems=2"
        while True:
            reply = await call(app, "GET", "/2018-10-31/layers/lib/versions", query)
            assert reply.status == 200
            page = reply.json()
            seen += [v["Version"] for v in page["LayerVersions"]]
            if "NextMarker" not in page:
                break
            query = f"MaxItems=2&Marker={quote(page['NextMarker'])}"
        assert seen == [3, 2, 1]

        too_many = await call(app, "GET", "/2018-10-31/layers", "MaxItems=51")
        assert too_many.status == 400
        assert too_many.headers["x-amzn-errortype"] == "ValidationException"

    run(scenario())


LAYERS = "/2018-10-31/layers"
VERSIONS = "/2018-10-31/layers/lib/versions"
NOT_A_ZIP = {"Content": zip_content(b"not a zip")}
S3_CONTENT = {"Content": {"S3Bucket": "b", "S3Key": "k"}}
RUNTIMES_NOT_A_LIST = {"Content": zip_content(make_zip()), "CompatibleRuntimes": "python3.12"}
UNKNOWN_RUNTIME = {"Content": zip_content(make_zip()), "CompatibleRuntimes": ["python3.99"]}
INVALID = (400, "ValidationException")
BAD_PARAMETER = (400, "InvalidParameterValueException")


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        ("GET", f"{VERSIONS}/abc", "", None, INVALID),
        # A number below 1, as recorded on AWS: "Layer Version Cannot be less than 1".
        ("DELETE", f"{VERSIONS}/-1", "", None, BAD_PARAMETER),
        ("GET", f"{VERSIONS}/0", "", None, BAD_PARAMETER),
        ("GET", f"{VERSIONS}/--1", "", None, INVALID),
        ("GET", f"{VERSIONS}/9", "", None, (404, "ResourceNotFoundException")),
        ("GET", "/2018-10-31/layers/bad%20name/versions", "", None, INVALID),
        ("GET", LAYERS, "find=LayerVersion", None, INVALID),
        ("GET", LAYERS, "find=LayerVersion&Arn=nope", None, INVALID),
        ("GET", VERSIONS, "CompatibleRuntime=cobol", None, INVALID),
        ("POST", VERSIONS, "", {}, INVALID),
        ("POST", VERSIONS, "", S3_CONTENT, BAD_PARAMETER),
        ("POST", VERSIONS, "", NOT_A_ZIP, BAD_PARAMETER),
        ("POST", VERSIONS, "", RUNTIMES_NOT_A_LIST, INVALID),
        ("POST", VERSIONS, "", UNKNOWN_RUNTIME, INVALID),
    ],
)
def test_api_errors(
    world: World,
    method: str,
    path: str,
    query: str,
    body: Any,
    expected: tuple[int, str],
) -> None:
    reply = run(call(make_app(world), method, path, query, body))
    assert (reply.status, reply.headers["x-amzn-errortype"]) == expected, reply.body
    assert world.code.digests() == set()
