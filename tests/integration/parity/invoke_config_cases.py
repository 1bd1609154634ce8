"""The recorded case of event invoke config errors and overwrites
(`TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_exceptions`): names, ARNs,
shorthands and qualifiers that agree or not, destinations AWS refuses, Put replacing and
Update merging, and what is said of configs, functions and qualifiers that are not there.
The calls are read off the recorded answers."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.recorded import ACCOUNT, REGION
from tests.integration.parity.replay import Call, Case, Create, Ref

_MISSING_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:doesnotexist"
ALIAS = "eventinvokealias"


def _put(key: str | None, name: str = "{fn}", **params: Any) -> Call:
    return Call(key, "put_function_event_invoke_config", {"FunctionName": name, **params})


def _call(key: str | None, op: str, name: str = "{fn}", **params: Any) -> Call:
    return Call(key, f"{op}_function_event_invoke_config", {"FunctionName": name, **params})


def _on(kind: str, destination: str | None) -> dict[str, Any]:
    target = {} if destination is None else {"Destination": destination}
    return {"DestinationConfig": {kind: target}}


_ALIAS_ARN = Ref("fn_alias_result", "AliasArn")
ONE: dict[str, Any] = {"MaximumRetryAttempts": 1}

INVOKE_CONFIG_CASES = [
    Case(
        "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_lifecycle",
        [
            Create(None, overrides={"Environment": {"Variables": {}}, "Timeout": 30}),
            _put("put_invokeconfig_retries_0", MaximumRetryAttempts=0),
            _put("put_invokeconfig_eventage_60", MaximumEventAgeInSeconds=60),
            _call("update_invokeconfig_eventage_nochange", "update", MaximumEventAgeInSeconds=60),
            _call("update_invokeconfig_retries", "update", MaximumRetryAttempts=1),
            _call("get_invokeconfig", "get"),
            _call("get_invokeconfig_latest", "get", Qualifier="$LATEST"),
            Call(
                "list_single_invokeconfig",
                "list_function_event_invoke_configs",
                {"FunctionName": "{fn}"},
            ),
            Call("publish_version_result", "publish_version", {"FunctionName": "{fn}"}),
            _call("get_invokeconfig_postpublish", "get", Qualifier="1"),
            _put("put_published_invokeconfig", Qualifier="1", MaximumEventAgeInSeconds=120),
            _call("get_published_invokeconfig", "get", Qualifier="1"),
            _call(None, "delete"),
            Call(
                "list_paging_nolimit_postdelete",
                "list_function_event_invoke_configs",
                {"FunctionName": "{fn}"},
            ),
        ],
    ),
    Case(
        "TestLambdaEventInvokeConfig::test_lambda_eventinvokeconfig_exceptions",
        [
            Create(None, overrides={"Environment": {"Variables": {}}, "Timeout": 30}),
            Create(None, fn="{fn2}"),
            Call("fn_version_result", "publish_version", {"FunctionName": "{fn}"}),
            Call(
                "fn_alias_result",
                "create_alias",
                {"FunctionName": "{fn}", "Name": ALIAS, "FunctionVersion": "1"},
            ),
            _put("put_functionname_name_notfound", "doesnotexist", **ONE),
            _put("put_functionname_arn_notfound", _MISSING_ARN, **ONE),
            _put("put_functionname_nootherargs"),
            _put("put_destination_lambda_doesntexist", **_on("OnSuccess", _MISSING_ARN)),
            _put("put_destination_recursive", **_on("OnSuccess", "{arn}")),
            _put(
                "put_destination_other_lambda",
                **_on("OnSuccess", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{fn2}}"),
            ),
            _put(
                "put_destination_invalid_service_arn",
                **_on("OnSuccess", f"arn:aws:iam:{REGION}:{ACCOUNT}:function:{{fn}}"),
            ),
            _put("put_destination_success_no_destination_arn", **_on("OnSuccess", None)),
            _put("put_destination_failure_no_destination_arn", **_on("OnFailure", None)),
            _put(
                "put_destination_invalid_arn_pattern",
                **_on("OnFailure", f"arn:aws:_-/!lambda:{REGION}:{ACCOUNT}:function:{{fn}}"),
            ),
            _put("put_destination_latest", **ONE),
            _put("put_destination_latest_explicit_qualifier", Qualifier="$LATEST", **ONE),
            _put("put_destination_version", Qualifier="1", **ONE),
            _put("put_alias_functionname_qualifier", Qualifier=ALIAS, **ONE),
            _put("put_alias_doesnotexist", Qualifier="doesnotexist", **ONE),
            Call(
                "put_alias_qualifiedarn",
                "put_function_event_invoke_config",
                {"FunctionName": _ALIAS_ARN, **ONE},
            ),
            Call(
                "put_alias_qualifiedarn_qualifier",
                "put_function_event_invoke_config",
                {"FunctionName": _ALIAS_ARN, "Qualifier": ALIAS, **ONE},
            ),
            Call(
                "put_alias_qualifiedarn_qualifierconflict",
                "put_function_event_invoke_config",
                {"FunctionName": _ALIAS_ARN, "Qualifier": "1", **ONE},
            ),
            _put("put_alias_shorthand", f"{{fn}}:{ALIAS}", **ONE),
            _put("put_alias_shorthand_qualifier", f"{{fn}}:{ALIAS}", Qualifier=ALIAS, **ONE),
            _put("put_alias_shorthand_qualifierconflict", f"{{fn}}:{ALIAS}", Qualifier="1", **ONE),
            _put("put_version_shorthand", "{fn}:1", **ONE),
            _put("put_shorthand_qualifier_match", "{fn}:$LATEST", Qualifier="$LATEST", **ONE),
            _put("put_shorthand_qualifier_mismatch_1", "{fn}:$LATEST", Qualifier="1", **ONE),
            _put("put_shorthand_qualifier_mismatch_2", "{fn}:1", Qualifier="$LATEST", **ONE),
            _put("put_shorthand_qualifier_mismatch_3", "{fn}:1", Qualifier="2", **ONE),
            _put(
                "put_maxevent_maxvalue_result",
                MaximumRetryAttempts=2,
                MaximumEventAgeInSeconds=21600,
            ),
            _put("put_pre_overwrite", MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60),
            _put("put_post_overwrite", MaximumRetryAttempts=0),
            _put("second_overwrite_existing_response", MaximumRetryAttempts=0),
            _call("get_post_overwrite", "get"),
            _put("pre_update_response", MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60),
            _call("update_response", "update", MaximumRetryAttempts=0),
            _call("update_response_existing", "update", MaximumRetryAttempts=0),
            Call("list_configs", "list_function_event_invoke_configs", {"FunctionName": "{fn}"}),
            _call("delete_latest", "delete"),
            _call("delete_version", "delete", Qualifier="1"),
            _call("delete_alias", "delete", Qualifier=ALIAS),
            Call(
                "list_configs_postdelete",
                "list_function_event_invoke_configs",
                {"FunctionName": "{fn}"},
            ),
            _call("delete_function_not_found", "delete"),
            _call("delete_function_doesnotexist", "delete", "doesnotexist"),
            Call(
                "list_function_doesnotexist",
                "list_function_event_invoke_configs",
                {"FunctionName": "doesnotexist"},
            ),
            _call("get_function_doesnotexist", "get", "doesnotexist"),
            _call("get_qualifier_doesnotexist", "get", Qualifier="doesnotexist"),
            _call(
                "update_eventinvokeconfig_function_doesnotexist", "update", "doesnotexist", **ONE
            ),
            _call("get_eventinvokeconfig_doesnotexist", "get", Qualifier=ALIAS),
            _call(
                "update_eventinvokeconfig_config_doesnotexist_with_qualifier",
                "update",
                Qualifier=ALIAS,
                **ONE,
            ),
            _call(
                "update_eventinvokeconfig_config_doesnotexist_without_qualifier", "update", **ONE
            ),
        ],
    ),
]
