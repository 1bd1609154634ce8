"""Requests generated from botocore's Lambda model, most of them wrong on purpose.

Shared by `test_model_fuzz.py` (a bounded, seeded run in the suite) and `bench/fuzz_bench.py`
(a longer one). Each request starts as a well-typed input serialized by botocore's own rest-json
serializer (so paths, query strings and headers are where AWS expects them), with values drawn
at random: valid, too long, too short, off-pattern, out of range, hostile strings; then the JSON
body may be mutated past what botocore would send: a member of the wrong type, nulls, deep
nesting, huge numbers, a body that is not an object.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer

# The Lambda operations Hearth serves (its router's, by the model's names).
OPERATIONS = (
    "AddPermission",
    "CreateAlias",
    "CreateFunction",
    "DeleteAlias",
    "DeleteFunction",
    "DeleteFunctionConcurrency",
    "DeleteFunctionEventInvokeConfig",
    "DeleteLayerVersion",
    "DeleteProvisionedConcurrencyConfig",
    "GetAccountSettings",
    "GetAlias",
    "GetFunction",
    "GetFunctionConcurrency",
    "GetFunctionConfiguration",
    "GetFunctionEventInvokeConfig",
    "GetLayerVersion",
    "GetLayerVersionByArn",
    "GetPolicy",
    "GetProvisionedConcurrencyConfig",
    "Invoke",
    "InvokeAsync",
    "ListAliases",
    "ListFunctionEventInvokeConfigs",
    "ListFunctions",
    "ListLayerVersions",
    "ListLayers",
    "ListProvisionedConcurrencyConfigs",
    "ListTags",
    "ListVersionsByFunction",
    "PublishLayerVersion",
    "PublishVersion",
    "PutFunctionConcurrency",
    "PutFunctionEventInvokeConfig",
    "PutProvisionedConcurrencyConfig",
    "RemovePermission",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "UpdateFunctionEventInvokeConfig",
)
# Names that exist on the server under test (created by the caller), so some requests reach
# real records instead of stopping at ResourceNotFound.
KNOWN_FUNCTION = "fuzz-target"
_HOSTILE = [
    "",
    " ",
    "../../etc/passwd",
    "a/b",
    "%2F",
    "$LATEST",
    "\u00e9\u4e2d\U0001f600",
    "\x00",
    "'; DROP TABLE functions; --",
    "9" * 30,
    "-1",
    "arn:aws:lambda:us-east-1:123456789012:function:" + KNOWN_FUNCTION,
    "x" * 300,
]

# Values that pass every check, so that requests get as far as storing what else they carry.
_PLAUSIBLE = {
    "Role": "arn:aws:iam::123456789012:role/fuzz",
    "Runtime": "python3.12",
    "Handler": "app.handler",
}


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


_ZIP = _handler_zip()


@dataclass
class Generated:
    operation: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._model = botocore.session.get_session().get_service_model("lambda")
        self._serializer = create_serializer("rest-json", include_validation=False)
        self._target: str | None = None  # the member a body mutation goes for first

    def requests(self, count: int) -> Iterator[Generated]:
        for _ in range(count):
            operation = self._model.operation_model(self._rng.choice(OPERATIONS))
            try:
                yield self._one(operation)
            except (ValueError, TypeError, KeyError):  # botocore would not serialize it
                continue

    def _one(self, operation: OperationModel) -> Generated:
        rng = self._rng
        params: dict[str, Any] = {}
        shape = operation.input_shape
        if operation.name == "CreateFunction" and rng.random() < 0.5:
            # Nearly valid: one optional member drawn (or mistyped below), the rest correct, so
            # what gets past the checks is stored and must read back.
            params = {
                "FunctionName": f"fuzz-{rng.randrange(10**6)}",
                "Code": {"ZipFile": _ZIP},
                **_PLAUSIBLE,
            }
            assert shape is not None
            extra = rng.choice(sorted(set(shape.members) - set(params)))
            params[extra] = self._value(shape.members[extra], extra, depth=0)
            self._target = extra
        elif shape is not None:
            self._target = None
            for name, member in shape.members.items():
                required = name in shape.required_members
                if (required and rng.random() < 0.95) or (not required and rng.random() < 0.25):
                    params[name] = self._value(member, name, depth=0)
        serialized = self._serializer.serialize_to_request(params, operation)
        path = serialized["url_path"]
        query = serialized["query_string"]
        if query:
            path += "?" + (query if isinstance(query, str) else urlencode(query, doseq=True))
        headers = {k: str(v) for k, v in serialized["headers"].items()}
        body = serialized["body"] or b""
        body = body.encode() if isinstance(body, str) else body
        if body and operation.name not in ("Invoke", "InvokeAsync") and rng.random() < 0.5:
            body = self._mutate(body)
        elif operation.name in ("Invoke", "InvokeAsync"):
            body = self._payload()
        headers["Content-Length"] = str(len(body))
        return Generated(operation.name, serialized["method"], path, headers, body)

    def _value(self, shape: Shape, name: str, depth: int) -> Any:  # noqa: PLR0911, PLR0912
        """A value for `shape`: one branch per model type, so the type switch stays whole."""
        rng, kind, meta = self._rng, shape.type_name, shape.metadata
        if kind == "structure":
            if depth > 4:
                return {}
            members = shape.members  # type: ignore[attr-defined]
            return {
                n: self._value(m, n, depth + 1)
                for n, m in members.items()
                if rng.random() < 0.5 or n in shape.required_members
            }
        if kind == "list":
            member = shape.member  # type: ignore[attr-defined]
            return [self._value(member, name, depth + 1) for _ in range(rng.choice([0, 1, 2, 7]))]
        if kind == "map":
            key, value = shape.key, shape.value  # type: ignore[attr-defined]
            return {
                str(self._value(key, name, depth + 1)): self._value(value, name, depth + 1)
                for _ in range(rng.choice([0, 1, 3]))
            }
        if kind in ("integer", "long"):
            low, high = meta.get("min", 0), meta.get("max", 10_000)
            return rng.choice([low, high, low - 1, high + 1, 0, -(2**31), 2**31 - 1, 7])
        if kind in ("double", "float"):
            return rng.choice([0.0, 0.5, 1.0, -1.0, 2.0, 1e300])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            return rng.choice([0, 1_700_000_000])
        if kind == "blob":
            if name == "ZipFile" and rng.random() < 0.8:
                return _ZIP
            return rng.choice([b"", b"PK\x05\x06" + b"\x00" * 18, b"not a zip", b"{}"])
        enum = getattr(shape, "enum", None)
        roll = rng.random()
        if name in _PLAUSIBLE and roll < 0.7:
            return _PLAUSIBLE[name]
        if name == "FunctionName" and roll < 0.3:
            return f"fuzz-{rng.randrange(10**6)}"  # new: CreateFunction stores what it got
        if enum and roll < 0.6:
            return rng.choice(list(enum))
        if name in ("FunctionName", "Resource") and roll < 0.75:
            return KNOWN_FUNCTION
        if roll < 0.85:
            return rng.choice(_HOSTILE)
        return "".join(rng.choice("abcXYZ019-_.:/$") for _ in range(rng.randint(1, 200)))

    def _mutate(self, body: bytes) -> bytes:
        rng = self._rng
        try:
            document = json.loads(body)
        except ValueError:
            return body
        choice = rng.random()
        if choice < 0.1:
            return rng.choice([b"[]", b"1", b'"s"', b"null", b"{", b"\xff\xfe", b"{}" * 3])
        if choice < 0.2:
            depth = rng.choice([100, 979, 5000])
            return b'{"a":' + b"[" * depth + b"]" * depth + b"}"
        if isinstance(document, dict) and document:
            key = self._target if self._target in document else rng.choice(sorted(document))
            document[key] = rng.choice(
                [
                    123,
                    True,
                    None,
                    "str",
                    [1, "a"],
                    {"x": 1},
                    2**64,
                    -(2**63) - 1,
                    1.5,
                    [[[[[]]]]],
                    {"Variables": {"A": 1}},
                ]
            )
        return json.dumps(document).encode()

    def _payload(self) -> bytes:
        rng = self._rng
        depth = rng.choice([1, 50, 979, 3000])
        return rng.choice(
            [
                b"{}",
                b"[" * depth + b"]" * depth,
                b'{"k":' * depth + b"1" + b"}" * depth,
                b"not json",
                b"",
            ]
        )


def send(endpoint: str, request: Generated, timeout: float = 30) -> tuple[int, bytes]:
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = quote(request.path, safe="/?&=%:$@!*'(),;+~-._")
        headers = {k: v.encode() for k, v in request.headers.items()}  # UTF-8, as sent raw
        connection.request(request.method, path, body=request.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
