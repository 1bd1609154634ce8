"""The recursion-free JSON check agrees with json.loads, and goes deeper."""

from __future__ import annotations

import json

import pytest

from hearth.api.deep_json import is_json

VALID = [
    "{}",
    "[]",
    " 1 ",
    '"x"',
    "true",
    "null",
    '{"a": [1, 2.5e-3, -0, "s\\u00e9", {"b": null}], "c": {}}',
    "[[], [[]], {}]",
    '{"a":1,"b":[true,false]}',
]
INVALID = [
    "",
    "{",
    "[1,]",
    '{"a" 1}',
    '{"a": 1,}',
    "[1 2]",
    "01",
    "tru",
    '"unterminated',
    "{1: 2}",
    "[] []",
    "]",
    '{"a": }',
    "nan",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_documents(text: str) -> None:
    json.loads(text)
    assert is_json(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_documents(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert not is_json(text)


def test_past_the_recursion_limit() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)
    assert is_json(deep)
    assert is_json('{"a":' * 50_000 + "1" + "}" * 50_000)
    assert not is_json("[" * 100_000 + "]" * 99_999)
