"""CloudWatch Logs filter patterns: parse once, then test messages.

The three forms AWS documents ("Filter pattern syntax for metric filters, subscription filters
and filter log events"):

- terms: `ERROR`, `"quoted phrase"` (all must appear, case-sensitive), `?ERROR ?WARN` (any),
  `-Exiting` (must not appear), `%regex%`;
- JSON: `{ $.level = "ERROR" }`, `{ $.latency > 100 && ($.a IS TRUE || $.b NOT EXISTS) }`,
  with `*` wildcards in strings and `%regex%` values; a message that is not a JSON object
  never matches;
- space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`, fields split on spaces with
  `"..."` and `[...]` kept whole, `...` standing for any number of fields.

A pattern AWS would reject raises `PatternError` (the API answers InvalidParameterException).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Matcher = Callable[[str], bool]

MAX_PATTERN_LENGTH = 1024


class PatternError(ValueError):
    """The filter pattern is not valid."""


def compile_pattern(pattern: str) -> Matcher:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"Filter pattern must be at most {MAX_PATTERN_LENGTH} characters")
    text = pattern.strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("Invalid character(s) in term")
        return _json_matcher(text[1:-1])
    if text.startswith("["):
        if not text.endswith("]"):
            raise PatternError("Invalid character(s) in term")
        return _delimited_matcher(text[1:-1])
    return _terms_matcher(text)


# --- terms ---------------------------------------------------------------------------------
_TERM = re.compile(r'\s*([?-]?)(?:"((?:[^"\\]|\\.)*)"|%([^%]+)%|([^\s"%]+))')


def _terms_matcher(text: str) -> Matcher:
    required: list[Matcher] = []
    optional: list[Matcher] = []
    excluded: list[Matcher] = []
    position = 0
    while position < len(text):
        found = _TERM.match(text, position)
        if found is None:
            if not text[position:].strip():
                break
            raise PatternError("Invalid character(s) in term")
        position = found.end()
        prefix, quoted, regex, bare = found.groups()
        if regex is not None:
            term = _regex(regex)
        else:
            word = _unescape(quoted) if quoted is not None else bare
            if bare is not None and not re.fullmatch(r"[\w.:/@*+=,-]+", bare):
                raise PatternError("Invalid character(s) in term")
            term = _contains(word)
        {"": required, "?": optional, "-": excluded}[prefix].append(term)

    def matches(message: str) -> bool:
        return (
            all(t(message) for t in required)
            and (not optional or any(t(message) for t in optional))
            and not any(t(message) for t in excluded)
        )

    return matches


def _contains(word: str) -> Matcher:
    return lambda message: word in message


def _regex(source: str) -> Matcher:
    try:
        compiled = re.compile(source)
    except re.error as exc:
        raise PatternError(f"Invalid regex: {exc}") from exc
    return lambda message: compiled.search(message) is not None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# --- values shared by JSON and space-delimited patterns -------------------------------------
@dataclass(frozen=True)
class _Value:
    """The right-hand side of a comparison: a number, a string (maybe with `*`), a regex."""

    text: str
    number: float | None
    wildcard: re.Pattern[str] | None
    regex: re.Pattern[str] | None


def _value(token: str, quoted: bool, regex: bool = False) -> _Value:
    if regex:
        try:
            return _Value(token, None, None, re.compile(token))
        except re.error as exc:
            raise PatternError(f"Invalid regex: {exc}") from exc
    number = None
    if not quoted:
        try:
            number = float(token)
        except ValueError:
            number = None
        if number is not None and not math.isfinite(number):
            number = None
    wildcard = None
    if "*" in token:
        wildcard = re.compile(".*".join(re.escape(part) for part in token.split("*")), re.DOTALL)
    return _Value(token, number, wildcard, None)


def _compare(actual: Any, op: str, value: _Value) -> bool:
    """`actual` is a JSON value or a field's text; a missing field never matches."""
    if actual is None or isinstance(actual, dict | list):
        return False
    if op in ("<", ">", "<=", ">="):
        number = _as_number(actual)
        if number is None or value.number is None:
            return False
        return {
            "<": number < value.number,
            ">": number > value.number,
            "<=": number <= value.number,
            ">=": number >= value.number,
        }[op]
    equal = _equals(actual, value)
    return equal if op == "=" else not equal


def _equals(actual: Any, value: _Value) -> bool:
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    if value.regex is not None:
        return value.regex.search(str(actual)) is not None
    if value.number is not None:
        number = _as_number(actual)
        if number is not None:
            return number == value.number
    text = actual if isinstance(actual, str) else json.dumps(actual)
    if value.wildcard is not None:
        return value.wildcard.fullmatch(text) is not None
    return text == value.text


def _as_number(actual: Any) -> float | None:
    if isinstance(actual, bool):
        return None
    if isinstance(actual, int | float):
        return float(actual)
    try:
        return float(actual)
    except (TypeError, ValueError):
        return None


# --- expressions: a tiny tokenizer and recursive-descent parser -----------------------------
_TOKENS = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%[^%]+%)
    | (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|,)
    | (?P<word>[^\s"%&|!=<>(),]+)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TOKENS.match(text, position)
        if found is None or found.end() == position:
            raise PatternError("Invalid character(s) in term")
        position = found.end()
        kind = found.lastgroup
        assert kind is not None
        tokens.append((kind, found.group(kind)))
    return tokens


Predicate = Callable[[Any], bool]


class _Parser:
    """`or := and ('||' and)*; and := unary ('&&' unary)*; unary := '(' or ')' | comparison`."""

    def __init__(self, tokens: list[tuple[str, str]], comparison: Callable[[_Parser], Predicate]):
        self.tokens = tokens
        self.at = 0
        self._comparison = comparison

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise PatternError("Unexpected end of filter pattern")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise PatternError(f"Expected {text!r} in filter pattern")

    def parse_or(self) -> Predicate:
        terms = [self.parse_and()]
        while self.peek() == ("op", "||"):
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else lambda x: any(t(x) for t in terms)

    def parse_and(self) -> Predicate:
        terms = [self.parse_unary()]
        while self.peek() == ("op", "&&"):
            self.take()
            terms.append(self.parse_unary())
        return terms[0] if len(terms) == 1 else lambda x: all(t(x) for t in terms)

    def parse_unary(self) -> Predicate:
        if self.peek() == ("op", "("):
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self._comparison(self)

    def value(self) -> _Value:
        kind, text = self.take()
        if kind == "string":
            return _value(_unescape(text[1:-1]), quoted=True)
        if kind == "regex":
            return _value(text[1:-1], quoted=False, regex=True)
        if kind == "word":
            return _value(text, quoted=False)
        raise PatternError(f"Unexpected {text!r} in filter pattern")


# --- JSON ----------------------------------------------------------------------------------
_SELECTOR = re.compile(r"\$((?:\.[A-Za-z_@$][\w@$-]*|\[\d+\])*)")
_STEP = re.compile(r"\.([A-Za-z_@$][\w@$-]*)|\[(\d+)\]")
_MISSING = object()


def _select(document: Any, path: list[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(document, list) or step >= len(document):
                return _MISSING
            document = document[step]
        else:
            if not isinstance(document, dict) or step not in document:
                return _MISSING
            document = document[step]
    return document


def _json_comparison(parser: _Parser) -> Predicate:
    kind, text = parser.take()
    selector = _SELECTOR.fullmatch(text) if kind == "word" else None
    if selector is None or text == "$":
        raise PatternError(f"Invalid selector {text!r}: a selector starts with $.")
    path: list[str | int] = [
        int(index) if index else name for name, index in _STEP.findall(selector.group(1))
    ]
    kind, op = parser.take()
    if kind == "word" and op in ("IS", "NOT"):
        _, word = parser.take()
        if op == "NOT":
            if word != "EXISTS":
                raise PatternError("Expected NOT EXISTS in filter pattern")
            return lambda doc: _select(doc, path) is _MISSING
        if word == "NULL":
            return lambda doc: _select(doc, path) is None
        if word in ("TRUE", "FALSE"):
            wanted = word == "TRUE"
            return lambda doc: _select(doc, path) is wanted
        raise PatternError("Expected IS TRUE, IS FALSE or IS NULL in filter pattern")
    if kind != "op" or op not in ("=", "!=", "<", ">", "<=", ">="):
        raise PatternError(f"Expected a comparison after {text}")
    value = parser.value()
    if op not in ("=", "!=") and value.number is None:
        raise PatternError(f"Operator {op} needs a number")

    def compare(doc: Any) -> bool:
        found = _select(doc, path)
        return found is not _MISSING and _compare(found, op, value)

    return compare


def _json_matcher(body: str) -> Matcher:
    parser = _Parser(_tokenize(body), _json_comparison)
    predicate = parser.parse_or()
    if parser.peek() is not None:
        raise PatternError(f"Unexpected {parser.peek()[1]!r} in filter pattern")  # type: ignore[index]

    def matches(message: str) -> bool:
        start = message.find("{")
        if start < 0:
            return False
        try:
            document = json.loads(message[start:])
        except ValueError:
            return False
        return isinstance(document, dict) and predicate(document)

    return matches


# --- space-delimited -----------------------------------------------------------------------
_FIELD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')
_ELLIPSIS = "..."


def split_fields(message: str) -> list[str]:
    """A message's fields: split on spaces, `"..."` and `[...]` kept whole (without them)."""
    fields = []
    for quoted, bracketed, bare in _FIELD.findall(message):
        fields.append(quoted or bracketed or bare)
    return fields


def _slot_comparison(parser: _Parser) -> Predicate:
    kind, name = parser.take()
    if kind != "word":
        raise PatternError(f"Expected a field name, got {name!r}")
    kind, op = parser.take()
    if kind != "op" or op not in ("=", "!=", "<", ">", "<=", ">="):
        raise PatternError(f"Expected a comparison after {name}")
    value = parser.value()
    return lambda field: _compare(field, op, value)


def _delimited_matcher(body: str) -> Matcher:
    slots: list[Predicate | None] = []  # None: `...`
    for part in _split_top(body):
        text = part.strip()
        if text == _ELLIPSIS:
            slots.append(None)
            continue
        if not text:
            raise PatternError("Empty field in filter pattern")
        if re.fullmatch(r"[\w.$@-]+", text):
            slots.append(lambda field: True)
            continue
        parser = _Parser(_tokenize(text), _slot_comparison)
        predicate = parser.parse_or()
        if parser.peek() is not None:
            raise PatternError("Invalid character(s) in term")
        slots.append(predicate)

    def matches(message: str) -> bool:
        return _match_slots(slots, split_fields(message))

    return matches


def _split_top(body: str) -> list[str]:
    """Split on commas outside quotes."""
    parts, current, quoted = [], "", False
    for char in body:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _match_slots(slots: list[Predicate | None], fields: list[str]) -> bool:
    if not slots:
        return not fields
    head, rest = slots[0], slots[1:]
    if head is None:
        return any(_match_slots(rest, fields[skip:]) for skip in range(len(fields) + 1))
    return bool(fields) and head(fields[0]) and _match_slots(rest, fields[1:])
