"""Every operation in botocore's Lambda model has a route: none answers UnknownOperation.

Function URLs, event source mappings and response streaming are other branches' work and
left out here.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError

OTHER_BRANCHES = {"function_urls", "event_source_mappings"}
_MODEL = botocore.session.get_session().get_service_model("lambda")


def _operations() -> list[str]:
    groups = {
        "CreateFunctionUrlConfig": "function_urls",
        "GetFunctionUrlConfig": "function_urls",
        "UpdateFunctionUrlConfig": "function_urls",
        "DeleteFunctionUrlConfig": "function_urls",
        "ListFunctionUrlConfigs": "function_urls",
    }
    return sorted(
        op
        for op in _MODEL.operation_names
        if groups.get(op) not in OTHER_BRANCHES
        and "EventSourceMapping" not in op
        and op != "InvokeWithResponseStream"
    )


def _minimal_params(operation: str) -> dict[str, Any]:
    shape = _MODEL.operation_model(operation).input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    for name in shape.required_members:
        member = shape.members[name]
        if member.type_name == "string":
            params[name] = "1" if "Version" in name else "parity-nothing"
        elif member.type_name in ("integer", "long"):
            params[name] = 1
        elif member.type_name == "list":
            params[name] = ["parity-nothing"]
        elif member.type_name == "blob":
            params[name] = b"{}"
        else:
            params[name] = {}
    return params


@pytest.mark.parametrize("operation", _operations())
def test_operation_is_routed(raw_client: Any, operation: str) -> None:
    name = botocore.xform_name(operation)
    try:
        getattr(raw_client, name)(**_minimal_params(operation))
    except ClientError as error:
        assert error.response["Error"]["Code"] != "UnknownOperationException", operation
    except ParamValidationError:  # pragma: no cover - raw_client does not validate
        pytest.fail(f"{operation}: parameters refused by botocore")
