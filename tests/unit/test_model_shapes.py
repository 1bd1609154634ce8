"""The model-shape checks the every-operation test relies on (parity/model_shapes.py)."""

from __future__ import annotations

import json

import botocore.session
import pytest

from tests.integration.parity.model_shapes import answer_problems, shape_problems

_MODEL = botocore.session.get_session().get_service_model("lambda")


def _answer(op: str, status: int, body: object, headers: dict[str, str] | None = None) -> list[str]:
    raw = json.dumps(body).encode() if body is not None else b""
    return answer_problems(_MODEL.operation_model(op), status, headers or {}, raw)


def test_a_fitting_answer_has_no_problems() -> None:
    body = {"RecursiveLoop": "Terminate"}
    assert _answer("GetFunctionRecursionConfig", 200, body) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"RecursiveLoop": "Sometimes"}, "'Sometimes' is not one of RecursiveLoop's values"),
        ({"RecursiveLoop": 7}, ".RecursiveLoop: expected a string"),
        ({"Extra": 1}, ".Extra: not in GetFunctionRecursionConfigResponse"),
        ({"RecursiveLoop": None}, ".RecursiveLoop: null"),
    ],
)
def test_a_departing_body_is_named(body: object, problem: str) -> None:
    (found,) = _answer("GetFunctionRecursionConfig", 200, body)
    assert problem in found


def test_status_codes_are_the_models() -> None:
    assert _answer("DeleteAlias", 200, None) == ["status 200, the model says 204"]


def test_nested_members_and_header_members() -> None:
    config = _MODEL.shape_for("FunctionConfiguration")
    assert shape_problems(config, {"Layers": [{"Arn": "a", "CodeSize": "1"}]}) == [
        ".Layers[0].CodeSize: expected an integer (Long), got '1'"
    ]
    assert _answer("GetAccountSettings", 200, {"AccountLimit": {"CodeSizeZipped": True}}) == [
        ".AccountLimit.CodeSizeZipped: expected an integer (Long), got True"
    ]


def test_errors_must_be_the_operations_with_their_status_and_members() -> None:
    headers = {"X-Amzn-ErrorType": "ResourceNotFoundException"}
    body = {"Type": "User", "Message": "Function not found: f"}
    assert _answer("GetFunction", 404, body, headers) == []
    assert _answer("GetFunction", 400, body, headers) == [
        "ResourceNotFoundException: status 400, model says 404"
    ]
    assert _answer("GetFunction", 404, {**body, "__type": "x"}, headers) == [
        "ResourceNotFoundException.__type: not in ResourceNotFoundException"
    ]
    unknown = {"X-Amzn-ErrorType": "UnknownOperationException"}
    assert _answer("GetFunction", 404, {}, unknown) == [
        "UnknownOperationException (status 404) is not an error of GetFunction"
    ]
    validation = {"X-Amzn-ErrorType": "ValidationException"}
    assert _answer("GetFunction", 400, {"message": "1 validation error"}, validation) == []
