"""The recorded case of function URL config errors (`TestLambdaUrl::test_url_config_exceptions`):
each of Create/Get/Delete/UpdateFunctionUrlConfig on a missing function (by name and ARN),
with a version, `$LATEST`, a missing alias, an ARN whose alias the Qualifier contradicts, and
(but Create) a function without a URL config. The calls are read off the recorded answers."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.recorded import ACCOUNT, REGION
from tests.integration.parity.replay import Call, Case, Create, Ref

_MISSING = "doesnotexist"
_MISSING_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_MISSING}"
_ALIAS_ARN = Ref("create_alias_result", "AliasArn")
# What each key's call names: (FunctionName, Qualifier or None).
_FORMS: dict[str, tuple[Any, str | None]] = {
    "name_doesnotexist": (_MISSING, None),
    "arn_doesnotexist": (_MISSING_ARN, None),
    "name_doesnotexist_qualifier": (_MISSING, "1"),
    "qualifier_version": ("{fn}", "1"),
    "qualifier_version_doesnotexist": ("{fn}", "2"),
    "qualifier_alias_doesnotexist": ("{fn}", "aliasdoesnotexist"),
    "qualifier_alias_doesnotmatch_arn": (_ALIAS_ARN, "otheralias"),
    "qualifier_latest": ("{fn}", "$LATEST"),
    "config_doesnotexist": ("{fn}", None),
}


def _calls(op: str) -> list[Call]:
    calls = []
    for form, (name, qualifier) in _FORMS.items():
        if op == "create" and form == "config_doesnotexist":
            continue
        params: dict[str, Any] = {"FunctionName": name}
        if qualifier is not None:
            params["Qualifier"] = qualifier
        if op in ("create", "update"):
            params["AuthType"] = "NONE"
        calls.append(Call(f"{op}_function_url_config_{form}", f"{op}_function_url_config", params))
    return calls


URL_CASES = [
    Case(
        "TestLambdaUrl::test_url_config_exceptions",
        [
            Create(
                None,
                overrides={
                    "Environment": {"Variables": {}},
                    "Timeout": 30,
                    "Runtime": "nodejs20.x",
                    "Handler": "lambda_handler.handler",
                },
            ),
            Call("fn_version_result", "publish_version", {"FunctionName": "{fn}"}),
            Call(
                "create_alias_result",
                "create_alias",
                {"FunctionName": "{fn}", "Name": "urlalias", "FunctionVersion": "1"},
            ),
            *(call for op in ("create", "get", "delete", "update") for call in _calls(op)),
        ],
    )
]


_URL = {"FunctionName": "{fn}"}
_ALIASED = {"FunctionName": "{fn}", "Qualifier": "test-alias"}

URL_CASES += [
    Case(
        "TestLambdaUrl::test_url_config_lifecycle",
        [
            Create(None),
            Call("url_creation", "create_function_url_config", _URL | {"AuthType": "NONE"}),
            Call("failed_duplication", "create_function_url_config", _URL | {"AuthType": "NONE"}),
            Call("get_url_config", "get_function_url_config", _URL),
            Call(
                "updated_url_config", "update_function_url_config", _URL | {"AuthType": "AWS_IAM"}
            ),
            Call(None, "delete_function_url_config", _URL),
            Call("failed_getter", "get_function_url_config", _URL),
        ],
    ),
    Case(
        "TestLambdaUrl::test_url_config_deletion_without_qualifier",
        [
            Create(None),
            Call(None, "publish_version", _URL),
            Call(
                None,
                "create_alias",
                {"FunctionName": "{fn}", "Name": "test-alias", "FunctionVersion": "1"},
            ),
            Call("url_creation", "create_function_url_config", _URL | {"AuthType": "NONE"}),
            Call(
                "url_with_alias_creation",
                "create_function_url_config",
                _ALIASED | {"AuthType": "NONE"},
            ),
            Call("get_url_config", "get_function_url_config", _URL),
            Call("get_url_config_with_alias", "get_function_url_config", _ALIASED),
            Call("delete_function_url_config", "delete_function_url_config", _URL),
            Call("get_url_config_after_deletion", "get_function_url_config", _URL),
            Call("get_url_config_with_alias_after_deletion", "get_function_url_config", _ALIASED),
        ],
    ),
]
