"""CloudFormation's intrinsic functions and Conditions, evaluated over plain data.

Resources are reached through two callables (``ref`` and ``get_att``) so that the same code
serves planning (placeholders) and applying (the values of resources already created).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from hearth.templates.errors import TemplateError


class _NoValue:
    """AWS::NoValue: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

RefLookup = Callable[[str], Any]
AttLookup = Callable[[str, str], Any]


class Resolver:
    """Evaluates intrinsics. ``parameters`` holds parameter values and pseudo parameters;
    ``conditions`` the template's Conditions section (evaluated on first use)."""

    def __init__(
        self,
        *,
        parameters: dict[str, Any],
        mappings: dict[str, Any],
        conditions: dict[str, Any],
        ref: RefLookup,
        get_att: AttLookup,
    ) -> None:
        self._parameters = parameters
        self._mappings = mappings
        self._condition_specs = conditions
        self._condition_values: dict[str, bool] = {}
        self._evaluating: list[str] = []
        self._ref = ref
        self._get_att = get_att

    # conditions ---------------------------------------------------------------------

    def condition(self, name: str, place: str) -> bool:
        """The value of the Condition ``name`` (referenced from ``place``)."""
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self._condition_specs:
            raise TemplateError(place, f"Condition {name!r} is not defined in Conditions")
        if name in self._evaluating:
            cycle = " -> ".join([*self._evaluating, name])
            raise TemplateError(f"Conditions.{name}", f"circular condition: {cycle}")
        self._evaluating.append(name)
        try:
            value = self.resolve(self._condition_specs[name], f"Conditions.{name}")
        finally:
            self._evaluating.pop()
        if not isinstance(value, bool):
            raise TemplateError(f"Conditions.{name}", "a condition must evaluate to true or false")
        self._condition_values[name] = value
        return value

    # values -------------------------------------------------------------------------

    def resolve(self, value: Any, place: str) -> Any:
        """``value`` with every intrinsic evaluated; AWS::NoValue entries removed."""
        if isinstance(value, list):
            items = [self.resolve(item, f"{place}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _HANDLERS.get(key)
            if handler is not None:
                return handler(self, argument, f"{place}.{key}")
            if key.startswith("Fn::"):
                raise TemplateError(f"{place}.{key}", f"unknown intrinsic function {key}")
        resolved = {key: self.resolve(item, f"{place}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: Any, place: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(place, "Ref takes the name of a parameter or resource")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._parameters:
            return self._parameters[name]
        if name.startswith("AWS::"):
            raise TemplateError(place, f"unknown pseudo parameter {name}")
        return self._ref(name)

    # one method per intrinsic, each given its argument and place ----------------------

    def _fn_ref(self, argument: Any, place: str) -> Any:
        return self.ref(argument, place)

    def _fn_get_att(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(place, "Fn::GetAtt takes [LogicalId, Attribute]")
        return self._get_att(str(argument[0]), str(argument[1]))

    def _fn_sub(self, argument: Any, place: str) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise TemplateError(place, "Fn::Sub takes a string, or [string, {variables}]")
            argument, variables = argument[0], self.resolve(argument[1], place)
        if not isinstance(argument, str):
            raise TemplateError(place, "Fn::Sub takes a string")

        def substitute(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name], place)
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _text(self._get_att(logical_id, attribute), place)
            return _text(self.ref(name, place), place)

        return _SUB_VARIABLE.sub(substitute, argument)

    def _fn_join(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if not (
            isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], list)
        ):
            raise TemplateError(place, "Fn::Join takes [delimiter, [values]]")
        return argument[0].join(_text(item, place) for item in argument[1])

    def _fn_select(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if not (
            isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list)
        ):
            raise TemplateError(place, "Fn::Select takes [index, [values]]")
        try:
            index = int(argument[0])
            if index < 0:
                raise IndexError
            return argument[1][index]
        except (ValueError, IndexError):
            raise TemplateError(place, f"index {argument[0]!r} is outside the list") from None

    def _fn_split(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if not (
            isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], str)
            and argument[0]
        ):
            raise TemplateError(place, "Fn::Split takes [delimiter, string]")
        return argument[1].split(argument[0])

    def _fn_find_in_map(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if not (isinstance(argument, list) and len(argument) in (3, 4)):
            raise TemplateError(place, "Fn::FindInMap takes [MapName, TopKey, SecondKey]")
        name, top, second = (str(item) for item in argument[:3])
        try:
            return self._mappings[name][top][second]
        except (KeyError, TypeError):
            if (
                len(argument) == 4
                and isinstance(argument[3], dict)
                and "DefaultValue" in argument[3]
            ):
                return argument[3]["DefaultValue"]
            raise TemplateError(place, f"Mappings has no {name}.{top}.{second}") from None

    def _fn_get_azs(self, argument: Any, place: str) -> Any:
        region = self.resolve(argument, place) or self._parameters.get("AWS::Region", "us-east-1")
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_base64(self, argument: Any, place: str) -> Any:
        return base64.b64encode(_text(self.resolve(argument, place), place).encode()).decode()

    def _fn_if(self, argument: Any, place: str) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            raise TemplateError(place, "Fn::If takes [ConditionName, ValueIfTrue, ValueIfFalse]")
        chosen = argument[1] if self.condition(argument[0], place) else argument[2]
        return self.resolve(chosen, place)

    def _fn_equals(self, argument: Any, place: str) -> Any:
        argument = self.resolve(argument, place)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(place, "Fn::Equals takes [value, value]")
        return _text(argument[0], place) == _text(argument[1], place)

    def _booleans(self, argument: Any, place: str) -> list[bool]:
        if not isinstance(argument, list) or not argument:
            raise TemplateError(place, "takes a list of conditions")
        values = [self.resolve(item, f"{place}[{i}]") for i, item in enumerate(argument)]
        if not all(isinstance(value, bool) for value in values):
            raise TemplateError(place, "takes conditions (true or false)")
        return values

    def _fn_and(self, argument: Any, place: str) -> Any:
        return all(self._booleans(argument, place))

    def _fn_or(self, argument: Any, place: str) -> Any:
        return any(self._booleans(argument, place))

    def _fn_not(self, argument: Any, place: str) -> Any:
        values = self._booleans(argument, place)
        if len(values) != 1:
            raise TemplateError(place, "Fn::Not takes one condition")
        return not values[0]

    def _fn_condition(self, argument: Any, place: str) -> Any:
        if not isinstance(argument, str):
            raise TemplateError(place, "Condition takes a condition name")
        return self.condition(argument, place)

    def _fn_to_json(self, argument: Any, place: str) -> Any:
        return json.dumps(self.resolve(argument, place), separators=(",", ":"))

    def _fn_import_value(self, argument: Any, place: str) -> Any:
        raise TemplateError(place, "Fn::ImportValue needs another stack's exports; Hearth has none")


def _text(value: Any, place: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(place, f"expected a string, got {type(value).__name__}")


_HANDLERS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Ref": Resolver._fn_ref,
    "Fn::GetAtt": Resolver._fn_get_att,
    "Fn::Sub": Resolver._fn_sub,
    "Fn::Join": Resolver._fn_join,
    "Fn::Select": Resolver._fn_select,
    "Fn::Split": Resolver._fn_split,
    "Fn::FindInMap": Resolver._fn_find_in_map,
    "Fn::GetAZs": Resolver._fn_get_azs,
    "Fn::Base64": Resolver._fn_base64,
    "Fn::If": Resolver._fn_if,
    "Fn::Equals": Resolver._fn_equals,
    "Fn::And": Resolver._fn_and,
    "Fn::Or": Resolver._fn_or,
    "Fn::Not": Resolver._fn_not,
    "Condition": Resolver._fn_condition,
    "Fn::ToJsonString": Resolver._fn_to_json,
    "Fn::ImportValue": Resolver._fn_import_value,
}
