"""Reading a template file (YAML with CloudFormation's short-form tags, or JSON) into plain data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hearth.templates.errors import TemplateError

# CloudFormation's short forms: !Ref and !Condition keep their names, the rest gain "Fn::".
_BARE_TAGS = {"Ref", "Condition"}


class _TemplateLoader(yaml.SafeLoader):
    """A SafeLoader of our own, so the CloudFormation tags do not leak into yaml.SafeLoader."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in _BARE_TAGS else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            # !GetAtt Resource.Attribute is the short form of [Resource, Attribute].
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _tagged)
# YAML 1.1 reads "on"/"off"/"yes"/"no" as booleans and dates as dates; CloudFormation keeps
# them as strings ("2012-10-17" must stay a string for policy versions).
_TemplateLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_template(text: str, source: str = "template") -> dict[str, Any]:
    """The template in ``text`` as a dict; TemplateError naming the line for bad YAML/JSON."""
    stripped = text.lstrip()
    try:
        data: Any
        if stripped.startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"{source} line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{source} line {mark.line + 1}, column {mark.column + 1}" if mark else source
        raise TemplateError(place, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(source, f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(source, "a template is a mapping with a Resources section")
    resources = data.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError(f"{source} Resources", "a template needs at least one resource")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(f"Resources.{logical_id}", "a resource needs a Type")
    return data


def load_template(path: Path) -> dict[str, Any]:
    """The template at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(str(path), f"cannot read the template: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TemplateError(str(path), "the template is not UTF-8 text") from None
    return parse_template(text, path.name)
