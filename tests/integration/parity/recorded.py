"""AWS's recorded answers, and the comparison of an answer with one of them.

The recordings replace values that differ per run by placeholders (`<function-name:1>`,
`<uuid:2>`, numbered in order of first appearance within a case; unnumbered ones such as
`<fn-name>` stand for any value). A placeholder binds to the first value it meets and must
meet the same value everywhere else in the case; two placeholders of one kind must bind two
different values, so a RevisionId that AWS changed and Hearth kept is a difference.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(os.environ.get("HEARTH_SPEC_DIR", "/work/shared/spec")) / "aws-recorded" / "lambda_"
ACCOUNT = "111111111111"  # the account the recordings were made in; the server uses it too
REGION = "us-east-1"
# AWS takes a moment to settle a change (the recordings catch `Pending` and `InProgress`).
SERVER_ARGS = ["--account-id", ACCOUNT, "--settle-delay", "0.2"]
_FIXED = {"partition": "aws", "region": REGION}
_PLACEHOLDER = re.compile(r"<([a-z0-9_-]+)(?::(\d+))?>")
# What the recorder kept where AWS answered a call with an internal error.
_INTERNAL_FAILURE = "<aws_internal_failure>"
# A run of one character, as the recorder shortened it: `<a:len(65)>` is 65 a's.
_RUN = re.compile(r"<(.):len\((\d+)\)>")
# Values AWS's recorder replaced by a bare word rather than a placeholder.
_WORD_PLACEHOLDERS = {"date", "datetime"}
# A function URL, which the recorder replaced by this word.
_URL_PLACEHOLDER = "lambda-url"


@cache
def _snapshot(file: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPEC / file).read_text())
    return data


def recorded_case(case: str, file: str = "test_lambda_api.snapshot.json") -> dict[str, Any]:
    """The recorded responses of the case whose key ends with `::case`."""
    for key, value in _snapshot(file).items():
        if key.endswith("::" + case):
            content: dict[str, Any] = value["recorded-content"]
            return content
    raise KeyError(case)


class Bindings:
    """What each numbered placeholder stands for in one case."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def pattern(self, recorded: str) -> tuple[re.Pattern[str], list[str]]:
        regex, pos = "", 0
        groups: list[str] = []
        for found in _PLACEHOLDER.finditer(recorded):
            regex += re.escape(recorded[pos : found.start()])
            pos = found.end()
            kind, number = found.group(1), found.group(2)
            if kind in _FIXED and number is None:
                regex += re.escape(_FIXED[kind])
            elif number is None:
                regex += "(?:.+?)"
            else:
                name = f"{kind}:{number}"
                if name in self.values:
                    regex += re.escape(self.values[name])
                else:
                    # A placeholder stands for one ARN segment at most.
                    regex += f"(?P<g{len(groups)}>[^:]+?)"
                    groups.append(name)
        regex += re.escape(recorded[pos:])
        return re.compile(regex, re.DOTALL), groups

    def match(self, recorded: str, actual: str) -> str | None:
        pattern, groups = self.pattern(recorded)
        found = pattern.fullmatch(actual)
        if found is None:
            return f"{actual!r} does not match {recorded!r}"
        for i, name in enumerate(groups):
            value = found.group(f"g{i}")
            kind = name.split(":")[0]
            clash = [n for n, v in self.values.items() if v == value and n.split(":")[0] == kind]
            if clash:
                return f"{name} is {value!r}, the value {clash[0]} already had"
            self.values[name] = value
        return None


def unwrap(recorded: Any) -> Any:
    """Some recordings wrap a create in `{"CreateFunctionResponse": {...}, "Create...": null}`."""
    if isinstance(recorded, dict) and recorded and all(k.endswith("Response") for k in recorded):
        present = [v for v in recorded.values() if v is not None]
        if len(present) == 1:
            return present[0]
    return recorded


def differences(  # noqa: PLR0911 - one return per kind of recorded value
    recorded: Any, actual: Any, bindings: Bindings, path: str = ""
) -> list[str]:
    """Where `actual` differs from `recorded`, one line per difference."""
    if isinstance(recorded, dict):
        return _dict_differences(recorded, actual, bindings, path)
    if isinstance(recorded, list):
        if not isinstance(actual, list) or len(actual) != len(recorded):
            return [f"{path}: expected {json.dumps(recorded)[:200]}, got {actual!r}"[:400]]
        out: list[str] = []
        for i, (r, a) in enumerate(zip(recorded, actual, strict=True)):
            out += differences(r, a, bindings, f"{path}[{i}]")
        return out
    if recorded == _INTERNAL_FAILURE:
        return []  # AWS failed that call itself: there is no answer of its to match
    if isinstance(recorded, str) and "len(" in recorded:
        recorded = _RUN.sub(lambda m: m.group(1) * int(m.group(2)), recorded)
    if recorded == _URL_PLACEHOLDER:
        ok = isinstance(actual, str) and actual.startswith(("http://", "https://"))
        return [] if ok else [f"{path}: expected a function URL, got {actual!r}"]
    if isinstance(recorded, str) and recorded in _WORD_PLACEHOLDERS:
        # boto3 parses a timestamp member (an event invoke config's LastModified) itself.
        ok = isinstance(actual, str | int | float | datetime.datetime)
        return [] if ok else [f"{path}: got {actual!r}"]
    if isinstance(recorded, str) and _PLACEHOLDER.search(recorded):
        text = actual if isinstance(actual, str) else json.dumps(actual)
        problem = bindings.match(recorded, text)
        return [] if problem is None else [f"{path}: {problem}"]
    if recorded != actual or type(recorded) is not type(actual):
        return [f"{path}: expected {recorded!r}, got {actual!r}"[:600]]
    return []


def _dict_differences(
    recorded: dict[str, Any], actual: Any, bindings: Bindings, path: str
) -> list[str]:
    if isinstance(actual, str) and actual.startswith("{"):
        # The recordings show JSON documents (a Policy, a Statement) parsed.
        actual = json.loads(actual)
    if not isinstance(actual, dict):
        return [f"{path}: expected an object, got {actual!r}"[:600]]
    if path == "" and "ResponseMetadata" in recorded:
        recorded = {**recorded, "ResponseMetadata": _metadata(recorded["ResponseMetadata"])}
        actual = {**actual, "ResponseMetadata": _metadata(actual.get("ResponseMetadata", {}))}
    elif path == "":
        # Some recordings kept an answer without its metadata.
        actual = {k: v for k, v in actual.items() if k != "ResponseMetadata"}
    out = [
        f"{path}.{key}: missing (AWS: {json.dumps(recorded[key])[:120]})"
        for key in sorted(set(recorded) - set(actual))
    ]
    out += [
        f"{path}.{key}: extra ({json.dumps(actual[key], default=str)[:120]})"
        for key in sorted(set(actual) - set(recorded))
    ]
    for key in recorded:
        if key in actual:
            out += differences(recorded[key], actual[key], bindings, f"{path}.{key}")
    return out


def _metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    # Headers differ per run (dates, ids); the status code is what the recordings pin.
    return {"HTTPStatusCode": metadata.get("HTTPStatusCode")}
