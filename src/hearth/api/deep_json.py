"""Is this JSON? Answered without recursion, for documents nested past Python's stack.

`json.loads` recurses once per level and gives out near 1,000 levels; AWS accepts an Invoke
payload nested deeper than that (the function's own runtime decides what it can read), so
Invoke checks such a payload with this loop instead: one explicit stack, C-speed strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import cast

# The C string scanner json.loads itself uses (not in typeshed's stubs).
scanstring = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_LITERALS = ("true", "false", "null")


def is_json(text: str) -> bool:
    """Whether `text` is one JSON value (RFC 8259), however deeply nested."""
    try:
        return _scan(text)
    except (json.JSONDecodeError, ValueError):
        return False


def _scan(text: str) -> bool:
    stack: list[str] = []  # "{" or "[" for each open container
    i = _skip(text, 0)
    expect_value = True
    while True:
        if expect_value:
            if i >= len(text):
                return False
            char = text[i]
            if char in "{[":
                stack.append(char)
                i = _skip(text, i + 1)
                close = "}" if char == "{" else "]"
                if i < len(text) and text[i] == close:  # empty container
                    stack.pop()
                    i = _skip(text, i + 1)
                    expect_value = False
                    continue
                if char == "{":
                    i = _key(text, i)
                continue
            i = _skip(text, _scalar(text, i))
            expect_value = False
            continue
        if not stack:
            return i == len(text)
        if i >= len(text):
            return False
        char = text[i]
        if char == ",":
            i = _skip(text, i + 1)
            if stack[-1] == "{":
                i = _key(text, i)
            expect_value = True
        elif char == ("}" if stack[-1] == "{" else "]"):
            stack.pop()
            i = _skip(text, i + 1)
        else:
            return False


def _skip(text: str, i: int) -> int:
    found = _SPACE.match(text, i)
    return found.end() if found else i


def _key(text: str, i: int) -> int:
    """Past `"key" :` and the space after it."""
    if i >= len(text) or text[i] != '"':
        raise ValueError("expected a key")
    _, i = scanstring(text, i + 1)
    i = _skip(text, i)
    if i >= len(text) or text[i] != ":":
        raise ValueError("expected ':'")
    return _skip(text, i + 1)


def _scalar(text: str, i: int) -> int:
    """The end of the string, number or literal at `i`."""
    if text[i] == '"':
        return int(scanstring(text, i + 1)[1])
    for literal in _LITERALS:
        if text.startswith(literal, i):
            return i + len(literal)
    found = _NUMBER.match(text, i)
    if found is None or found.end() == i:
        raise ValueError("expected a value")
    return found.end()
