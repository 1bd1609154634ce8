"""Asynchronous invocation settings: Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s).

Each qualifier (the unqualified function, a version, an alias) has its own config, kept in
`FunctionRecord.event_invoke_configs` under the qualifier ("" for the unqualified function)
in AWS's own shape minus `FunctionArn`, which is derived when rendering. Put replaces the
whole config; Update merges the fields it is given into the existing one.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hearth.arns import LATEST, ArnFormatter, FunctionRef, parse_function_ref
from hearth.control.targets import existing_target
from hearth.errors import (
    ConstraintViolation,
    LambdaError,
    invalid_parameter,
    not_found,
    validation_error,
)
from hearth.models import FunctionRecord
from hearth.store.registry import Registry, RegistryTransaction

MIN_RETRY_ATTEMPTS = 0
MAX_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 21_600
DESTINATION_KINDS = ("OnSuccess", "OnFailure")
# Destinations Hearth knows how to deliver to: another function, a queue, a topic, a bus.
_DESTINATION_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:(lambda|sqs|sns|events):[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:.+"
)
_MAX_DESTINATION_ARN_LENGTH = 350
_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _range_violations(fields: Mapping[str, Any]) -> list[ConstraintViolation]:
    """AWS's model constraints on the two numeric settings, every violation listed."""
    violations: list[ConstraintViolation] = []
    for key, low, high in (
        ("MaximumRetryAttempts", MIN_RETRY_ATTEMPTS, MAX_RETRY_ATTEMPTS),
        ("MaximumEventAgeInSeconds", MIN_EVENT_AGE_SECONDS, MAX_EVENT_AGE_SECONDS),
    ):
        if key not in fields or fields[key] is None:
            continue
        value = fields[key]
        name = key[0].lower() + key[1:]
        if not isinstance(value, int) or isinstance(value, bool):
            violations.append(ConstraintViolation(name, value, "Member must be of type integer"))
        elif value < low:
            violations.append(
                ConstraintViolation(
                    name, value, f"Member must have value greater than or equal to {low}"
                )
            )
        elif value > high:
            violations.append(
                ConstraintViolation(
                    name, value, f"Member must have value less than or equal to {high}"
                )
            )
    return violations


def _as_aws_says(value: Mapping[str, Any]) -> str:
    """A DestinationConfig as AWS's error message prints it (its Java object's toString)."""
    parts = []
    for kind in DESTINATION_KINDS:
        target = value.get(kind)
        if isinstance(target, Mapping):
            arn = target.get("Destination") or "null"
            parts.append(f"{kind[0].lower()}{kind[1:]}={kind}(destination={arn})")
        else:
            parts.append(f"{kind[0].lower()}{kind[1:]}=null")
    return f"DestinationConfig({', '.join(parts)})"


def _destinations(value: object) -> dict[str, dict[str, str]]:
    """A checked DestinationConfig; an empty or absent Destination means "none"."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_parameter("DestinationConfig must be an object.")
    checked: dict[str, dict[str, str]] = {}
    for kind in DESTINATION_KINDS:
        target = value.get(kind)
        if target is None:
            continue
        if not isinstance(target, Mapping):
            raise invalid_parameter(f"DestinationConfig.{kind} must be an object.")
        arn = target.get("Destination")
        if arn is None or arn == "":
            continue
        if (
            not isinstance(arn, str)
            or len(arn) > _MAX_DESTINATION_ARN_LENGTH
            or not _DESTINATION_ARN.fullmatch(arn)
        ):
            raise invalid_parameter(
                f"The provided destination config {_as_aws_says(value)} is invalid."
            )
        checked[kind] = {"Destination": arn}
    return checked


def _checked(fields: Mapping[str, Any], *, putting: bool = False) -> dict[str, Any]:
    """The settings a request gives (only those it gives), validated. A Put must give one."""
    if putting and all(fields.get(key) is None for key in _SETTINGS):
        raise invalid_parameter(
            "You must specify at least one of error handling or destination setting."
        )
    violations = _range_violations(fields)
    if violations:
        raise validation_error(violations)
    config: dict[str, Any] = {
        key: fields[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        if fields.get(key) is not None
    }
    if "DestinationConfig" in fields:
        config["DestinationConfig"] = _destinations(fields["DestinationConfig"])
    return config


@dataclass(frozen=True)
class EventConfigView:
    """A stored config and the reference it is under (rendered by hearth.api.shapes)."""

    ref: FunctionRef
    stored: Mapping[str, Any]


class EventConfigs:
    def __init__(self, registry: Registry, arns: ArnFormatter) -> None:
        self._registry = registry
        self._arns = arns

    def put(self, ref: FunctionRef, fields: Mapping[str, Any]) -> EventConfigView:
        """PutFunctionEventInvokeConfig: the request's settings replace the whole config."""
        config = _checked(fields, putting=True)
        with self._registry.transaction() as tx:
            record, key = self._resolve(tx, ref)
            self._check_functions(tx, ref, config)
            stored = _stamped(config)
            tx.put_function(_with_config(record, key, stored))
        return EventConfigView(ref, stored)

    def update(self, ref: FunctionRef, fields: Mapping[str, Any]) -> EventConfigView:
        """UpdateFunctionEventInvokeConfig: merge the given settings into the existing ones."""
        changes = _checked(fields)
        with self._registry.transaction() as tx:
            record, key = self._resolve(tx, ref)
            self._check_functions(tx, ref, changes)
            current = _configs(record).get(key)
            if current is None:
                raise self._no_config(ref)
            merged = {k: v for k, v in current.items() if k != "LastModified"}
            # Destinations merge per kind: updating OnFailure keeps OnSuccess.
            destinations = {
                **merged.get("DestinationConfig", {}),
                **changes.pop("DestinationConfig", {}),
            }
            merged.update(changes)
            merged["DestinationConfig"] = destinations
            stored = _stamped(merged)
            tx.put_function(_with_config(record, key, stored))
        return EventConfigView(ref, stored)

    def get(self, ref: FunctionRef) -> EventConfigView:
        with self._registry.transaction() as tx:
            record, key = self._resolve_config(tx, ref)
        stored = _configs(record).get(key)
        if stored is None:
            raise self._no_config(ref)
        return EventConfigView(ref, stored)

    def delete(self, ref: FunctionRef) -> None:
        with self._registry.transaction() as tx:
            record, key = self._resolve_config(tx, ref)
            if key not in _configs(record):
                raise self._no_config(ref)
            tx.put_function(_with_config(record, key, None))

    def list(self, name: str) -> list[EventConfigView]:
        """Every config of a function, the unqualified one first, then by qualifier."""
        with self._registry.transaction() as tx:
            record, _ = self._resolve(tx, FunctionRef(name))
        configs = _configs(record)
        return [
            EventConfigView(FunctionRef(name, key or None), configs[key]) for key in sorted(configs)
        ]

    def lookup(self, name: str, qualifier: str | None) -> dict[str, Any] | None:
        """The stored config an async invoke of `name:qualifier` uses, if any (no errors)."""
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
        if record is None:
            return None
        return _configs(record).get(_key(qualifier))

    # Helpers -----------------------------------------------------------------------------
    def _resolve(self, tx: RegistryTransaction, ref: FunctionRef) -> tuple[FunctionRecord, str]:
        """The function and the config key a reference names; the qualifier must exist.
        AWS's Put, Update and List say so of a missing function in words of their own."""
        try:
            return existing_target(tx, self._arns, ref), _key(ref.qualifier)
        except LambdaError as error:
            if error.status != 404:
                raise
            raise not_found("The function doesn't exist.") from None

    def _check_functions(
        self, tx: RegistryTransaction, ref: FunctionRef, config: Mapping[str, Any]
    ) -> None:
        """A function destination must exist and must not be the function itself."""
        for target in config.get("DestinationConfig", {}).values():
            arn = target["Destination"]
            if arn.split(":")[2:3] != ["lambda"]:
                continue
            try:
                named = parse_function_ref(arn, max_length=len(arn))
            except LambdaError:
                raise invalid_parameter(f"The destination ARN {arn} is invalid.") from None
            if named.name == ref.name:
                raise invalid_parameter(
                    "You can't specify the function as a destination for itself."
                )
            if tx.get_function(named.name) is None:
                raise invalid_parameter(f"The destination ARN {arn} is invalid.")

    def _resolve_config(
        self, tx: RegistryTransaction, ref: FunctionRef
    ) -> tuple[FunctionRecord, str]:
        """As `_resolve`, for Get and Delete: AWS answers a missing function or qualifier as
        a missing config."""
        try:
            return existing_target(tx, self._arns, ref), _key(ref.qualifier)
        except LambdaError as error:
            raise self._no_config(ref) from error

    def _no_config(self, ref: FunctionRef) -> LambdaError:
        arn = self._arns.function(ref.name, ref.qualifier or LATEST)
        return not_found(f"The function {arn} doesn't have an EventInvokeConfig")


def _key(qualifier: str | None) -> str:
    """Where a qualifier's config is kept: the unqualified function and `$LATEST` are one."""
    return "" if qualifier in (None, "", LATEST) else str(qualifier)


def _configs(record: FunctionRecord) -> dict[str, Any]:
    """A function's configs by key (one kept under `$LATEST` by an older Hearth counts as
    the unqualified function's)."""
    configs = dict(record.event_invoke_configs)
    if LATEST in configs:
        configs.setdefault("", configs.pop(LATEST))
    return configs


def _stamped(config: Mapping[str, Any]) -> dict[str, Any]:
    return {**config, "LastModified": time.time()}


def _with_config(record: FunctionRecord, key: str, config: dict[str, Any] | None) -> FunctionRecord:
    configs = {k: v for k, v in _configs(record).items() if k != key}
    if config is not None:
        configs[key] = config
    return dataclasses.replace(record, event_invoke_configs=configs)
