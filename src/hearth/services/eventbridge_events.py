"""What EventBridge hands a Lambda target: AWS's event, and the target's input shaping.

Pure (`jsonpath_ng`, which moto brings, evaluates InputPath and InputPathsMap).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def eventbridge_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """AWS's event envelope from moto's message (whose time is epoch seconds)."""
    when = message.get("time")
    if isinstance(when, int | float):
        when = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": message["id"],
        "detail-type": message["detail-type"],
        "source": message["source"],
        "account": message["account"],
        "time": when,
        "region": message["region"],
        "resources": list(message.get("resources", [])),
        "detail": message.get("detail", {}),
    }


def _path(expression: str, event: Mapping[str, Any]) -> Any:
    # moto's dependency, loaded with it; its stubs do not export parse.
    from jsonpath_ng.ext import parse  # type: ignore[attr-defined]  # noqa: PLC0415

    found = [match.value for match in parse(expression).find(event)]
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def target_input(target: Mapping[str, Any], event: dict[str, Any]) -> Any:
    """The payload a target gets: Input (as given), InputPath, InputTransformer, or the event."""
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return _path(target["InputPath"], event)
    transformer = target.get("InputTransformer")
    if transformer:
        values = {
            name: _path(path, event) for name, path in transformer.get("InputPathsMap", {}).items()
        }
        template: str = transformer["InputTemplate"]

        # A template that is not JSON (no {, [ or " first) is plain text: values go in as text.
        plain = not template.lstrip().startswith(("{", "[", '"'))

        def fill(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in values:
                return found.group(0)
            value = values[name]
            before = template[: found.start()]
            # Inside a JSON string (an odd number of unescaped quotes before it) a value goes
            # in as its text; elsewhere as JSON.
            in_string = (before.count('"') - before.count('\\"')) % 2 == 1
            if isinstance(value, str) and (plain or in_string):
                return value if plain else json.dumps(value)[1:-1]
            if plain:
                return json.dumps(value)
            return json.dumps(json.dumps(value))[1:-1] if in_string else json.dumps(value)

        text = _PLACEHOLDER.sub(fill, template)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text  # a plain-text template: the function gets that text as a JSON string
    return event
