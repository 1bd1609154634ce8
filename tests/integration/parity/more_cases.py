"""More recorded cases: deprecated runtimes, malformed invoke names, tags on what does not
exist or cannot carry them. The calls are read off the recorded answers, as in cases.py."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.recorded import ACCOUNT, REGION
from tests.integration.parity.replay import ROLE, ZIP, ZIP2, Call, Case, Create, Wait, zip_of

FN = {"FunctionName": "{fn}"}
_ESM_ARN = (
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:3d9a1f2e-0000-4000-8000-000000000001"
)


def _create(runtime: str) -> Call:
    params = {
        "FunctionName": "{fn}",
        "Runtime": runtime,
        "Handler": "handler.handler",
        "Role": ROLE,
        "Code": {"ZipFile": ZIP},
    }
    return Call("deprecation_error", "create_function", params, validate=False)


_DEPRECATED = [
    Case(
        "TestRuntimeValidation::test_create_deprecated_function_runtime_with_validation_enabled"
        f"[{runtime}]",
        [_create(runtime)],
    )
    for runtime in (
        "java8",
        "go1.x",
        "provided",
        "ruby2.7",
        "nodejs14.x",
        "python3.7",
        "dotnetcore3.1",
        "nodejs12.x",
    )
]


def _tag_calls(resource: str) -> list[Call]:
    return [
        Call("not_found_exception_tag", "tag_resource", {"Resource": resource, "Tags": {"a": "b"}}),
        Call(
            "not_found_exception_untag", "untag_resource", {"Resource": resource, "TagKeys": ["a"]}
        ),
        Call("not_found_exception_list", "list_tags", {"Resource": resource}),
    ]


# The `resource` pattern AWS's message quotes is its model's: botocore's current one names
# network connectors and no layers, the recording's is older.
_OLDER_PATTERN = (
    "the recorded message quotes an older `resource` pattern than botocore's current model, "
    "which Hearth quotes"
)
_FOOBAR_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:foobar:{{fn}}"
_TAGS = [
    Case(
        "TestLambdaTag::test_tag_nonexisting_resource",
        [
            Create(None, overrides={"Timeout": 30, "Environment": {"Variables": {}}}),
            Call("pre_delete_get_function", "get_function", FN),
            Call(None, "delete_function", FN),
            *_tag_calls("{arn}"),
        ],
    ),
    Case(
        "TestLambdaTag::test_tag_exceptions[lambda_function]",
        [
            *_tag_calls("{arn}"),
            Call(
                "aliased_arn_exception",
                "tag_resource",
                {"Resource": "{arn}:alias", "Tags": {"a": "b"}},
            ),
            Call(
                "invalid_arn_exception",
                "tag_resource",
                {"Resource": _FOOBAR_ARN, "Tags": {"a": "b"}},
                validate=False,
            ),
        ],
        divergence=_OLDER_PATTERN,
    ),
    Case(
        "TestLambdaTag::test_tag_exceptions[event_source_mapping]",
        [
            *_tag_calls(_ESM_ARN),
            Call(
                "aliased_arn_exception",
                "tag_resource",
                {"Resource": _ESM_ARN + ":alias", "Tags": {"a": "b"}},
                validate=False,
            ),
            Call(
                "invalid_arn_exception",
                "tag_resource",
                {"Resource": _FOOBAR_ARN, "Tags": {"a": "b"}},
                validate=False,
            ),
        ],
        divergence=_OLDER_PATTERN,
    ),
    Case(
        "TestLambdaTags::test_tag_exceptions",
        [
            Create(None),
            Call(
                "tag_lambda_invalidarn",
                "tag_resource",
                {"Resource": "arn:aws:something", "Tags": {"a": "b"}},
                validate=False,
            ),
            Call(
                "tag_lambda_doesnotexist",
                "tag_resource",
                {
                    "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:doesnotexist",
                    "Tags": {"a": "b"},
                },
            ),
            Call(
                "tag_lambda_qualifier_doesnotexist",
                "tag_resource",
                {"Resource": "{arn}:v1", "Tags": {"a": "b"}},
            ),
            Call("list_tag_lambda_empty", "list_tags", {"Resource": "{arn}"}),
            Call("untag_nomatch", "untag_resource", {"Resource": "{arn}", "TagKeys": ["nomatch"]}),
            Call(
                "untag_empty_keys",
                "untag_resource",
                {"Resource": "{arn}", "TagKeys": []},
                validate=False,
            ),
            Call("tag_empty_tags", "tag_resource", {"Resource": "{arn}", "Tags": {}}),
        ],
        divergence=_OLDER_PATTERN,
    ),
]

_INVOKE = [
    Case(
        "TestLambdaFunction::test_invalid_invoke",
        [
            Call(
                "invoke_function_name_pattern_exc",
                "invoke",
                {"FunctionName": f"arn:aws:lambda:{REGION}:123400000000@function:myfn"},
                validate=False,
            )
        ],
    )
]

# A response one byte over AWS's limit (6 MiB + 100 bytes with its quotes).
_TOO_LARGE = zip_of("def handler(event, context):\n    return 'x' * (6 * 1024 * 1024 + 99)\n")
_LIMITS = [
    Case(
        "TestLambdaBaseFeatures::test_lambda_too_large_response",
        [
            Create(None, overrides={"Code": {"ZipFile": _TOO_LARGE}, "MemorySize": 512}),
            Call("invoke_result", "invoke", {"FunctionName": "{fn}", "Payload": b"{}"}),
            Call("invoke_result_2", "invoke", {"FunctionName": "{fn}", "Payload": b"{}"}),
        ],
        file="test_lambda.snapshot.json",
    )
]


def _add(key: str | None, name: str = "{fn}", **extra: str) -> Call:
    params = {
        "FunctionName": name,
        "StatementId": "s3",
        "Action": "lambda:InvokeFunction",
        "Principal": "s3.amazonaws.com",
    }
    return Call(key, "add_permission", params | extra)


_PERMISSIONS = [
    Case(
        "TestLambdaPermissions::test_permission_exceptions",
        [
            Create(None),
            _add("add_permission_invalid_statement_id", StatementId="example.com"),
            _add("add_permission_fn_qualifier_mismatch", name="{fn}:1", Qualifier="2"),
            _add("add_permission_fn_qualifier_latest", Qualifier="$LATEST"),
            _add("add_permission_principal_invalid", Principal="invalid.nonamazonaws.com"),
            Call("get_policy_fn_doesnotexist", "get_policy", {"FunctionName": "doesnotexist"}),
            Call(
                "get_policy_fn_version_doesnotexist",
                "get_policy",
                {"FunctionName": "{fn}", "Qualifier": "10"},
            ),
            _add("add_permission_fn_doesnotexist", name="doesnotexist"),
            Call(
                "remove_permission_policy_doesnotexist",
                "remove_permission",
                {"FunctionName": "{fn}", "StatementId": "s3"},
            ),
            _add("add_permission_fn_alias_doesnotexist", Qualifier="alias-doesnotexist"),
            _add("add_permission_fn_version_doesnotexist", Qualifier="42"),
            _add("add_permission_fn_qualifier_invalid", Qualifier="invalid-qualifier-with-?-char"),
            _add(
                "add_permission_fn_qualifier_valid_doesnotexist",
                Qualifier="valid-with-$-but-doesnotexist",
            ),
            _add(None),
            _add("add_permission_conflicting_statement_id"),
            Call(
                "remove_permission_fn_doesnotexist",
                "remove_permission",
                {"FunctionName": "doesnotexist", "StatementId": "s3"},
            ),
            Call(
                "remove_permission_fn_alias_doesnotexist",
                "remove_permission",
                {"FunctionName": "{fn}", "StatementId": "s3", "Qualifier": "alias-doesnotexist"},
            ),
        ],
    )
]


def _alias(
    key: str | None,
    version: str,
    weights: dict[str, float] | None = None,
    name: str = "custom",
    fn: str = "{fn}",
) -> Call:
    params: dict[str, object] = {"FunctionName": fn, "Name": name, "FunctionVersion": version}
    if weights is not None:
        params["RoutingConfig"] = {"AdditionalVersionWeights": weights}
    # botocore checks no ranges of doubles, but the recording reached AWS with them.
    return Call(key, "create_alias", params, validate=False)


_ALIASES = [
    Case(
        "TestLambdaAlias::test_notfound_and_invalid_routingconfigs",
        [
            Create("create_response"),
            Call("publish_v1", "publish_version", FN),
            Call(
                None,
                "update_function_configuration",
                {"FunctionName": "{fn}", "Environment": {"Variables": {"testenv": "prod"}}},
            ),
            Wait("function_updated_v2"),
            Call("publish_v2", "publish_version", FN),
            _alias("routing_config_exc_toomany", "1", {"2": 0.5, "3": 0.5}),
            _alias("routing_config_exc_toohigh", "1", {"2": 2.0}),
            _alias("routing_config_exc_subzero", "1", {"2": -1.0}),
            _alias("routing_config_exc_sameversion", "1", {"1": 0.5}),
            _alias("target_version_doesnotexist", "10", {"2": 0.5}),
            _alias("routing_config_exc_version_doesnotexist", "1", {"10": 0.5}),
            _alias("target_version_exc_version_latest", "$LATEST", {"1": 0.5}),
            _alias("routing_config_exc_version_latest", "1", {"$LATEST": 0.5}),
            _alias("create-alias-latest", "$LATEST", name="custom-latest"),
            _alias("routing_config_exc_fn_doesnotexist", "1", {"2": 0.5}, fn="{fn}-unknown"),
            _alias("create_alias_empty_routingconfig", "1", {}, name="custom-empty-routingconfig"),
            _alias("create_alias_response", "1", {"2": 0.5}),
            _alias("routing_config_exc_already_exist", "1", {"2": 0.5}),
            Call(
                "alias_does_not_exist_esc",
                "get_alias",
                {"FunctionName": "{fn}", "Name": "non-existent"},
            ),
        ],
    )
]


def _alias_call(key: str, op: str, name: str, **params: Any) -> Call:
    return Call(key, op, {"FunctionName": "{fn}", "Name": name, **params})


_NO_WEIGHTS: dict[str, Any] = {"AdditionalVersionWeights": {}}
_ALIAS_LIFECYCLE = Case(
    "TestLambdaAlias::test_alias_lifecycle",
    [
        Create("create_response"),
        Call("publish_v1", "publish_version", FN),
        Call(
            None,
            "update_function_configuration",
            {"FunctionName": "{fn}", "Environment": {"Variables": {"testenv": "prod"}}},
        ),
        Wait("function_updated_v2"),
        Call("publish_v2", "publish_version", FN),
        _alias_call(
            "create_alias_1_1",
            "create_alias",
            "aliasname1_1",
            FunctionVersion="1",
            Description="custom-alias",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}},
        ),
        _alias_call("get_alias_1_1", "get_alias", "aliasname1_1"),
        Call(
            "get_function_alias_1_1",
            "get_function",
            {"FunctionName": "{fn}", "Qualifier": "aliasname1_1"},
        ),
        Call(
            "get_function_byarn_alias_1_1", "get_function", {"FunctionName": "{arn}:aliasname1_1"}
        ),
        Call(
            "get_function_alias_notfound_exc",
            "get_function",
            {"FunctionName": "{fn}", "Qualifier": "aliasdoesnotexist"},
        ),
        Call(
            "get_function_alias_byarn_notfound_exc",
            "get_function",
            {"FunctionName": "{arn}:aliasdoesnotexist"},
        ),
        _alias_call(
            "create_alias_1_2",
            "create_alias",
            "aliasname1_2",
            FunctionVersion="1",
            Description="custom-alias",
        ),
        _alias_call("get_alias_1_2", "get_alias", "aliasname1_2"),
        _alias_call("create_alias_1_3", "create_alias", "aliasname1_3", FunctionVersion="1"),
        _alias_call("get_alias_1_3", "get_alias", "aliasname1_3"),
        _alias_call(
            "create_alias_2",
            "create_alias",
            "aliasname2",
            FunctionVersion="2",
            Description="custom-alias",
        ),
        _alias_call("get_alias_2", "get_alias", "aliasname2"),
        Call("list_aliases_for_fnname", "list_aliases", FN),
        _alias_call("update_alias_1_1", "update_alias", "aliasname1_1", RoutingConfig=_NO_WEIGHTS),
        _alias_call("get_alias_1_1_after_update", "get_alias", "aliasname1_1"),
        Call("list_aliases_for_fnname_after_update", "list_aliases", FN),
        _alias_call("update_alias_1_2", "update_alias", "aliasname1_2", RoutingConfig=_NO_WEIGHTS),
        _alias_call("get_alias_1_2_after_update", "get_alias", "aliasname1_2"),
        Call("list_aliases_for_fnname_after_update_2", "list_aliases", FN),
        Call(
            "list_aliases_for_version",
            "list_aliases",
            {"FunctionName": "{fn}", "FunctionVersion": "1"},
        ),
        Call(
            "delete_alias_response",
            "delete_alias",
            {"FunctionName": "{fn}", "Name": "aliasname1_1"},
        ),
        Call("list_aliases_for_fnname_afterdelete", "list_aliases", FN),
    ],
)


def _tagging(key: str, op: str, resource: Any = "{arn}", **params: Any) -> list[Call]:
    """A tag change and the ListTags the recording made after it."""
    return [
        Call(key, op, {"Resource": resource, **params}),
        Call(f"{key}_listtags", "list_tags", {"Resource": resource}),
    ]


def tag_lifecycle(resource: Any = "{arn}") -> list[Call]:
    """The tag and untag calls of the recorded tag lifecycles, on one resource."""
    return [
        *_tagging("tag_single_response", "tag_resource", resource, Tags={"A": "tag-a"}),
        *_tagging(
            "tag_multiple_response", "tag_resource", resource, Tags={"B": "tag-b", "C": "tag-c"}
        ),
        *_tagging(
            "tag_overlap_response",
            "tag_resource",
            resource,
            Tags={"C": "tag-c-newsuffix", "D": "tag-d"},
        ),
        *_tagging("untag_single_response", "untag_resource", resource, TagKeys=["A"]),
        *_tagging("untag_multiple_response", "untag_resource", resource, TagKeys=["B", "C"]),
        *_tagging("untag_nonexisting_response", "untag_resource", resource, TagKeys=["F"]),
        *_tagging(
            "untag_existing_and_nonexisting_response",
            "untag_resource",
            resource,
            TagKeys=["D", "F"],
        ),
    ]


_FIFTY = {f"{i}_key": f"{i}_value" for i in range(50)}
_TAG_LIFECYCLES = [
    Case(
        "TestLambdaTag::test_tag_lifecycle[lambda_function]",
        [Create(None), *tag_lifecycle()],
    ),
    # The same calls, recorded before the test took a resource kind.
    Case("TestLambdaTag::test_tag_lifecycle", [Create(None), *tag_lifecycle()]),
    Case(
        "TestLambdaTag::test_create_tag_on_fn_create",
        [
            Create(
                None,
                overrides={
                    "Tags": {"testtag": "custom"},
                    "Timeout": 30,
                    "Environment": {"Variables": {}},
                },
            ),
            Call("get_function_result", "get_function", FN),
            Call("list_tags_result", "list_tags", {"Resource": "{arn}"}),
        ],
    ),
    Case(
        "TestLambdaTags::test_tag_versions",
        [
            Create(None),
            Call(None, "publish_version", FN),
            Call(
                "tag_resource_exception",
                "tag_resource",
                {"Resource": "{arn}:1", "Tags": {"a": "b"}},
            ),
            Call(
                "tag_resource_latest_exception",
                "tag_resource",
                {"Resource": "{arn}:$LATEST", "Tags": {"a": "b"}},
            ),
        ],
    ),
    Case(
        "TestLambdaTags::test_tag_limits",
        [
            Create(None, overrides={"Timeout": 30, "Environment": {"Variables": {}}}),
            Call(
                "tag_lambda_too_many_tags",
                "tag_resource",
                {"Resource": "{arn}", "Tags": {**_FIFTY, "50_key": "50_value"}},
            ),
            Call("tag_response", "tag_resource", {"Resource": "{arn}", "Tags": _FIFTY}),
            Call("list_tags_response", "list_tags", {"Resource": "{arn}"}),
            Call("get_fn_response", "get_function", FN),
            Call(
                "tag_lambda_too_many_tags_additional",
                "tag_resource",
                {"Resource": "{arn}", "Tags": {"a_key": "a_value"}},
            ),
            Create(
                "create_function_invalid_tags",
                fn="{fn2}",
                overrides={"Tags": {**_FIFTY, "50_key": "50_value"}},
            ),
        ],
    ),
]

_NAMING = [
    Case(
        "TestLambdaFunction::test_function_arns",
        [
            Create("create-function-arn-response", fn="{arn}"),
            Create(
                "create-function-partial-arn-response",
                fn=f"{ACCOUNT}:function:{{fn2}}",
                overrides={"Code": {"ZipFile": ZIP2}},
            ),
            Create("invalid_function_name_exc", fn="invalid:function:name"),
            Create("long_function_name_exc", fn="a" * 65),
            Create(
                "long_function_arn_exc",
                fn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:" + "a" * 100,
            ),
            Create(
                "function_arn_other_region_exc",
                fn=f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:{{fn}}-other",
            ),
            Create(
                "function_arn_other_account_exc",
                fn=f"arn:aws:lambda:{REGION}:222222222222:function:{{fn}}-other",
            ),
        ],
    ),
    Case(
        "TestLambdaAlias::test_alias_naming",
        [
            Create("create_response"),
            Call("publish_v1", "publish_version", FN),
            _alias_call(
                "create_alias_date",
                "create_alias",
                "2024-01-02",
                FunctionVersion="1",
                Description="custom-alias",
            ),
            _alias_call("get_alias_date", "get_alias", "2024-01-02"),
            Call(
                "create_alias_number_exception",
                "create_alias",
                {"FunctionName": "{fn}", "Name": "2024", "FunctionVersion": "1"},
                validate=False,
            ),
        ],
    ),
]

_PERMISSION_FIELDS = [
    Case(
        "TestLambdaPermissions::test_add_lambda_permission_aws",
        [
            Create("create_lambda", overrides={"Environment": {"Variables": {}}}),
            _add("add_permission", SourceArn="arn:aws:s3:::{fn}-bucket"),
            Call("get_policy", "get_policy", FN),
        ],
    ),
    Case(
        "TestLambdaPermissions::test_add_lambda_permission_fields",
        [
            Create(None),
            _add(
                "add_permission_principal_wildcard",
                StatementId="wilcard",
                Principal="*",
                SourceAccount=ACCOUNT,
            ),
            _add(
                "add_permission_principal_service",
                StatementId="lambda",
                Principal="lambda.amazonaws.com",
                SourceAccount=ACCOUNT,
            ),
            _add("add_permission_principal_account", StatementId="account-id", Principal=ACCOUNT),
            _add(
                "add_permission_principal_arn",
                StatementId="user-arn",
                Principal=f"arn:aws:iam::{ACCOUNT}:user/parity",
                SourceAccount=ACCOUNT,
            ),
            _add(
                "add_permission_optional_fields",
                StatementId="urlPermission",
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                SourceArn="arn:aws:s3:::{fn}-bucket",
                SourceAccount=ACCOUNT,
                FunctionUrlAuthType="NONE",
                PrincipalOrgID="o-1234567890",
            ),
            _add(
                "add_permission_alexa_skill",
                StatementId="alexaSkill",
                Principal="*",
                EventSourceToken="amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            ),
        ],
    ),
]

_BUCKET = "arn:aws:s3:::{fn}-bucket"
_PERMISSION_VERSIONS = Case(
    "TestLambdaPermissions::test_lambda_permission_versioning",
    [
        Create(None),
        _add("add_permission", SourceArn=_BUCKET),
        Call("get_policy", "get_policy", FN),
        Call(None, "publish_version", FN),
        Call("get_policy_after_publishing_latest", "get_policy", FN),
        Call(
            "get_policy_after_publishing_new_version",
            "get_policy",
            {"FunctionName": "{fn}", "Qualifier": "1"},
        ),
        _add(None, SourceArn=_BUCKET, Qualifier="1"),
        Call("get_policy_after_adding_to_new_version", "get_policy", FN),
        _add(None, StatementId="s3_2", SourceArn=_BUCKET),
        Call("get_policy_after_adding_2", "get_policy", FN),
    ],
)

MORE_CASES = [
    _PERMISSION_VERSIONS,
    *_PERMISSION_FIELDS,
    *_NAMING,
    *_TAG_LIFECYCLES,
    *_DEPRECATED,
    *_TAGS,
    *_INVOKE,
    *_LIMITS,
    *_PERMISSIONS,
    *_ALIASES,
    _ALIAS_LIFECYCLE,
]
