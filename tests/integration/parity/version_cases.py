"""The recorded cases of versions and updates: a version's lifecycle (publish, nothing new
published when nothing changed, a version deleted) and an update that changes nothing
(still a new RevisionId, as on AWS). The calls are read off the recorded answers."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.replay import Call, Case, Create, Wait

FN = {"FunctionName": "{fn}"}


def _update(key: str, description: str) -> list[Call | Wait]:
    params = {"FunctionName": "{fn}", "Description": description}
    return [Call(key, "update_function_configuration", params), Wait("function_updated_v2")]


def _get(key: str, op: str = "get_function", **params: Any) -> Call:
    return Call(key, op, {"FunctionName": "{fn}", **params})


VERSION_CASES = [
    Case(
        "TestLambdaVersions::test_version_lifecycle",
        [
            Create("create_response"),
            _get("get_function_result"),
            _get("list_versions_result", "list_versions_by_function"),
            *_update("first_update_response", "First version :)"),
            _get("first_update_get_function"),
            Call(
                "first_publish_response",
                "publish_version",
                {"FunctionName": "{fn}", "Description": "First version description :)"},
            ),
            _get("first_publish_get_function", Qualifier="1"),
            _get("first_publish_get_function_config", "get_function_configuration", Qualifier="1"),
            *_update("second_update_response", "Second version :))"),
            _get("first_publish_get_function_after_update", Qualifier="1"),
            Call("second_publish_response", "publish_version", FN),
            Call("third_publish_response", "publish_version", FN),
            _get("list_versions_result_after_third_publish", "list_versions_by_function"),
            Call(None, "delete_function", {"FunctionName": "{fn}", "Qualifier": "1"}),
            _get(
                "list_versions_result_after_deletion_of_first_version",
                "list_versions_by_function",
            ),
        ],
    ),
    Case(
        "TestLambdaFunction::test_redundant_updates",
        [
            Create("create_response", overrides={"Environment": {"Variables": {}}, "Timeout": 30}),
            *_update("first_update_result", "1st update description"),
            _get("get_fn_config_result", "get_function_configuration"),
            _get("get_fn_result"),
            *_update("redundant_update_result", "1st update description"),
            _get("get_fn_result_after_redundant_update"),
        ],
    ),
]
