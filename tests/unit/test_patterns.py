"""The EventBridge pattern language, table-driven from the cases AWS answered.

The table is /work/shared/spec/aws-recorded/events/event_pattern_templates (copied under
tests/unit/data/event_patterns so the suite does not depend on the shared tree): `_NEG` files do
not match, `_EXC` files are rejected with the message recorded in test_events_patterns.snapshot.json,
the rest match. Cases below the recorded table cover what AWS documents but was not recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hearth.events.patterns import InvalidPatternError, Pattern, matches, validate_pattern

DATA = Path(__file__).parent / "data" / "event_patterns"
TEMPLATES = sorted((DATA / "templates").glob("*.json5"))
RECORDED: dict[str, Any] = json.loads((DATA / "test_events_patterns.snapshot.json").read_text())


def _json5(text: str) -> Any:
    """The templates' JSON5: whole-line // comments and trailing commas, nothing else."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def _recorded_message(name: str) -> str:
    key = f"tests/aws/services/events/test_events_patterns.py::TestEventPattern::test_event_pattern[{name}]"
    content = RECORDED[key]["recorded-content"][name]
    return str(content["exception_message"]["Error"]["Message"])


def test_the_recorded_table_is_all_there() -> None:
    assert len(TEMPLATES) >= 150
    assert sum(t.stem.endswith("_EXC") for t in TEMPLATES) >= 35


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_recorded_case(template: Path) -> None:
    case = _json5(template.read_text())
    name = template.stem
    if name.endswith("_EXC"):
        with pytest.raises(InvalidPatternError) as raised:
            validate_pattern(json.dumps(case["EventPattern"]))
        assert raised.value.message == _recorded_message(name)
        return
    pattern = validate_pattern(case["EventPattern"])
    assert matches(pattern, case["Event"]) is (not name.endswith("_NEG"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "this is valid json but not a dict",
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or "
            "token 'null', 'true' or 'false')",
        ),
        (
            "{'bad': 'quotation'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
        ),
        ('["not", "a", "dict", "but valid json"]', "Filter is not an object"),
        ('"a string"', "Filter is not an object"),
    ],
)
def test_malformed_json_is_rejected_with_aws_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidPatternError) as raised:
        validate_pattern(text)
    assert raised.value.reason == reason
    assert raised.value.message == f"Event pattern is not valid. Reason: {reason}"


# Documented but not recorded: (pattern, event, expected match).
DOCUMENTED: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    (
        "array consistency: fields of one array element",
        {"a": {"b": [1], "c": [4]}},
        {"a": [{"b": 1, "c": 2}, {"b": 3, "c": 4}]},
        False,
    ),
    (
        "array consistency: same element",
        {"a": {"b": [3], "c": [4]}},
        {"a": [{"b": 1, "c": 2}, {"b": 3, "c": 4}]},
        True,
    ),
    ("nested arrays of scalars", {"tags": ["x"]}, {"tags": [["w"], ["x", "y"]]}, True),
    ("exists true on null", {"k": [{"exists": True}]}, {"k": None}, True),
    ("exists false on present", {"k": [{"exists": False}]}, {"k": "v"}, False),
    ("or at top level", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}, True),
    ("or at top level, neither", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "3"}, False),
    (
        "or combined with a field",
        {"x": ["y"], "$or": [{"a": ["1"]}, {"b": ["2"]}]},
        {"x": "z", "a": "1"},
        False,
    ),
    (
        "nested or",
        {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]},
        {"c": "3"},
        True,
    ),
    ("numeric lower only inclusive", {"n": [{"numeric": [">=", 5]}]}, {"n": 5}, True),
    ("numeric upper exclusive", {"n": [{"numeric": ["<", 5]}]}, {"n": 5}, False),
    ("numeric on bool is no match", {"n": [{"numeric": [">", 0]}]}, {"n": True}, False),
    ("exact number not bool", {"n": [1]}, {"n": True}, False),
    ("wildcard escape", {"s": [{"wildcard": "a\\*b*"}]}, {"s": "a*bcd"}, True),
    ("wildcard escape literal only", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"}, False),
    ("anything-but number vs string", {"n": [{"anything-but": 5}]}, {"n": "5"}, True),
    (
        "anything-but wildcard list on missing",
        {"n": [{"anything-but": {"wildcard": ["a*"]}}]},
        {},
        False,
    ),
    ("empty pattern matches all", {}, {"anything": 1}, True),
    ("lambda sqs body", {"body": {"kind": ["order"]}}, {"body": {"kind": "order"}}, True),
    ("prefix is case sensitive", {"s": [{"prefix": "Abc"}]}, {"s": "abcd"}, False),
    ("cidr v4 vs v6 address", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "::1"}, False),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [case[1:] for case in DOCUMENTED],
    ids=[case[0] for case in DOCUMENTED],
)
def test_documented_case(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected


INVALID: list[tuple[Any, str]] = [
    ({"k": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
    ({"k": [{"prefix": "a", "suffix": "b"}]}, "Only one key allowed in match expression"),
    ({"k": [{"numeric": ["==", 1]}]}, "Unrecognized numeric range operator: =="),
    ({"k": [{"numeric": ["<", 1, ">", 0]}]}, "Bad numeric range operator: >"),
    ({"k": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
    ({"k": [{"numeric": [">", 0, "<", 5, "=", 1]}]}, "Too many terms in numeric range expression"),
    ({"k": [{"numeric": ["=", "1"]}]}, "Value of = must be numeric"),
    ({"k": [{"anything-but": {"numeric": [">", 1]}}]}, "Unsupported anything-but pattern: numeric"),
    (
        {"k": [{"anything-but": True}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    ({"k": [["nested"]]}, "Match value must be String, number, true, false, or null"),
    ({"$or": [{"a": ["1"]}]}, "Or relationship must have at least 2 members"),
    ({"$or": {"a": ["1"]}}, "Or relationship must be an array of objects"),
    ({"k": [{"cidr": "10.0.0.0/33"}]}, "Malformed CIDR, mask bits must be between 0 and 32"),
    ({"k": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2"),
    ({"k": {"j": "scalar"}}, '"j" must be an object or an array'),
]


@pytest.mark.parametrize(("pattern", "reason"), INVALID, ids=[r for _, r in INVALID])
def test_invalid_pattern(pattern: Any, reason: str) -> None:
    with pytest.raises(InvalidPatternError) as raised:
        validate_pattern(pattern)
    assert raised.value.reason == reason


def test_validated_pattern_is_reused_and_keeps_its_source() -> None:
    pattern = validate_pattern('{"a": ["b"]}')
    assert isinstance(pattern, Pattern)
    assert validate_pattern(pattern) is pattern
    assert pattern.source == {"a": ["b"]}
    assert matches(pattern, {"a": "b"})
    assert matches('{"a": ["b"]}', {"a": ["c", "b"]})
