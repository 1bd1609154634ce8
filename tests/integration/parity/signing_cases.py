"""The recorded code signing config cases: a config's lifecycle with a function attached, and
what AWS says of configs and functions that are not there. The calls are read off the
recorded answers."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.recorded import ACCOUNT, REGION
from tests.integration.parity.replay import Call, Case, Create, Ref

_CSC = Ref("create_code_signing_config", "CodeSigningConfig", "CodeSigningConfigArn")
_NO_CSC = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0"
_NO_FN = "csc-test-doesnotexist"
_CREATE = Call(
    "create_code_signing_config",
    "create_code_signing_config",
    {
        "Description": "Testing CodeSigning Config",
        "AllowedPublishers": {
            "SigningProfileVersionArns": [
                f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/test"
            ]
        },
        "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
    },
)


def _call(key: str, op: str, **params: Any) -> Call:
    return Call(key, op, params)


SIGNING_CASES = [
    Case(
        "TestCodeSigningConfig::test_function_code_signing_config",
        [
            Create(None),
            _CREATE,
            _call(
                "update_code_signing_config",
                "update_code_signing_config",
                CodeSigningConfigArn=_CSC,
                CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"},
            ),
            _call("get_code_signing_config", "get_code_signing_config", CodeSigningConfigArn=_CSC),
            _call(
                "put_function_code_signing_config",
                "put_function_code_signing_config",
                FunctionName="{fn}",
                CodeSigningConfigArn=_CSC,
            ),
            _call(
                "get_function_code_signing_config",
                "get_function_code_signing_config",
                FunctionName="{fn}",
            ),
            Call(
                "list_code_signing_configs",
                "list_code_signing_configs",
                pick=("CodeSigningConfigs", "CodeSigningConfigArn", _CSC),
            ),
            _call(
                "list_functions_by_code_signing_config",
                "list_functions_by_code_signing_config",
                CodeSigningConfigArn=_CSC,
            ),
            _call(
                "delete_function_code_signing_config",
                "delete_function_code_signing_config",
                FunctionName="{fn}",
            ),
            _call(
                "delete_code_signing_config",
                "delete_code_signing_config",
                CodeSigningConfigArn=_CSC,
            ),
        ],
    ),
    Case(
        "TestCodeSigningConfig::test_code_signing_not_found_excs",
        [
            Create(None),
            _CREATE,
            _call(
                "delete_csc_notfound", "delete_code_signing_config", CodeSigningConfigArn=_NO_CSC
            ),
            _call(
                "nothing_to_delete_response",
                "delete_function_code_signing_config",
                FunctionName="{fn}",
            ),
            _call(
                "delete_function_csc_fnnotfound",
                "delete_function_code_signing_config",
                FunctionName=_NO_FN,
            ),
            _call(
                "put_function_csc_invalid_fnname",
                "put_function_code_signing_config",
                FunctionName=_NO_FN,
                CodeSigningConfigArn=_CSC,
            ),
            _call(
                "put_function_csc_invalid_csc_arn",
                "put_function_code_signing_config",
                FunctionName="{fn}",
                CodeSigningConfigArn=_NO_CSC,
            ),
            _call(
                "put_function_csc_invalid_both",
                "put_function_code_signing_config",
                FunctionName=_NO_FN,
                CodeSigningConfigArn=_NO_CSC,
            ),
            _call(
                "update_csc_invalid_csc_arn",
                "update_code_signing_config",
                CodeSigningConfigArn=_NO_CSC,
                Description="new-description",
            ),
            _call(
                "update_csc_noupdates", "update_code_signing_config", CodeSigningConfigArn=_NO_CSC
            ),
            _call(
                "update_csc_noupdate_response",
                "update_code_signing_config",
                CodeSigningConfigArn=_CSC,
            ),
            _call("get_csc_invalid", "get_code_signing_config", CodeSigningConfigArn=_NO_CSC),
            _call(
                "get_function_csc_fnwithoutcsc",
                "get_function_code_signing_config",
                FunctionName="{fn}",
            ),
            _call(
                "get_function_csc_nonexistingfn",
                "get_function_code_signing_config",
                FunctionName=_NO_FN,
            ),
            _call(
                "list_functions_by_csc_fnwithoutcsc",
                "list_functions_by_code_signing_config",
                CodeSigningConfigArn=_CSC,
            ),
            _call(
                "list_functions_by_csc_invalid_cscarn",
                "list_functions_by_code_signing_config",
                CodeSigningConfigArn=_NO_CSC,
            ),
        ],
    ),
]
