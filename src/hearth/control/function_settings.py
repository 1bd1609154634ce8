"""Per-function settings AWS stores and reports but Hearth does not act on beyond reporting:
recursion config, runtime management config and function scaling config (a function's code
signing config is control/code_signing.py's).

Each is kept in the function's record (`FunctionRecord.settings[kind][qualifier]`), so it
lives and dies with the function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hearth.arns import ArnFormatter, FunctionRef
from hearth.control.targets import existing_target
from hearth.errors import (
    ConstraintViolation,
    invalid_parameter,
    validation_error,
)
from hearth.store.registry import Registry

RECURSION = "recursion"
RUNTIME_MANAGEMENT = "runtime-management"
SCALING = "scaling"

RECURSIVE_LOOP_VALUES = ("Terminate", "Allow")
UPDATE_RUNTIME_ON_VALUES = ("Auto", "Manual", "FunctionUpdate")


class FunctionSettings:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    def get(self, kind: str, ref: FunctionRef) -> dict[str, Any] | None:
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, ref)
        return record.settings.get(kind, {}).get(ref.qualifier or "")

    def put(self, kind: str, ref: FunctionRef, value: Mapping[str, Any]) -> None:
        with self._registry.transaction() as tx:
            record = existing_target(tx, self._arns, ref)
            per_qualifier = {**record.settings.get(kind, {}), ref.qualifier or "": dict(value)}
            settings = {**record.settings, kind: per_qualifier}
            tx.put_function(dataclasses.replace(record, settings=settings))

    # Recursion ---------------------------------------------------------------------------
    def recursion(self, name: str) -> str:
        stored = self.get(RECURSION, FunctionRef(name))
        # AWS's default: a detected loop is stopped.
        return "Terminate" if stored is None else str(stored["RecursiveLoop"])

    def put_recursion(self, name: str, value: object) -> str:
        if value not in RECURSIVE_LOOP_VALUES:
            raise validation_error(
                [
                    ConstraintViolation(
                        "recursiveLoop",
                        value,
                        "Member must satisfy enum value set: [Terminate, Allow]",
                    )
                ]
            )
        self.put(RECURSION, FunctionRef(name), {"RecursiveLoop": value})
        return str(value)

    # Runtime management ------------------------------------------------------------------
    def put_runtime_management(self, ref: FunctionRef, body: Mapping[str, Any]) -> dict[str, Any]:
        update_on = body.get("UpdateRuntimeOn")
        if update_on not in UPDATE_RUNTIME_ON_VALUES:
            raise validation_error(
                [
                    ConstraintViolation(
                        "updateRuntimeOn",
                        update_on,
                        "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
                    )
                ]
            )
        arn = body.get("RuntimeVersionArn")
        if update_on == "Manual" and not arn:
            raise invalid_parameter("RuntimeVersionArn is required when UpdateRuntimeOn is Manual")
        if update_on != "Manual" and arn:
            raise invalid_parameter(
                "RuntimeVersionArn may only be specified when UpdateRuntimeOn is Manual"
            )
        stored = {"UpdateRuntimeOn": update_on}
        if arn:
            stored["RuntimeVersionArn"] = arn
        self.put(RUNTIME_MANAGEMENT, ref, stored)
        return stored
