"""Template Parameters: defaults, overrides (command line and samconfig.toml), checks."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from hearth.templates.errors import TemplateError

_PAIR = re.compile(r"ParameterKey=([^,]+),ParameterValue=(.*)")


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``K=V`` or ``ParameterKey=K,ParameterValue=V`` items (as `sam deploy` takes) as a dict."""
    values: dict[str, str] = {}
    for item in items:
        for part in _split(item):
            found = _PAIR.fullmatch(part)
            if found:
                values[found.group(1)] = found.group(2)
            elif "=" in part:
                key, _, value = part.partition("=")
                values[key.strip()] = value.strip().strip("\"'")
            else:
                raise TemplateError("--parameter-overrides", f"{part!r} is not KEY=VALUE")
    return values


def _split(item: str) -> list[str]:
    # samconfig.toml keeps all overrides in one string: 'A="x y" B=2'.
    if item.startswith("ParameterKey="):
        return [item]
    try:
        return shlex.split(item)
    except ValueError as exc:
        raise TemplateError("--parameter-overrides", f"{item!r}: {exc}") from None


def read_samconfig(directory: Path, environment: str = "default") -> dict[str, Any]:
    """What samconfig.toml (beside the template) says for ``environment``: stack_name and
    parameter_overrides, from the deploy section first, then global, as SAM reads them."""
    path = directory / "samconfig.toml"
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TemplateError(str(path), f"invalid TOML: {exc}") from None
    section = document.get(environment, {})
    found: dict[str, Any] = {}
    for command in ("global", "deploy"):
        found.update(section.get(command, {}).get("parameters", {}))
    overrides = found.get("parameter_overrides")
    if isinstance(overrides, list):
        found["parameter_overrides"] = " ".join(overrides)
    return found


def _check(name: str, spec: dict[str, Any], value: Any) -> str | list[str]:
    place = f"Parameters.{name}"
    kind = str(spec.get("Type", "String"))
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and text not in [str(item) for item in allowed]:
        raise TemplateError(place, f"{text!r} is not one of the AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if isinstance(pattern, str) and not re.fullmatch(pattern, text):
        raise TemplateError(place, f"{text!r} does not match the AllowedPattern {pattern!r}")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(place, f"{text!r} is not a Number") from None
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise TemplateError(place, f"{text} is outside [{low}, {high}]")
    low_len, high_len = spec.get("MinLength"), spec.get("MaxLength")
    if (low_len is not None and len(text) < int(low_len)) or (
        high_len is not None and len(text) > int(high_len)
    ):
        raise TemplateError(place, f"{text!r} is not {low_len} to {high_len} characters long")
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        return [part.strip() for part in text.split(",")] if text else []
    return text


def resolve_parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Each declared parameter's value: an override, else its Default; checked as CloudFormation
    checks them. An override of an undeclared parameter, or a parameter with neither, is an
    error."""
    declared = template.get("Parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("Parameters", "must be a mapping")
    for name in overrides:
        if name not in declared:
            raise TemplateError(f"Parameters.{name}", "is not declared by the template")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if not isinstance(spec, dict):
            raise TemplateError(f"Parameters.{name}", "must be a mapping with a Type")
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(
                f"Parameters.{name}",
                f"has no Default and no value was given (--parameter-overrides {name}=VALUE)",
            )
        values[name] = _check(name, spec, value)
    return values


def pseudo_parameters(region: str, account_id: str, stack_name: str) -> dict[str, Any]:
    """AWS::Region and the other pseudo parameters, as CloudFormation defines them."""
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": (f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/hearth"),
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
