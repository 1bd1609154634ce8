"""The recorded cases Hearth replays, as data: the calls each recording made, in order.

The calls are read off the recorded answers (what AWS echoed, what its messages name);
`Create` takes CreateFunction's arguments from the recorded answer itself.
"""

from __future__ import annotations

from tests.integration.parity.invoke_config_cases import INVOKE_CONFIG_CASES
from tests.integration.parity.layer_cases import LAYER_CASES
from tests.integration.parity.logging_cases import LOGGING_CASES
from tests.integration.parity.mapping_cases import MAPPING_CASES
from tests.integration.parity.more_cases import MORE_CASES
from tests.integration.parity.name_cases import NAME_CASES
from tests.integration.parity.replay import ZIP, ZIP2, Call, Case, Create, Ref, Wait
from tests.integration.parity.s3_code_cases import S3_CODE_CASES
from tests.integration.parity.signing_cases import SIGNING_CASES
from tests.integration.parity.snapstart_cases import SNAPSTART_CASES
from tests.integration.parity.url_cases import URL_CASES
from tests.integration.parity.version_cases import VERSION_CASES

NO_SUCH = "parity-doesnotexist"
WRONG_REGION_ARN = "arn:aws:lambda:ap-southeast-1:111111111111:function:{fn}"
FN = {"FunctionName": "{fn}"}


def _get_ops_on_missing(op: str, key: str, name: str, **extra: object) -> Case:
    return Case(name, [Call(key, op, {"FunctionName": NO_SUCH, **extra})])


_NONEXISTING_FN = [
    _get_ops_on_missing(
        op, "not_found_exception", f"TestLambdaFunction::test_ops_on_nonexisting_fn[{op}]"
    )
    for op in (
        "delete_function",
        "get_function",
        "get_function_configuration",
        "get_function_code_signing_config",
        "get_function_event_invoke_config",
        "get_function_concurrency",
        "get_function_url_config",
    )
]

_WRONG_REGION = [
    Case(
        f"TestLambdaFunction::test_get_function_wrong_region[{op}]",
        [Create(None), Call("wrong_region_exception", op, {"FunctionName": WRONG_REGION_ARN})],
    )
    for op in (
        "get_function",
        "get_function_configuration",
        "get_function_code_signing_config",
        "get_function_event_invoke_config",
        "get_function_concurrency",
        "get_function_url_config",
        "delete_function",
        "invoke",
    )
]

_QUALIFIER_MISMATCH = [
    Case(
        f"TestLambdaFunction::test_ops_with_arn_qualifier_mismatch[{op}]",
        [
            Call(
                "not_match_exception",
                op,
                {
                    "FunctionName": "arn:aws:lambda:{region}:{account}:function:some-function:$LATEST",
                    "Qualifier": "1",
                },
            ),
            Call(
                "match_exception",
                op,
                {
                    "FunctionName": "arn:aws:lambda:{region}:{account}:function:some-function:$LATEST",
                    "Qualifier": "$LATEST",
                },
            ),
        ],
    )
    for op in ("delete_function", "get_function", "get_function_configuration")
]

_NONEXISTING_VERSION = [
    Case(
        f"TestLambdaFunction::test_ops_on_nonexisting_version[{op}]",
        [
            Create(None),
            Call("version_not_found_exception", op, {"FunctionName": "{fn}", "Qualifier": "1221"}),
        ],
    )
    for op in ("get_function", "get_function_configuration", "get_function_event_invoke_config")
]

_FUNCTIONS = [
    Case(
        "TestLambdaFunction::test_function_lifecycle",
        [
            Create("create_response", wait=False),
            Wait(),
            Call("get_function_response", "get_function", FN),
            Call(
                "update_func_conf_response",
                "update_function_configuration",
                {
                    "FunctionName": "{fn}",
                    "Runtime": "python3.11",
                    "Description": "Changed-Description",
                    "MemorySize": 512,
                    "Timeout": 10,
                    "Environment": {"Variables": {"ENV_A": "a"}},
                },
            ),
            Wait("function_updated_v2"),
            Call("get_function_response_postupdate", "get_function", FN),
            Call(
                "update_code_response",
                "update_function_code",
                {"FunctionName": "{fn}", "ZipFile": ZIP2},
            ),
            Wait("function_updated_v2"),
            Call("get_function_response_postcodeupdate", "get_function", FN),
            Call("delete_response", "delete_function", FN),
            Call("delete_postdelete", "delete_function", FN),
        ],
    ),
    Case(
        "TestLambdaFunction::test_delete_on_nonexisting_version",
        [
            Call(
                "delete_function_response_non_existent",
                "delete_function",
                {"FunctionName": NO_SUCH},
            ),
            Call(
                "delete_function_response_non_existent_with_qualifier",
                "delete_function",
                {"FunctionName": NO_SUCH, "Qualifier": "1"},
            ),
        ],
    ),
    Case(
        "TestLambdaFunction::test_lambda_code_location_zipfile",
        [
            Create("create-response-zip-file"),
            Call("get-function-response", "get_function", FN),
            Call(
                "update-function-response",
                "update_function_code",
                {"FunctionName": "{fn}", "ZipFile": ZIP2},
            ),
            Call("get-function-response-updated", "get_function", FN),
        ],
    ),
    Case(
        "TestLambdaFunction::test_create_lambda_exceptions",
        [
            Create("invalid_role_arn_exc", overrides={"Role": "r1"}),
            Create("invalid_runtime_exc", overrides={"Runtime": "non-existent-runtime"}),
            Create("uppercase_runtime_exc", overrides={"Runtime": "PYTHON3.9"}),
            Create("empty_architectures", overrides={"Architectures": []}),
            Create("multiple_architectures", overrides={"Architectures": ["x86_64", "arm64"]}),
            Create("uppercase_architecture", overrides={"Architectures": ["X86_64"]}),
            Create("invalid_zip_exc", overrides={"Code": {"ZipFile": b"this is not a zip file"}}),
        ],
    ),
    Case(
        "TestLambdaFunction::test_update_lambda_exceptions",
        [
            Create(None),
            Call(
                "invalid_role_arn_exc",
                "update_function_configuration",
                {"FunctionName": "{fn}", "Role": "r1"},
            ),
            Call(
                "invalid_runtime_exc",
                "update_function_configuration",
                {"FunctionName": "{fn}", "Runtime": "non-existent-runtime"},
            ),
            Call(
                "uppercase_runtime_exc",
                "update_function_configuration",
                {"FunctionName": "{fn}", "Runtime": "PYTHON3.9"},
            ),
        ],
    ),
]

_VERSIONS = [
    Case(
        "TestLambdaVersions::test_publish_with_wrong_revisionid",
        [
            Create("create_response", overrides={"Runtime": "python3.12"}),
            Call("get_fn_response", "get_function", FN),
            Call(
                "publish_wrong_revisionid_exc",
                "publish_version",
                {"FunctionName": "{fn}", "RevisionId": "abc"},
            ),
            Call(
                "publish_result",
                "publish_version",
                {
                    "FunctionName": "{fn}",
                    "RevisionId": Ref("get_fn_response", "Configuration", "RevisionId"),
                },
            ),
        ],
    ),
    Case(
        "TestLambdaVersions::test_publish_with_wrong_sha256",
        [
            Create("create_response"),
            Call("get_fn_response", "get_function", FN),
            Call(
                "publish_wrong_sha256_exc",
                "publish_version",
                {"FunctionName": "{fn}", "CodeSha256": "somenonexistentsha256"},
            ),
            Call(
                "publish_result",
                "publish_version",
                {
                    "FunctionName": "{fn}",
                    "CodeSha256": Ref("get_fn_response", "Configuration", "CodeSha256"),
                },
            ),
        ],
    ),
    Case(
        "TestLambdaVersions::test_publish_version_on_create",
        [
            Create("create_response"),
            Call("get_function_result", "get_function", FN),
            Call(
                "get_function_version_result",
                "get_function",
                {"FunctionName": "{fn}", "Qualifier": "1"},
            ),
            Call(
                "get_function_latest_result",
                "get_function",
                {"FunctionName": "{fn}", "Qualifier": "$LATEST"},
            ),
            Call("list_versions_result", "list_versions_by_function", FN),
            Call("repeated_publish_response", "publish_version", FN),
            Call("list_versions_result_after_publish", "list_versions_by_function", FN),
        ],
    ),
]

_ALIASES = [
    Case(
        "TestLambdaAlias::test_non_existent_alias_deletion",
        [
            Create("create_response"),
            Call(
                "delete_alias_response",
                "delete_alias",
                {"FunctionName": "{fn}", "Name": "non-existent"},
            ),
        ],
    ),
    Case(
        "TestLambdaAlias::test_non_existent_alias_update",
        [
            Create("create_response"),
            Call(
                "update_alias_response",
                "update_alias",
                {"FunctionName": "{fn}", "Name": "non-existent", "Description": "new-desc"},
            ),
        ],
    ),
]

_REVISIONS = [
    Case(
        "TestLambdaRevisions::test_function_revisions_basic",
        [
            Create("create_function_response_rev1", wait=False),
            Wait(),
            Call("get_function_response_rev2", "get_function", FN),
            Call(
                "update_function_revision_exception",
                "update_function_code",
                {"FunctionName": "{fn}", "ZipFile": ZIP, "RevisionId": "wrong"},
            ),
            Call(
                "update_function_code_response_rev3",
                "update_function_code",
                {
                    "FunctionName": "{fn}",
                    "ZipFile": ZIP,
                    "RevisionId": Ref("get_function_response_rev2", "Configuration", "RevisionId"),
                },
            ),
            Wait("function_updated_v2"),
            Call("get_function_response_rev4", "get_function", FN),
            Call(
                "update_function_configuration_revision_exception",
                "update_function_configuration",
                {"FunctionName": "{fn}", "Runtime": "python3.8", "RevisionId": "wrong"},
            ),
            Call(
                "update_function_configuration_response_rev5",
                "update_function_configuration",
                {
                    "FunctionName": "{fn}",
                    "Runtime": "python3.8",
                    "RevisionId": Ref("get_function_response_rev4", "Configuration", "RevisionId"),
                },
            ),
            Wait("function_updated_v2"),
            Call("get_function_response_rev6", "get_function", FN),
        ],
    ),
    Case(
        "TestLambdaRevisions::test_function_revisions_permissions",
        [
            Create(None),
            Call(
                "add_permission_revision_exception",
                "add_permission",
                {
                    "FunctionName": "{fn}",
                    "StatementId": "s1",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "s3.amazonaws.com",
                    "RevisionId": "wrong",
                },
            ),
        ],
    ),
]

_CONCURRENCY = [
    Case(
        "TestLambdaReservedConcurrency::test_function_concurrency_exceptions",
        [
            Create(None),
            Call(
                "put_function_concurrency_with_function_name_doesnotexist",
                "put_function_concurrency",
                {"FunctionName": "doesnotexist", "ReservedConcurrentExecutions": 1},
            ),
            Call(
                "put_function_concurrency_with_function_name_doesnotexist_and_invalid_concurrency",
                "put_function_concurrency",
                {"FunctionName": "doesnotexist", "ReservedConcurrentExecutions": 2},
            ),
            Call(
                "put_function_concurrency_with_qualified_arn",
                "put_function_concurrency",
                {"FunctionName": "{arn}:1", "ReservedConcurrentExecutions": 1},
            ),
        ],
    ),
    Case(
        "TestLambdaReservedConcurrency::test_function_concurrency",
        [
            Create(None),
            Call(
                "put_function_concurrency_with_reserved_0",
                "put_function_concurrency",
                {"FunctionName": "{fn}", "ReservedConcurrentExecutions": 0},
            ),
            Call(
                "put_function_concurrency_with_reserved_1",
                "put_function_concurrency",
                {"FunctionName": "{fn}", "ReservedConcurrentExecutions": 1},
            ),
            Call("get_function_concurrency", "get_function_concurrency", FN),
            Call("delete_response", "delete_function_concurrency", FN),
            Call("get_function_concurrency_after_delete", "get_function_concurrency", FN),
        ],
    ),
]

_RECURSION = [
    Case(
        "TestLambdaRecursion::test_put_function_recursion_config_allow",
        [
            Create(None),
            Call(
                "put_recursion_config_response",
                "put_function_recursion_config",
                {"FunctionName": "{fn}", "RecursiveLoop": "Allow"},
            ),
            Call("get_recursion_config_response", "get_function_recursion_config", FN),
        ],
    ),
    Case(
        "TestLambdaRecursion::test_put_function_recursion_config_default_terminate",
        [
            Create(None),
            Call("get_recursion_default_terminate_response", "get_function_recursion_config", FN),
        ],
    ),
]

_PERMISSIONS = [
    Case(
        "TestLambdaPermissions::test_remove_multi_permissions",
        [
            Create(None),
            Call(
                "add_permission_1",
                "add_permission",
                {
                    "FunctionName": "{fn}",
                    "StatementId": "s3",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "s3.amazonaws.com",
                },
            ),
            Call(
                "add_permission_2",
                "add_permission",
                {
                    "FunctionName": "{fn}",
                    "StatementId": "sqs",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "sqs.amazonaws.com",
                    "SourceArn": "arn:aws:s3:::parity-bucket-{tag}",
                },
            ),
            Call("policy_after_2_add", "get_policy", FN),
            Call(
                "remove_permission_exception_nonexisting_sid",
                "remove_permission",
                {"FunctionName": "{fn}", "StatementId": "non-existent"},
            ),
            Call(
                "remove_permission_2",
                "remove_permission",
                {"FunctionName": "{fn}", "StatementId": "sqs"},
            ),
            Call("policy_after_removal", "get_policy", FN),
            Call("policy_after_removal_attempt", "get_policy", FN),
            Call(
                "remove_permission_1",
                "remove_permission",
                {"FunctionName": "{fn}", "StatementId": "s3"},
            ),
            Call("get_policy_exception_removed_all", "get_policy", FN),
        ],
    ),
]

_SIZE_LIMITS = [
    Case(
        "TestLambdaSizeLimits::test_large_environment_variables_fails",
        [
            Create(
                "failed_create_fn_result",
                overrides={"Environment": {"Variables": {"LARGE_VAR": "x" * 4081}}},
            )
        ],
    ),
    Case(
        "TestLambdaSizeLimits::test_lambda_envvars_near_limit_succeeds",
        [Create("successful_create_fn_result", wait=False)],
    ),
]

_LAYER = {"LayerName": "{fn}"}
_LAYER_V1 = {"LayerName": "{fn}", "VersionNumber": 1}
_PUBLISH_LAYER = Call(
    "publish_result",
    "publish_layer_version",
    {
        "LayerName": "{fn}",
        "Content": {"ZipFile": ZIP},
        "CompatibleRuntimes": ["python3.12"],
        "CompatibleArchitectures": ["x86_64"],
    },
)


def _layer_permission(key: str, sid: str, **extra: object) -> Call:
    params = {**_LAYER_V1, "StatementId": sid, "Action": "lambda:GetLayerVersion"}
    return Call(key, "add_layer_version_permission", {**params, "Principal": "*", **extra})


_LAYERS = [
    Case(
        "TestLambdaLayer::test_layer_policy_lifecycle",
        [
            _PUBLISH_LAYER,
            _layer_permission("add_policy_s1", "s1"),
            Call("get_layer_version_policy", "get_layer_version_policy", _LAYER_V1),
            _layer_permission("add_policy_s2", "s2"),
            Call("get_layer_version_policy_postadd2", "get_layer_version_policy", _LAYER_V1),
            Call(
                "remove_s2",
                "remove_layer_version_permission",
                {**_LAYER_V1, "StatementId": "s2"},
            ),
            Call("get_layer_version_policy_postdeletes2", "get_layer_version_policy", _LAYER_V1),
        ],
    ),
    Case(
        "TestLambdaLayer::test_layer_policy_exceptions",
        [
            _PUBLISH_LAYER,
            Call("layer_permission_nopolicy_get", "get_layer_version_policy", _LAYER_V1),
            _layer_permission("add_layer_permission_result", "s1"),
            Call(
                "layer_permission_action_invalid",
                "add_layer_version_permission",
                {**_LAYER_V1, "StatementId": "s2", "Action": "*", "Principal": "*"},
            ),
            _layer_permission("layer_permission_duplicate_statement", "s1"),
            _layer_permission("layer_permission_wrong_revision", "s2", RevisionId="wrong"),
            *(
                call
                for layer, number, suffix in (
                    ("{fn}-doesnotexist", 1, "layername_doesnotexist"),
                    ("{fn}", 2, "layerversion_doesnotexist"),
                )
                for call in (
                    Call(
                        f"layer_permission_{suffix}_add",
                        "add_layer_version_permission",
                        {
                            "LayerName": layer,
                            "VersionNumber": number,
                            "StatementId": "s2",
                            "Action": "lambda:GetLayerVersion",
                            "Principal": "*",
                        },
                    ),
                    Call(
                        f"layer_permission_{suffix}_get",
                        "get_layer_version_policy",
                        {"LayerName": layer, "VersionNumber": number},
                    ),
                    Call(
                        f"layer_permission_{suffix}_remove",
                        "remove_layer_version_permission",
                        {"LayerName": layer, "VersionNumber": number, "StatementId": "s1"},
                    ),
                )
            ),
            Call(
                "layer_permission_statementid_doesnotexist_remove",
                "remove_layer_version_permission",
                {**_LAYER_V1, "StatementId": "doesnotexist"},
            ),
            Call(
                "layer_permission_wrong_revision_remove",
                "remove_layer_version_permission",
                {**_LAYER_V1, "StatementId": "s1", "RevisionId": "wrong"},
            ),
        ],
    ),
]


def _pc(key: str, op: str, fn: str, qualifier: str | None, **extra: object) -> Call:
    params: dict[str, object] = {"FunctionName": fn, **extra}
    if qualifier is not None:
        params["Qualifier"] = qualifier
    return Call(key, op, params)


_GET_PC = "get_provisioned_concurrency_config"
_DELETE_PC = "delete_provisioned_concurrency_config"
_PUT_PC = "put_provisioned_concurrency_config"
_ONE = {"ProvisionedConcurrentExecutions": 1}

_PROVISIONED = [
    Case(
        "TestLambdaProvisionedConcurrency::test_provisioned_concurrency_exceptions",
        [
            Create(None, overrides={"Timeout": 30, "Environment": {"Variables": {}}}),
            Call("publish_version_result", "publish_version", FN),
            _pc("get_provisioned_config_doesnotexist", _GET_PC, "{fn}", "1"),
            _pc("get_provisioned_functionname_doesnotexist", _GET_PC, "doesnotexist", "noalias"),
            _pc("get_provisioned_qualifier_doesnotexist", _GET_PC, "{fn}", "noalias"),
            _pc("get_provisioned_version_doesnotexist", _GET_PC, "{fn}", "10"),
            _pc("get_provisioned_latest", _GET_PC, "{fn}", "$LATEST"),
            Call("list_provisioned_noconfigs", "list_provisioned_concurrency_configs", FN),
            Call(
                "list_provisioned_functionname_doesnotexist",
                "list_provisioned_concurrency_configs",
                {"FunctionName": "doesnotexist"},
            ),
            _pc("delete_provisioned_functionname_doesnotexist", _DELETE_PC, "doesnotexist", "1"),
            _pc("delete_provisioned_qualifier_doesnotexist", _DELETE_PC, "{fn}", "noalias"),
            _pc("delete_provisioned_version_doesnotexist", _DELETE_PC, "{fn}", "10"),
            _pc("delete_provisioned_latest", _DELETE_PC, "{fn}", "$LATEST"),
            _pc("delete_provisioned_config_doesnotexist", _DELETE_PC, "{fn}", "1"),
            Call(
                "put_provisioned_invalid_param_0",
                _PUT_PC,
                {"FunctionName": "{fn}", "Qualifier": "1", "ProvisionedConcurrentExecutions": 0},
                validate=False,
            ),
            _pc(
                "put_provisioned_functionname_doesnotexist_alias",
                _PUT_PC,
                "doesnotexist",
                "noalias",
                **_ONE,
            ),
            _pc(
                "put_provisioned_functionname_doesnotexist_version",
                _PUT_PC,
                "doesnotexist",
                "1",
                **_ONE,
            ),
            _pc("put_provisioned_qualifier_doesnotexist", _PUT_PC, "{fn}", "doesnotexist", **_ONE),
            _pc("put_provisioned_version_doesnotexist", _PUT_PC, "{fn}", "10", **_ONE),
            _pc("put_provisioned_latest", _PUT_PC, "{fn}", "$LATEST", **_ONE),
        ],
    ),
]

_MORE = [
    Case(
        "TestLambdaRecursion::test_put_function_recursion_config_invalid_value",
        [
            Create(None),
            Call(
                "put_recursion_invalid_value_error",
                "put_function_recursion_config",
                {"FunctionName": "{fn}", "RecursiveLoop": "InvalidValue"},
            ),
        ],
    ),
    Case(
        "TestLambdaPermissions::test_create_multiple_lambda_permissions",
        [
            Create(None),
            Call(
                "add_permission_response_1",
                "add_permission",
                {
                    "FunctionName": "{fn}",
                    "StatementId": "logs",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "logs.amazonaws.com",
                },
            ),
            Call(
                "add_permission_response_2",
                "add_permission",
                {
                    "FunctionName": "{fn}",
                    "StatementId": "kinesis",
                    "Action": "lambda:InvokeFunction",
                    "Principal": "kinesis.amazonaws.com",
                },
            ),
            Call("policy_after_2_add", "get_policy", FN),
        ],
    ),
]

CASES: list[Case] = [
    *_NONEXISTING_FN,
    *_WRONG_REGION,
    *_QUALIFIER_MISMATCH,
    *_NONEXISTING_VERSION,
    *_FUNCTIONS,
    *_VERSIONS,
    *_ALIASES,
    *_REVISIONS,
    *_CONCURRENCY,
    *_RECURSION,
    *_PERMISSIONS,
    *_SIZE_LIMITS,
    *_LAYERS,
    *_MORE,
    *_PROVISIONED,
    *NAME_CASES,
    *MORE_CASES,
    *INVOKE_CONFIG_CASES,
    *URL_CASES,
    *SIGNING_CASES,
    *VERSION_CASES,
    *S3_CODE_CASES,
    *LOGGING_CASES,
    *LAYER_CASES,
    *MAPPING_CASES,
    *SNAPSTART_CASES,
]
