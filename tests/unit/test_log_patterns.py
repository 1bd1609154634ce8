"""Filter patterns, case by case from AWS's documented examples."""

from __future__ import annotations

import pytest

from hearth.logs.patterns import PatternError, compile_pattern, split_fields

LINES = [
    "[ERROR] Failed to process request",
    "[WARN] Retrying after timeout",
    "INFO Exiting normally",
    "ERROR Exiting on signal",
]


def matching(pattern: str, lines: list[str] = LINES) -> list[int]:
    matcher = compile_pattern(pattern)
    return [i for i, line in enumerate(lines) if matcher(line)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", [0, 1, 2, 3]),
        ("ERROR", [0, 3]),
        ("error", []),  # case-sensitive
        ("ERROR Exiting", [3]),
        ("?ERROR ?WARN", [0, 1, 3]),
        ("ERROR -Exiting", [0]),
        ('"Failed to process"', [0]),
        ('"to process" ERROR', [0]),
        ("%Retry(ing)?%", [1]),
        ("%^INFO%", [2]),
    ],
)
def test_terms(pattern: str, expected: list[int]) -> None:
    assert matching(pattern) == expected


JSON_LINES = [
    '{"level": "ERROR", "latency": 250, "user": {"id": 7, "admin": true}, "tags": ["a", "b"]}',
    '{"level": "INFO", "latency": 12, "user": {"id": 8, "admin": false}, "note": null}',
    "2024-01-01T00:00:00Z abc INFO not json at all",
    '2024-01-01T00:00:00.000Z\treq-1\tERROR\t{"level": "ERROR", "latency": "90"}',
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.level = "ERROR" }', [0, 3]),
        ("{ $.level = ERROR }", [0, 3]),
        ('{ $.level != "ERROR" }', [1]),
        ("{ $.latency > 100 }", [0]),
        ("{ $.latency < 100 }", [1, 3]),  # "90" compares as a number
        ("{ $.latency >= 250 && $.level = ERROR }", [0]),
        ('{ $.level = "INFO" || $.latency > 200 }', [0, 1]),
        ("{ ($.latency > 200 || $.latency < 20) && $.user.admin IS FALSE }", [1]),
        ("{ $.user.admin IS TRUE }", [0]),
        ("{ $.note IS NULL }", [1]),
        ("{ $.note NOT EXISTS }", [0, 3]),
        ("{ $.user.id = 7 }", [0]),
        ('{ $.tags[1] = "b" }', [0]),
        ('{ $.level = "ERR*" }', [0, 3]),
        ('{ $.level = "*FO" }', [1]),
        ("{ $.level = %^E.R% }", [0, 3]),
    ],
)
def test_json(pattern: str, expected: list[int]) -> None:
    assert matching(pattern, JSON_LINES) == expected


ACCESS = [
    '127.0.0.1 frank alice [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '127.0.0.2 - bob [10/Oct/2000:13:35:22 -0700] "GET /apache.gif HTTP/1.0" 200 2326',
    '10.0.0.1 - eve [10/Oct/2000:13:50:35 -0700] "POST /login HTTP/1.0" 500 12',
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, identity, user, timestamp, request, status, bytes]", [0, 1, 2]),
        ("[ip, identity, user, timestamp, request, status]", []),  # seven fields, six slots
        ("[ip, identity, user, timestamp, request, status = 404, bytes]", [0]),
        ("[ip, identity, user, timestamp, request, status = 4*, bytes > 1000]", [0]),
        ("[ip, identity, user, timestamp, request, status != 200, bytes]", [0, 2]),
        ("[..., status = 5* || status = 4*, bytes]", [0, 2]),
        ("[ip = 127.0.0.*, ...]", [0, 1]),
        ('[..., request = "*POST*", status, bytes]', [2]),
        ("[ip, ..., bytes < 100]", [2]),
    ],
)
def test_space_delimited(pattern: str, expected: list[int]) -> None:
    assert matching(pattern, ACCESS) == expected


def test_fields_keep_quotes_and_brackets_whole() -> None:
    assert split_fields(ACCESS[0])[3:5] == [
        "10/Oct/2000:13:25:15 -0700",
        "GET /index.html HTTP/1.0",
    ]


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.level = ",
        "{ level = ERROR }",
        "{ $.a > abc }",
        "{ $.a = 1 ",
        "{ $.a = 1 } extra }",
        "[a, b = ]",
        "[a, , b]",
        "%(unclosed%",
        "x" * 1025,
        "{ $.a IS MAYBE }",
    ],
)
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(pattern)
