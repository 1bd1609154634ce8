"""The recorded cases of versions and updates: a version's lifecycle (publish, nothing new
published when nothing changed, a version deleted) and an update that changes nothing
(still a new RevisionId, as on AWS). The calls are read off the recorded answers."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.replay import Call, Case, Create, Ref, Wait

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

_ALIAS = {"FunctionName": "{fn}", "Name": "revision_alias"}

VERSION_CASES += [
    Case(
        "TestLambdaRevisions::test_function_revisions_version_and_alias",
        [
            Create("create_function_response_rev1", overrides={"Environment": {"Variables": {}}}),
            _get("get_function_active_rev2"),
            Call(
                "publish_version_revision_exception",
                "publish_version",
                {"FunctionName": "{fn}", "RevisionId": "wrong"},
            ),
            Call(
                "publish_version_response_rev_v1",
                "publish_version",
                {
                    "FunctionName": "{fn}",
                    "RevisionId": Ref("get_function_active_rev2", "Configuration", "RevisionId"),
                },
            ),
            _get("get_function_published_version_rev_v2", Qualifier="1"),
            _get("get_function_latest_rev3"),
            Call(
                "create_alias_response_rev_a1",
                "create_alias",
                _ALIAS | {"FunctionVersion": "1"},
            ),
            _get("get_function_latest_rev4"),
            _get("get_function_published_version_rev_v3", Qualifier="1"),
            Call(
                "update_alias_revision_exception",
                "update_alias",
                _ALIAS | {"Description": "something changed", "RevisionId": "wrong"},
            ),
            Call(
                "update_alias_response_rev_a2",
                "update_alias",
                _ALIAS
                | {
                    "Description": "something changed",
                    "RevisionId": Ref("create_alias_response_rev_a1", "RevisionId"),
                },
            ),
        ],
    ),
]
