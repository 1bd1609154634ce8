"""The recorded cases of layers: publishing (runtimes, architectures, content from S3), the
errors of reading and deleting what does not exist, and a function's references to layers
(versions of one layer, a missing one, too many, another region). The calls are read off the
recorded answers and what their messages name."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.replay import ZIP, ZIP2, Call, Case, Create, Ref, S3Put, Wait

_LAYER = "arn:aws:lambda:{region}:{account}:layer:{fn}"
_V1 = {"LayerName": "{fn}", "VersionNumber": 1}
_LIFECYCLE_LAYER = "arn:aws:lambda:{region}:{account}:layer:{fn}-layer"
_BUCKET = "parity-layer-{tag}"


def _publish(key: str, name: str = "{fn}", code: bytes = ZIP, **extra: Any) -> Call:
    params = {"LayerName": name, "Content": {"ZipFile": code}, **extra}
    return Call(key, "publish_layer_version", params)


def _get(key: str, layer: str, version: int) -> Call:
    # The negative and zero versions pass botocore only unvalidated (AWS's own check answers).
    params = {"LayerName": layer, "VersionNumber": version}
    return Call(key, "get_layer_version", params, validate=False)


def _delete(key: str, layer: str, version: int) -> Call:
    params = {"LayerName": layer, "VersionNumber": version}
    return Call(key, "delete_layer_version", params, validate=False)


def _layers(key: str, *layers: Any) -> Call:
    params = {"FunctionName": "{fn}", "Layers": list(layers)}
    return Call(key, "update_function_configuration", params)


_BOTH_ARCHES = ["arm64", "x86_64"]
_COMPATIBLE = [
    [
        "nodejs24.x", "nodejs22.x", "nodejs20.x", "nodejs18.x", "nodejs16.x", "nodejs14.x",
        "nodejs12.x", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10",
        "python3.9", "python3.8", "python3.7",
    ],
    [
        "java25", "java21", "java17", "java11", "java8.al2", "java8", "dotnet10", "dotnet8",
        "dotnet6", "dotnetcore3.1", "go1.x", "ruby3.4", "ruby3.3", "ruby3.2", "ruby2.7",
    ],
    ["provided.al2023", "provided.al2", "provided"],
]  # fmt: skip

LAYER_CASES = [
    *(
        Case(
            f"TestLambdaLayer::test_layer_compatibilities[runtimes{i}]",
            [
                _publish(
                    "publish_result",
                    CompatibleRuntimes=runtimes,
                    CompatibleArchitectures=_BOTH_ARCHES,
                )
            ],
        )
        for i, runtimes in enumerate(_COMPATIBLE)
    ),
    Case(
        "TestLambdaLayer::test_layer_s3_content",
        [
            S3Put(_BUCKET, "layer.zip", ZIP),
            Call(
                "publish_layer_result",
                "publish_layer_version",
                {"LayerName": "{fn}", "Content": {"S3Bucket": _BUCKET, "S3Key": "layer.zip"}},
            ),
        ],
    ),
    Case(
        "TestLambdaLayer::test_layer_exceptions",
        [
            _publish(
                "publish_result",
                CompatibleRuntimes=["python3.12"],
                CompatibleArchitectures=["x86_64"],
            ),
            Call(
                "list_layers_exc_compatibleruntime_invalid",
                "list_layers",
                {"CompatibleRuntime": "runtimedoesnotexist"},
                validate=False,
            ),
            Call(
                "list_layers_exc_compatiblearchitecture_invalid",
                "list_layers",
                {"CompatibleArchitecture": "archdoesnotexist"},
                validate=False,
            ),
            Call("list_nonexistent_layer", "list_layer_versions", {"LayerName": "{fn}-nope"}),
            _get("get_layer_version_exc_layer_doesnotexist", "{fn}-nope", 1),
            _get("get_layer_version_exc_layer_version_doesnotexist_negative", "{fn}", -1),
            _get("get_layer_version_exc_layer_version_doesnotexist_zero", "{fn}", 0),
            _get("get_layer_version_exc_layer_version_doesnotexist_2", "{fn}", 2),
            Call(
                "get_layer_version_by_arn_exc_invalidarn",
                "get_layer_version_by_arn",
                {"Arn": Ref("publish_result", "LayerArn")},
            ),
            Call(
                "get_layer_version_by_arn_exc_nonexistentversion",
                "get_layer_version_by_arn",
                {"Arn": _LAYER + ":2"},
            ),
            _delete("delete_nonexistent_response", "{fn}-nope", 1),
            _delete("delete_nonexistent_version_response", "{fn}", 2),
            _delete("delete_layer_response", "{fn}", 1),
            _delete("delete_layer_again_response", "{fn}", 1),
            _delete("delete_layer_version_exc_layerversion_invalid_version", "{fn}", -1),
            _publish(
                "publish_empty_result",
                "{fn}-empty",
                CompatibleRuntimes=[],
                CompatibleArchitectures=[],
            ),
            Call(
                "publish_layer_version_exc_invalid_runtime_arch",
                "publish_layer_version",
                {
                    "LayerName": "{fn}",
                    "Content": {"ZipFile": ZIP},
                    "CompatibleRuntimes": ["invalidruntime"],
                    "CompatibleArchitectures": ["invalidarch"],
                },
                validate=False,
            ),
            Call(
                "publish_layer_version_exc_partially_invalid_values",
                "publish_layer_version",
                {
                    "LayerName": "{fn}",
                    "Content": {"ZipFile": ZIP},
                    "CompatibleRuntimes": ["invalidruntime", "invalidruntime2", "nodejs20.x"],
                    "CompatibleArchitectures": ["invalidarch", "x86_64"],
                },
                validate=False,
            ),
        ],
    ),
    Case(
        "TestLambdaLayer::test_layer_function_exceptions",
        [
            *(
                _publish(key, code=ZIP2, CompatibleRuntimes=[], CompatibleArchitectures=["x86_64"])
                for key in ("publish_result", "publish_result_2", "publish_result_3")
            ),
            Create(
                None,
                overrides={"MemorySize": 128, "Timeout": 30, "Environment": {"Variables": {}}},
            ),
            Call("get_fn_result", "get_function", {"FunctionName": "{fn}"}),
            _layers("two_layer_versions_single_function_exc", _LAYER + ":1", _LAYER + ":2"),
            _layers(
                "three_layer_versions_single_function_exc",
                _LAYER + ":1",
                _LAYER + ":2",
                _LAYER + ":3",
            ),
            _layers(
                "two_identical_layer_versions_single_function_exc", _LAYER + ":1", _LAYER + ":1"
            ),
            _layers(
                "add_nonexistent_layer_exc",
                "arn:aws:lambda:{region}:{account}:layer:doesnotexist:1",
            ),
            _layers("add_nonexistent_layer_version_exc", _LAYER + ":9"),
            _layers("add_layer_arn_without_version_exc", _LAYER),
            Call(
                "create_function_with_layer_in_different_region",
                "create_function",
                {
                    "FunctionName": "{fn2}",
                    "Runtime": "python3.12",
                    "Handler": "handler.handler",
                    "Role": "{role}",
                    "Code": {"ZipFile": ZIP},
                    "Layers": ["arn:aws:lambda:eu-west-1:{account}:layer:{fn}:1"],
                },
            ),
        ],
    ),
    Case(
        "TestLambdaLayer::test_layer_function_quota_exception",
        [
            *(_publish(None, f"{{fn}}-{i}") for i in range(6)),  # type: ignore[arg-type]
            Call(
                "create_function_with_six_layers",
                "create_function",
                {
                    "FunctionName": "{fn}",
                    "Runtime": "python3.12",
                    "Handler": "handler.handler",
                    "Role": "{role}",
                    "Code": {"ZipFile": ZIP},
                    "Layers": [f"{_LAYER}-{i}:1" for i in range(6)],
                },
            ),
        ],
    ),
    Case(
        "TestLambdaLayer::test_layer_lifecycle",
        [
            Create(
                None,
                overrides={"MemorySize": 128, "Timeout": 30, "Environment": {"Variables": {}}},
            ),
            Call("get_fn_result", "get_function", {"FunctionName": "{fn}"}),
            Call("get_fn_config_result", "get_function_configuration", {"FunctionName": "{fn}"}),
            *(
                _publish(
                    key,
                    "{fn}-layer",
                    ZIP2,
                    CompatibleRuntimes=["python3.12"],
                    CompatibleArchitectures=["x86_64"],
                    Description="a layer",
                    LicenseInfo="MIT",
                )
                for key in ("publish_result", "publish_result_2")
            ),
            _layers("update_fn_config", _LIFECYCLE_LAYER + ":1"),
            Wait("function_updated_v2"),
            Call("get_fn_config", "get_function_configuration", {"FunctionName": "{fn}"}),
            _get("get_layer_ver_result", "{fn}-layer", 1),
            Call(
                "get_layer_by_arn_version",
                "get_layer_version_by_arn",
                {"Arn": _LIFECYCLE_LAYER + ":1"},
            ),
            Call(
                "list_layer_versions_predelete", "list_layer_versions", {"LayerName": "{fn}-layer"}
            ),
            _delete("delete_layer_1", "{fn}-layer", 1),
            Call(
                "get_fn_config_postdelete", "get_function_configuration", {"FunctionName": "{fn}"}
            ),
            _delete("delete_layer_2", "{fn}-layer", 2),
            Call(
                "list_layer_versions_postdelete", "list_layer_versions", {"LayerName": "{fn}-layer"}
            ),
            _publish(
                "publish_result_3",
                "{fn}-layer",
                ZIP2,
                CompatibleRuntimes=["python3.12"],
                CompatibleArchitectures=["x86_64"],
                Description="a layer",
                LicenseInfo="MIT",
            ),
        ],
    ),
]
