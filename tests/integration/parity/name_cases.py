"""The recorded cases of function names and qualifiers AWS refuses or cannot find
(`TestLambdaFunction::test_function_name_and_qualifier_validation[<input>-<operation>]`).

The recording kept a summary of each error (replay.summarize); the inputs are read off the
values its messages quote. GetFunction, DeleteFunction and Invoke take the name and the
qualifier apart; CreateFunction, which has no Qualifier, takes them joined by a colon.
None of these functions exists.
"""

from __future__ import annotations

from tests.integration.parity.recorded import ACCOUNT, REGION
from tests.integration.parity.replay import ROLE, ZIP, Call, Case

_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:my-function"
_BAD_REGION_ARN = f"arn:aws:lambda:invalid-region:{ACCOUNT}:function:my-function"

# id → (FunctionName, Qualifier or None)
INPUTS: dict[str, tuple[str, str | None]] = {
    "function_name_is_single_invalid": ("*", None),
    "invalid_characters_in_function_name": ("my-function!", None),
    "invalid_characters_in_qualifier": ("my-function", "invalid!"),
    "qualifier_too_long0": ("my-function", "a" * 129),
    "invalid_account_id_in_partial_arn": ("invalid-account:function:my-function", None),
    "invalid_region_in_arn": (_BAD_REGION_ARN, None),
    "non_lambda_arn": (f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance:i-1234567890abcdef0", None),
    "function_name_too_long": ("a" * 65, None),
    "function_name_too_long_and_invalid_region": (_BAD_REGION_ARN + "a" * 170, None),
    "full_arn_and_qualifier_too_long_and_invalid_region": (
        _BAD_REGION_ARN + "-" + "a" * 170,
        "a" * 129,
    ),
    "qualifier_too_long1": ("my-function", "a" * 65),
    "full_arn_with_multiple_qualifiers": (_ARN + ":1:2", None),
    "incomplete_arn": (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function", None),
    "partial_arn_with_extra_qualifier": ("function:my-function:$LATEST:extra", None),
    "latest_version_with_additional_qualifier": (_ARN + ":$LATEST", "1"),
    "lowercase_latest_qualifier": (_ARN, "$latest"),
    "missing_region_in_arn": (f"arn:aws:lambda::{ACCOUNT}:function:my-function", None),
    "missing_account_id_in_arn": (f"arn:aws:lambda:{REGION}::function:my-function", None),
    "misspelled_latest_in_arn": (_ARN + ":$LATES", None),
    "qualifier_too_long": ("my-function", "a" * 129),
    "function_name_and_qualifier_too_long": ("my-function", "a" * 65),
}
_KEYS = {
    "get_function": "get_function_exception",
    "delete_function": "delete_function_exception",
    "invoke": "invoke_exception",
    "create_function": "create_function_exception",
}
# Where AWS created the function (nothing was recorded), there is nothing to compare.
_NOT_RECORDED = {
    ("qualifier_too_long1", "create_function"),
    ("incomplete_arn", "create_function"),
    ("function_name_and_qualifier_too_long", "create_function"),
}


def _params(op: str, name: str, qualifier: str | None) -> dict[str, object]:
    if op == "create_function":
        joined = name if qualifier is None else f"{name}:{qualifier}"
        return {
            "FunctionName": joined,
            "Runtime": "python3.12",
            "Handler": "handler.handler",
            "Role": ROLE,
            "Code": {"ZipFile": ZIP},
        }
    params: dict[str, object] = {"FunctionName": name}
    if qualifier is not None:
        params["Qualifier"] = qualifier
    if op == "invoke":
        params["Payload"] = b"{}"
    return params


def _case(input_id: str, op: str) -> Case:
    name, qualifier = INPUTS[input_id]
    # Templates are formatted: braces in the inputs would be read as names (there are none).
    call = Call(_KEYS[op], op, _params(op, name, qualifier), validate=False, summary=True)
    return Case(
        f"TestLambdaFunction::test_function_name_and_qualifier_validation[{input_id}-{op}]",
        [call],
    )


NAME_CASES = [
    _case(input_id, op)
    for input_id in INPUTS
    for op in _KEYS
    if (input_id, op) not in _NOT_RECORDED
]
