from __future__ import annotations

import pytest

from hearth.arns import (
    ArnFormatter,
    FunctionRef,
    check_alias_name,
    is_version,
    parse_function_ref,
    parse_layer_name,
    parse_layer_version_arn,
    resolve_qualifier,
)
from hearth.errors import LambdaError

ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("my-fn", FunctionRef("my-fn")),
        ("my-fn:$LATEST", FunctionRef("my-fn", "$LATEST")),
        ("my-fn:7", FunctionRef("my-fn", "7")),
        ("my-fn:live", FunctionRef("my-fn", "live")),
        ("123456789012:function:my-fn", FunctionRef("my-fn")),
        ("123456789012:function:my-fn:live", FunctionRef("my-fn", "live")),
        (ARN, FunctionRef("my-fn")),
        (f"{ARN}:3", FunctionRef("my-fn", "3")),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f_1", FunctionRef("f_1")),
        ("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", FunctionRef("f")),
    ],
)
def test_function_name_forms(value: str, expected: FunctionRef) -> None:
    assert parse_function_ref(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "has space",
        "a/b",
        "x" * 65,
        "arn:aws:lambda:us-east-1:123:function:f",
        "f:",
        "f:a:b",
        "x" * 141,
    ],
)
def test_malformed_function_names(value: str) -> None:
    with pytest.raises(LambdaError) as exc:
        parse_function_ref(value)
    assert exc.value.code == "ValidationException"
    assert exc.value.status == 400
    assert "at 'functionName' failed to satisfy constraint" in exc.value.message


def test_qualifier_merge() -> None:
    assert resolve_qualifier(FunctionRef("f"), "live") == FunctionRef("f", "live")
    assert resolve_qualifier(FunctionRef("f", "1"), "1") == FunctionRef("f", "1")
    assert resolve_qualifier(FunctionRef("f", "1"), None) == FunctionRef("f", "1")
    with pytest.raises(LambdaError) as exc:
        resolve_qualifier(FunctionRef("f", "1"), "2")
    assert exc.value.code == "InvalidParameterValueException"
    with pytest.raises(LambdaError) as exc:
        resolve_qualifier(FunctionRef("f"), "bad qualifier")
    assert exc.value.code == "ValidationException"


def test_versions_and_aliases() -> None:
    assert is_version("$LATEST") and is_version("12")
    assert not is_version("live")
    assert check_alias_name("live") == "live"
    for bad in ("123", "has space", "x" * 129):
        with pytest.raises(LambdaError):
            check_alias_name(bad)


def test_layers() -> None:
    arns = ArnFormatter("eu-west-1", "210987654321")
    assert arns.layer_version("lib", 2) == "arn:aws:lambda:eu-west-1:210987654321:layer:lib:2"
    assert parse_layer_name("lib") == "lib"
    assert parse_layer_name(arns.layer("lib")) == "lib"
    ref = parse_layer_version_arn(arns.layer_version("lib", 2))
    assert (ref.name, ref.version) == ("lib", 2)
    with pytest.raises(LambdaError):
        parse_layer_version_arn(arns.layer("lib"))
    with pytest.raises(LambdaError):
        parse_layer_name("bad name")


def test_function_arns() -> None:
    arns = ArnFormatter("us-east-1", "123456789012")
    assert arns.function("my-fn") == ARN
    assert arns.function("my-fn", "live") == f"{ARN}:live"
