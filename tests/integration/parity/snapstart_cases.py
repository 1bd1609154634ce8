"""The recorded cases of SnapStart's settings: off by default on every runtime that offers it,
turned on by UpdateFunctionConfiguration, and an ApplyOn outside the enum refused. Runtime,
handler and memory come from the recorded answers (Create)."""

from __future__ import annotations

from tests.integration.parity.replay import ZIP, Call, Case, Create

FN = {"FunctionName": "{fn}"}
_RUNTIMES = (
    "java11",
    "java17",
    "java21",
    "java25",
    "python3.12",
    "python3.13",
    "dotnet8",
    "dotnet10",
)
_SNAP = "TestLambdaSnapStart"
_NOT_RUN = (
    "Hearth runs no Java or .NET runtime, so CreateFunction refuses them (README, divergences)"
)


def _divergence(runtime: str) -> str | None:
    return None if runtime.startswith("python") else _NOT_RUN


SNAPSTART_CASES = [
    *(
        Case(
            f"{_SNAP}::test_snapstart_lifecycle[{runtime}]",
            [
                Create("create_function_response"),
                Call("get_function_response_latest", "get_function", FN),
                Call(None, "publish_version", {"FunctionName": "{fn}", "Description": "version1"}),
                Call("get_function_response_version_1", "get_function", FN | {"Qualifier": "1"}),
            ],
            divergence=_divergence(runtime),
        )
        for runtime in _RUNTIMES
    ),
    *(
        Case(
            f"{_SNAP}::test_snapstart_update_function_configuration[{runtime}]",
            [
                Create("create_function_response"),
                Call(
                    "update_function_response",
                    "update_function_configuration",
                    FN | {"SnapStart": {"ApplyOn": "PublishedVersions"}},
                ),
            ],
            divergence=_divergence(runtime),
        )
        for runtime in _RUNTIMES
    ),
    Case(
        f"{_SNAP}::test_snapstart_exceptions",
        [
            Call(
                "create_function_invalid_snapstart_apply",
                "create_function",
                {
                    "FunctionName": "{fn}",
                    "Runtime": "java21",
                    "Handler": "echo.Handler",
                    "Role": "{role}",
                    "Code": {"ZipFile": ZIP},
                    "SnapStart": {"ApplyOn": "invalidOption"},
                },
                validate=False,
            ),
        ],
    ),
]
