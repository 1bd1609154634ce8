"""Which resource needs which (Ref, Fn::GetAtt, Fn::Sub, DependsOn), and an order to create them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hearth.templates.errors import TemplateError

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _named(  # noqa: PLR0912 - one branch per referring intrinsic
    value: Any, local: frozenset[str] = frozenset()
) -> Iterator[tuple[str, str]]:
    """(name, kind) for every Ref / GetAtt / Sub variable inside ``value``."""
    if isinstance(value, list):
        for item in value:
            yield from _named(item, local)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            yield argument, "Ref"
            return
        if key == "Fn::GetAtt":
            target = argument.split(".", 1)[0] if isinstance(argument, str) else None
            if isinstance(argument, list) and argument and isinstance(argument[0], str):
                target = argument[0]
            if target:
                yield target, "Fn::GetAtt"
            return
        if key == "Fn::Sub":
            text, variables = (
                (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
            )
            names = frozenset(variables) if isinstance(variables, dict) else frozenset()
            if isinstance(text, str):
                for found in _SUB_VARIABLE.finditer(text):
                    name = found.group(1).split(".", 1)[0]
                    if name not in names:
                        yield name, "Fn::Sub"
            yield from _named(variables, local)
            return
    for item in value.values():
        yield from _named(item, local)


def dependencies(
    logical_id: str, resource: dict[str, Any], resources: dict[str, Any], parameters: set[str]
) -> set[str]:
    """The resources ``resource`` refers to; an unknown name is a TemplateError."""
    found: set[str] = set()
    for name, kind in _named(resource.get("Properties", {})):
        if name in parameters or name.startswith("AWS::"):
            continue
        if name not in resources:
            raise TemplateError(
                f"Resources.{logical_id}.Properties",
                f"{kind} to {name!r}, which is neither a parameter nor a resource",
            )
        found.add(name)
    depends_on = resource.get("DependsOn", [])
    for name in [depends_on] if isinstance(depends_on, str) else depends_on:
        if name not in resources:
            raise TemplateError(f"Resources.{logical_id}.DependsOn", f"no resource {name!r}")
        found.add(name)
    return found


def creation_order(resources: dict[str, Any], parameters: set[str]) -> list[str]:
    """The logical ids in an order where each comes after what it needs (template order kept
    where free); a circular reference is a TemplateError naming the cycle."""
    needs = {
        logical_id: dependencies(logical_id, resource, resources, parameters)
        for logical_id, resource in resources.items()
    }
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(logical_id: str, path: list[str]) -> None:
        if state.get(logical_id) == "done":
            return
        if state.get(logical_id) == "visiting":
            cycle = [*path[path.index(logical_id) :], logical_id]
            raise TemplateError(
                f"Resources.{logical_id}", f"circular reference: {' -> '.join(cycle)}"
            )
        state[logical_id] = "visiting"
        for name in sorted(needs[logical_id]):
            visit(name, [*path, logical_id])
        state[logical_id] = "done"
        order.append(logical_id)

    for logical_id in resources:
        visit(logical_id, [])
    return order
