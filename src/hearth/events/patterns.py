"""The EventBridge event pattern language: validation with AWS's messages, and matching.

One pure module, shared by event source mapping filters (`FilterCriteria`), EventBridge rules
and SNS filter policies. Its public surface is two functions and two types:

* `validate_pattern(text_or_dict) -> Pattern` parses and checks a pattern; a bad one raises
  `InvalidPatternError`, whose `reason` is AWS's text after "Reason: " and whose `message` is
  the whole sentence EventBridge sends with `InvalidEventPatternException`.
* `matches(pattern, event) -> bool` says whether an event (a JSON object) matches.

Semantics, as AWS applies them (the recorded cases in tests/unit/test_patterns.py are the
spec): keys are compared after joining nested keys with dots on both sides, so
``{"a": {"b": ...}}`` and ``{"a.b": ...}`` name the same field; only leaves (strings, numbers,
booleans, null) are values, an empty array is no value at all; a field's list of matchers is an
OR; fields are an AND; a value that is an array matches when any element does; fields matched
inside objects of one array must come from the same element of it (AWS's "array consistency").
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["InvalidPatternError", "Pattern", "matches", "validate_pattern"]

Json = Any  # what json.loads returns

# AWS rejects wildcard patterns whose matching could blow up; its exact measure is not
# published. Six wildcards is the smallest case recorded as "too complex".
_MAX_WILDCARDS: Final = 5
_NUMERIC_OPERATORS: Final = ("=", "<", "<=", ">", ">=")
_OPERATORS: Final = frozenset(
    {
        "prefix",
        "suffix",
        "anything-but",
        "numeric",
        "exists",
        "equals-ignore-case",
        "wildcard",
        "cidr",
    }
)


class InvalidPatternError(ValueError):
    """A pattern AWS would reject; `reason` is AWS's text, `message` the full sentence."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"Event pattern is not valid. Reason: {reason}"
        super().__init__(self.message)


# --- compiled matchers -------------------------------------------------------------------------


class _Matcher:
    """One entry of a field's list: says whether one leaf value matches."""

    def test(self, value: Json) -> bool:
        raise NotImplementedError


def _is_number(value: Json) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Exact(_Matcher):
    expected: Json

    def test(self, value: Json) -> bool:
        expected = self.expected
        if expected is None or isinstance(expected, bool):
            return value is expected
        if isinstance(expected, str):
            return isinstance(value, str) and value == expected
        return _is_number(value) and float(value) == float(expected)


@dataclass(frozen=True)
class _Affix(_Matcher):
    """prefix / suffix, optionally ignoring case."""

    text: str
    suffix: bool
    ignore_case: bool = False

    def test(self, value: Json) -> bool:
        if not isinstance(value, str):
            return False
        subject, text = value, self.text
        if self.ignore_case:
            subject, text = subject.casefold(), text.casefold()
        return subject.endswith(text) if self.suffix else subject.startswith(text)


@dataclass(frozen=True)
class _IgnoreCase(_Matcher):
    text: str

    def test(self, value: Json) -> bool:
        return isinstance(value, str) and value.casefold() == self.text.casefold()


@dataclass(frozen=True)
class _Wildcard(_Matcher):
    regex: re.Pattern[str]

    def test(self, value: Json) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class _Numeric(_Matcher):
    lower: float = -math.inf
    lower_inclusive: bool = False
    upper: float = math.inf
    upper_inclusive: bool = False

    def test(self, value: Json) -> bool:
        if not _is_number(value):
            return False
        number = float(value)
        above = number >= self.lower if self.lower_inclusive else number > self.lower
        below = number <= self.upper if self.upper_inclusive else number < self.upper
        return above and below


@dataclass(frozen=True)
class _Cidr(_Matcher):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: Json) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True)
class _AnythingBut(_Matcher):
    """Matches every value the inner matchers do not, null included (as AWS does)."""

    excluded: tuple[_Matcher, ...]

    def test(self, value: Json) -> bool:
        return not any(m.test(value) for m in self.excluded)


@dataclass(frozen=True)
class _Exists(_Matcher):
    """Handled by the field, not per value: `exists` is about presence."""

    present: bool

    def test(self, value: Json) -> bool:
        return self.present


@dataclass(frozen=True)
class _Field:
    path: str
    matchers: tuple[_Matcher, ...]


@dataclass(frozen=True)
class _Node:
    """An AND of fields and of OR groups (each `$or` is one group of alternative nodes)."""

    fields: tuple[_Field, ...] = ()
    ors: tuple[tuple[_Node, ...], ...] = ()


@dataclass(frozen=True)
class Pattern:
    """A validated pattern: `source` is the pattern as given (parsed), ready for `matches`."""

    source: Mapping[str, Json]
    _root: _Node = field(repr=False, compare=False)


# --- validation / compilation ------------------------------------------------------------------


def validate_pattern(pattern: str | bytes | Mapping[str, Json] | Pattern) -> Pattern:
    """Parse and check a pattern; raise `InvalidPatternError` with AWS's reason if it is bad."""
    if isinstance(pattern, Pattern):
        return pattern
    if isinstance(pattern, str | bytes):
        try:
            parsed = json.loads(pattern)
        except (ValueError, RecursionError) as exc:
            raise InvalidPatternError(_json_reason(pattern, exc)) from None
    else:
        parsed = pattern
    if not isinstance(parsed, Mapping):
        raise InvalidPatternError("Filter is not an object")
    return Pattern(source=parsed, _root=_compile_object(parsed, ""))


def _json_reason(text: str | bytes, exc: Exception) -> str:
    # AWS's parser (Jackson) words these differently; the two common shapes carry over.
    source = text.decode(errors="replace") if isinstance(text, bytes) else text
    token = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", source[getattr(exc, "pos", 0) or 0 :])
    if token:
        return (
            f"Unrecognized token '{token.group(1)}': was expecting "
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )
    if "property name" in str(exc):
        position = getattr(exc, "pos", 0) or 0
        char = source[position] if position < len(source) else ""
        return (
            f"Unexpected character ('{char}' (code {ord(char) if char else 0})): "
            "was expecting double-quote to start field name"
        )
    return f"Malformed JSON: {exc}"


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _compile_object(obj: Mapping[str, Json], prefix: str) -> _Node:
    fields: list[_Field] = []
    ors: list[tuple[_Node, ...]] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise InvalidPatternError("Filter is not an object")
        if key == "$or":
            ors.append(_compile_or(value, prefix))
        elif isinstance(value, Mapping):
            nested = _compile_object(value, _join(prefix, key))
            fields.extend(nested.fields)
            ors.extend(nested.ors)
        elif isinstance(value, list):
            fields.append(_Field(_join(prefix, key), _compile_list(value)))
        else:
            raise InvalidPatternError(f'"{key}" must be an object or an array')
    return _Node(tuple(fields), tuple(ors))


def _compile_or(value: Json, prefix: str) -> tuple[_Node, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidPatternError("Or relationship must be an array of objects")
    if len(value) < 2:
        raise InvalidPatternError("Or relationship must have at least 2 members")
    return tuple(_compile_object(v, prefix) for v in value)


def _compile_list(values: list[Json]) -> tuple[_Matcher, ...]:
    if not values:
        raise InvalidPatternError("Empty arrays are not allowed")
    matchers: list[_Matcher] = []
    for value in values:
        if isinstance(value, Mapping):
            matchers.append(_compile_operator(value))
        elif isinstance(value, list):
            raise InvalidPatternError("Match value must be String, number, true, false, or null")
        else:
            matchers.append(_Exact(value))
    return tuple(matchers)


def _compile_operator(obj: Mapping[str, Json]) -> _Matcher:
    if len(obj) != 1:
        raise InvalidPatternError("Only one key allowed in match expression")
    ((name, arg),) = obj.items()
    if name not in _OPERATORS:
        raise InvalidPatternError(f"Unrecognized match type {name}")
    if name in ("prefix", "suffix"):
        return _compile_affix(name, arg)
    if name == "equals-ignore-case":
        if not isinstance(arg, str):
            raise InvalidPatternError("equals-ignore-case match pattern must be a string")
        return _IgnoreCase(arg)
    if name == "wildcard":
        return _compile_wildcard(arg)
    if name == "numeric":
        return _compile_numeric(arg)
    if name == "exists":
        if not isinstance(arg, bool):
            raise InvalidPatternError("exists match pattern must be either true or false.")
        return _Exists(arg)
    if name == "cidr":
        return _compile_cidr(arg)
    return _compile_anything_but(arg)


def _compile_affix(name: str, arg: Json) -> _Matcher:
    suffix = name == "suffix"
    if isinstance(arg, Mapping) and len(arg) == 1 and "equals-ignore-case" in arg:
        inner = arg["equals-ignore-case"]
        if not isinstance(inner, str):
            raise InvalidPatternError("equals-ignore-case match pattern must be a string")
        return _Affix(inner, suffix, ignore_case=True)
    if not isinstance(arg, str):
        raise InvalidPatternError(f"{name} match pattern must be a string")
    return _Affix(arg, suffix)


def _compile_wildcard(arg: Json) -> _Wildcard:
    if not isinstance(arg, str):
        raise InvalidPatternError("wildcard match pattern must be a string")
    parts: list[str] = []
    wildcards = 0
    escaped = False
    previous_star = False
    for position, char in enumerate(arg):
        if escaped:
            if char not in "*\\":
                raise InvalidPatternError(f"Invalid escape character at pos {position}")
            parts.append(re.escape(char))
            escaped = previous_star = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            if previous_star:
                raise InvalidPatternError(f"Consecutive wildcard characters at pos {position}")
            parts.append(".*")
            wildcards += 1
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
    if escaped:
        raise InvalidPatternError(f"Invalid escape character at pos {len(arg) - 1}")
    if wildcards > _MAX_WILDCARDS:
        raise InvalidPatternError(
            "Rule is too complex - try using fewer wildcard characters or fewer repeating "
            "character sequences after a wildcard character"
        )
    return _Wildcard(re.compile("".join(parts), re.DOTALL))


def _compile_numeric(arg: Json) -> _Numeric:
    if not isinstance(arg, list):
        raise InvalidPatternError("Value of numeric must be an array.")
    if not arg:
        raise InvalidPatternError("Empty arrays are not allowed")
    if len(arg) > 4:
        raise InvalidPatternError("Too many terms in numeric range expression")
    bounds: dict[str, Any] = {}
    seen_lower = seen_upper = False
    for index in range(0, len(arg), 2):
        operator = arg[index]
        if not isinstance(operator, str) or operator not in _NUMERIC_OPERATORS:
            raise InvalidPatternError(f"Unrecognized numeric range operator: {operator}")
        if index + 1 >= len(arg) or not _is_number(arg[index + 1]):
            raise InvalidPatternError(f"Value of {operator} must be numeric")
        number = float(arg[index + 1])
        if operator == "=":
            if len(arg) != 2:
                raise InvalidPatternError("Bad numeric range operator: =")
            return _Numeric(number, True, number, True)
        if operator in (">", ">="):
            if seen_lower or seen_upper:
                raise InvalidPatternError(f"Bad numeric range operator: {operator}")
            seen_lower = True
            bounds.update(lower=number, lower_inclusive=operator == ">=")
        else:
            if seen_upper:
                raise InvalidPatternError(f"Bad numeric range operator: {operator}")
            seen_upper = True
            bounds.update(upper=number, upper_inclusive=operator == "<=")
    if seen_lower and seen_upper and bounds["lower"] >= bounds["upper"]:
        raise InvalidPatternError("Bottom must be less than top")
    return _Numeric(**bounds)


def _compile_cidr(arg: Json) -> _Cidr:
    if not isinstance(arg, str):
        # AWS reports a non-string CIDR with the prefix matcher's words.
        raise InvalidPatternError("prefix match pattern must be a string")
    if arg.count("/") != 1:
        raise InvalidPatternError("Malformed CIDR, one '/' required")
    address, bits = arg.split("/")
    if not bits.isdigit():
        raise InvalidPatternError("Malformed CIDR, mask bits must be an integer")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidPatternError(f"Nonstandard IP address: {address}") from None
    if int(bits) > ip.max_prefixlen:
        raise InvalidPatternError(
            f"Malformed CIDR, mask bits must be between 0 and {ip.max_prefixlen}"
        )
    return _Cidr(ipaddress.ip_network(f"{address}/{bits}", strict=False))


_ANYTHING_BUT_SHAPE: Final = "Value of anything-but must be an array or single string/number value."


def _compile_anything_but(arg: Json) -> _AnythingBut:
    if isinstance(arg, str) or _is_number(arg):
        return _AnythingBut((_Exact(arg),))
    if isinstance(arg, list):
        if not arg:
            raise InvalidPatternError("Empty arrays are not allowed")
        if not all(isinstance(v, str) or _is_number(v) for v in arg):
            raise InvalidPatternError(
                "Inside anything but list, start|null|boolean is not supported."
            )
        return _AnythingBut(tuple(_Exact(v) for v in arg))
    if not isinstance(arg, Mapping) or len(arg) != 1:
        raise InvalidPatternError(_ANYTHING_BUT_SHAPE)
    ((name, inner),) = arg.items()
    if isinstance(inner, Mapping):
        raise InvalidPatternError(_ANYTHING_BUT_SHAPE)
    values = inner if isinstance(inner, list) else [inner]
    if not values:
        raise InvalidPatternError("Empty arrays are not allowed")
    if name in ("prefix", "suffix"):
        if not all(isinstance(v, str) for v in values):
            raise InvalidPatternError("prefix/suffix match pattern must be a string")
        if any(v == "" for v in values):
            raise InvalidPatternError("Null prefix/suffix not allowed")
        return _AnythingBut(tuple(_Affix(v, name == "suffix") for v in values))
    if name == "equals-ignore-case":
        if not all(isinstance(v, str) for v in values):
            raise InvalidPatternError(
                "Inside anything-but/equals-ignore-case list, "
                "number|start|null|boolean is not supported."
            )
        return _AnythingBut(tuple(_IgnoreCase(v) for v in values))
    if name == "wildcard":
        if not all(isinstance(v, str) for v in values):
            raise InvalidPatternError("wildcard match pattern must be a string")
        return _AnythingBut(tuple(_compile_wildcard(v) for v in values))
    raise InvalidPatternError(f"Unsupported anything-but pattern: {name}")


# --- matching ----------------------------------------------------------------------------------

# A leaf's position among the event's arrays: (array id, element index) pairs.
_Membership = tuple[tuple[int, int], ...]
_Leaves = dict[str, list[tuple[Json, _Membership]]]


def _flatten(event: Mapping[str, Json]) -> _Leaves:
    leaves: _Leaves = {}
    counter = [0]

    def walk(value: Json, path: str, membership: _Membership) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, _join(path, str(key)), membership)
        elif isinstance(value, list):
            counter[0] += 1
            array_id = counter[0]
            for index, inner in enumerate(value):
                walk(inner, path, (*membership, (array_id, index)))
        else:
            leaves.setdefault(path, []).append((value, membership))

    walk(event, "", ())
    return leaves


def _consistent(bound: dict[int, int], membership: _Membership) -> dict[int, int] | None:
    """The bindings with `membership` added, or None if it names another element of an array."""
    merged = bound
    for array_id, index in membership:
        known = merged.get(array_id)
        if known is None:
            if merged is bound:
                merged = dict(bound)
            merged[array_id] = index
        elif known != index:
            return None
    return merged


def _goals(node: _Node) -> list[_Field | tuple[_Node, ...]]:
    return [*node.fields, *node.ors]


def _solve(
    goals: Sequence[_Field | tuple[_Node, ...]], leaves: _Leaves, bound: dict[int, int]
) -> bool:
    """Backtracking search: can every goal be met with one consistent choice of array elements?"""
    if not goals:
        return True
    goal, rest = goals[0], goals[1:]
    if isinstance(goal, tuple):
        return any(_solve([*_goals(alt), *rest], leaves, bound) for alt in goal)
    return any(
        _solve(rest, leaves, next_bound) for next_bound in _field_options(goal, leaves, bound)
    )


def _field_options(
    goal: _Field, leaves: _Leaves, bound: dict[int, int]
) -> Iterator[dict[int, int]]:
    candidates = leaves.get(goal.path, [])
    for matcher in goal.matchers:
        if isinstance(matcher, _Exists) and not matcher.present:
            if not candidates:
                yield bound
            continue
        for value, membership in candidates:
            if matcher.test(value):
                merged = _consistent(bound, membership)
                if merged is not None:
                    yield merged


def matches(pattern: Pattern | str | Mapping[str, Json], event: Mapping[str, Json]) -> bool:
    """Whether `event` matches `pattern` (validated first if it is not a `Pattern` yet)."""
    compiled = validate_pattern(pattern)
    return _solve(_goals(compiled._root), _flatten(event), {})
