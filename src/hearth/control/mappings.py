"""Event source mappings: Create/Get/Update/Delete/List, with AWS's defaults and validation.

A mapping is stored with State `Creating` / `Updating` / `Enabling` / `Disabling` /
`Deleting`; the poller supervisor (hearth/events/mapping_supervisor.py) settles it to
`Enabled` / `Disabled` (or removes it) once its pollers have started or stopped, as AWS does
a moment after the 202. Deleting a function leaves its mappings in place, as on AWS.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid as uuid_module
from collections.abc import Callable, Mapping
from typing import Any

from hearth.arns import (
    LATEST,
    ArnFormatter,
    FunctionRef,
    Source,
    is_fifo,
    parse_function_ref,
    source_of,
)
from hearth.control.tags import check_tags
from hearth.errors import (
    ConstraintViolation,
    LambdaError,
    conflict,
    invalid_parameter,
    not_found,
    validation_error,
)
from hearth.models import EventSourceMapping, MappingState
from hearth.store.registry import Registry, RegistryTransaction

# States the supervisor still has to act on.
TRANSITIONAL = frozenset(
    {
        MappingState.CREATING,
        MappingState.ENABLING,
        MappingState.DISABLING,
        MappingState.UPDATING,
        MappingState.DELETING,
    }
)

NOT_FOUND_MESSAGE = "The resource you requested does not exist."
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ARN = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_MAX_FILTERS = 5
# Fields an update may change, by source kind (AWS refuses the others per kind).
_STREAM_ONLY = (
    "ParallelizationFactor",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "DestinationConfig",
)
_RANGES: dict[str, tuple[int, int]] = {
    "BatchSize": (1, 10000),
    "MaximumBatchingWindowInSeconds": (0, 300),
    "ParallelizationFactor": (1, 10),
    "MaximumRecordAgeInSeconds": (-1, 604800),
    "MaximumRetryAttempts": (-1, 10000),
    "TumblingWindowInSeconds": (0, 900),
}
_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")

SourceCheck = Callable[[Source, str], None]
"""Raises AWS's error when the queue or stream an ARN names cannot be reached."""


def _camel(key: str) -> str:
    return key[0].lower() + key[1:]


def _integer(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(
            [ConstraintViolation(_camel(key), value, "Member must be of type integer")]
        )
    low, high = _RANGES[key]
    if value < low:
        constraint = f"Member must have value greater than or equal to {low}"
    elif value > high:
        constraint = f"Member must have value less than or equal to {high}"
    else:
        return value
    raise validation_error([ConstraintViolation(_camel(key), value, constraint)])


def _boolean(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise validation_error(
            [ConstraintViolation(_camel(key), value, "Member must be of type boolean")]
        )
    return value


PatternCheck = Callable[[str], object]
"""Raises ValueError for a pattern EventBridge would reject (events.patterns.validate_pattern)."""


def check_filter_criteria(raw: Any, check_pattern: PatternCheck) -> dict[str, Any]:
    """FilterCriteria as AWS takes it: up to 5 filters, each a valid EventBridge pattern."""
    if not isinstance(raw, Mapping):
        raise invalid_parameter("Invalid filter pattern definition.")
    filters = raw.get("Filters", [])
    if not isinstance(filters, list):
        raise invalid_parameter("Invalid filter pattern definition.")
    if len(filters) > _MAX_FILTERS:
        raise invalid_parameter(
            f"The number of filters ({len(filters)}) exceeds the maximum ({_MAX_FILTERS})."
        )
    checked = []
    for entry in filters:
        pattern = entry.get("Pattern") if isinstance(entry, Mapping) else None
        if not isinstance(pattern, str) or len(pattern) > 4096:
            raise invalid_parameter("Invalid filter pattern definition.")
        try:
            check_pattern(pattern)
        except ValueError:
            raise invalid_parameter("Invalid filter pattern definition.") from None
        checked.append({"Pattern": pattern})
    return {"Filters": checked}


def _check_destination(raw: Any, source: Source) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise validation_error(
            [ConstraintViolation("destinationConfig", raw, "Member must be a structure")]
        )
    if source is Source.SQS or "OnSuccess" in raw:
        raise invalid_parameter(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )
    on_failure = raw.get("OnFailure") or {}
    destination = on_failure.get("Destination") if isinstance(on_failure, Mapping) else None
    if destination is None:
        return {"OnFailure": {}}
    if not isinstance(destination, str) or _ARN.fullmatch(destination) is None:
        raise validation_error(
            [
                ConstraintViolation(
                    "destinationConfig.onFailure.destination",
                    destination,
                    "Member must satisfy regular expression pattern: "
                    "^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?"
                    ":(\\d{12})?:(.*)",
                )
            ]
        )
    service = destination.split(":")[2]
    if service not in ("sqs", "sns", "s3"):
        raise invalid_parameter(
            "The provided destination config DestinationConfig(onSuccess=null, "
            f"onFailure=OnFailure(destination={destination})) is invalid."
        )
    return {"OnFailure": {"Destination": destination}}


def _check_options(  # noqa: PLR0912 - one branch per option, in AWS's order
    body: Mapping[str, Any],
    source: Source,
    current: Mapping[str, Any],
    check_pattern: PatternCheck,
) -> dict[str, Any]:
    """The validated options in `body`, merged over `current` (the stored config)."""
    config = dict(current)
    for key in _RANGES:
        value = _integer(body, key)
        if value is not None:
            if key in _STREAM_ONLY and source is Source.SQS:
                raise invalid_parameter(
                    f"Unsupported {key} parameter for given event source mapping type."
                )
            config[key] = value
    bisect = _boolean(body, "BisectBatchOnFunctionError")
    if bisect is not None:
        if source is Source.SQS:
            raise invalid_parameter(
                "Unsupported BisectBatchOnFunctionError parameter for given event source "
                "mapping type."
            )
        config["BisectBatchOnFunctionError"] = bisect
    if "FilterCriteria" in body:
        criteria = check_filter_criteria(body["FilterCriteria"], check_pattern)
        if criteria["Filters"]:
            config["FilterCriteria"] = criteria
        else:
            config.pop("FilterCriteria", None)
    if "DestinationConfig" in body:
        config["DestinationConfig"] = _check_destination(body["DestinationConfig"], source)
    if "FunctionResponseTypes" in body:
        types = body["FunctionResponseTypes"]
        if not isinstance(types, list) or len(types) > 1:
            raise validation_error(
                [
                    ConstraintViolation(
                        "functionResponseTypes",
                        types,
                        "Member must have length less than or equal to 1",
                    )
                ]
            )
        for value in types:
            if value != "ReportBatchItemFailures":
                raise validation_error(
                    [
                        ConstraintViolation(
                            "functionResponseTypes",
                            types,
                            "Member must satisfy enum value set: [ReportBatchItemFailures]",
                        )
                    ]
                )
        config["FunctionResponseTypes"] = list(types)
    if "ScalingConfig" in body:
        config.update(_check_scaling(body["ScalingConfig"], source))
    _check_batching(config, source)
    return config


def _check_scaling(raw: Any, source: Source) -> dict[str, Any]:
    if source is not Source.SQS:
        raise invalid_parameter(
            "Unsupported ScalingConfig parameter for given event source mapping type."
        )
    if not isinstance(raw, Mapping):
        raise validation_error(
            [ConstraintViolation("scalingConfig", raw, "Member must be a structure")]
        )
    maximum = raw.get("MaximumConcurrency")
    if maximum is None:
        return {"ScalingConfig": {}}
    if not isinstance(maximum, int) or isinstance(maximum, bool) or not 2 <= maximum <= 1000:
        constraint = (
            "Member must have value greater than or equal to 2"
            if isinstance(maximum, int) and maximum < 2
            else "Member must have value less than or equal to 1000"
        )
        raise validation_error(
            [ConstraintViolation("scalingConfig.maximumConcurrency", maximum, constraint)]
        )
    return {"ScalingConfig": {"MaximumConcurrency": maximum}}


def _check_batching(config: Mapping[str, Any], source: Source) -> None:
    if source is not Source.SQS:
        return
    batch, window = config.get("BatchSize", 10), config.get("MaximumBatchingWindowInSeconds", 0)
    if batch > 10 and window == 0:
        raise invalid_parameter(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )


def _defaults(source: Source) -> dict[str, Any]:
    if source is Source.SQS:
        return {
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": [],
            "StateTransitionReason": "USER_INITIATED",
        }
    return {
        "BatchSize": 100,
        "BisectBatchOnFunctionError": False,
        "DestinationConfig": {"OnFailure": {}},
        "FunctionResponseTypes": [],
        "LastProcessingResult": "No records processed",
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRecordAgeInSeconds": -1,
        "MaximumRetryAttempts": -1,
        "ParallelizationFactor": 1,
        "TumblingWindowInSeconds": 0,
        "StateTransitionReason": "User action",
    }


def _check_starting_position(body: Mapping[str, Any], source: Source) -> dict[str, Any]:
    position = body.get("StartingPosition")
    if source is Source.SQS:
        if position is not None:
            raise invalid_parameter(
                f"Unsupported starting position for arn type: {body['EventSourceArn']}"
            )
        return {}
    if position is None:
        raise invalid_parameter(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null."
        )
    if position not in _POSITIONS:
        raise validation_error(
            [
                ConstraintViolation(
                    "startingPosition",
                    position,
                    "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
                )
            ]
        )
    fields: dict[str, Any] = {"StartingPosition": position}
    if position == "AT_TIMESTAMP":
        if source is not Source.KINESIS:
            raise invalid_parameter(
                f"Unsupported starting position for arn type: {body['EventSourceArn']}"
            )
        timestamp = body.get("StartingPositionTimestamp")
        if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
            raise invalid_parameter(
                "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP."
            )
        fields["StartingPositionTimestamp"] = timestamp
    return fields


class EventSourceMappings:
    def __init__(
        self,
        registry: Registry,
        arns: ArnFormatter,
        check_pattern: PatternCheck,
        check_source: SourceCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._check_pattern = check_pattern
        self._registry = registry
        self._arns = arns
        self._check_source = check_source
        self._clock = clock

    # Shapes ------------------------------------------------------------------------------
    def arn(self, uuid: str) -> str:
        arns = self._arns
        return f"arn:aws:lambda:{arns.region}:{arns.account_id}:event-source-mapping:{uuid}"

    def shape(self, mapping: EventSourceMapping) -> dict[str, Any]:
        """AWS's EventSourceMappingConfiguration for a stored mapping."""
        return {
            "UUID": mapping.uuid,
            "EventSourceArn": mapping.event_source_arn,
            "EventSourceMappingArn": self.arn(mapping.uuid),
            "FunctionArn": self._arns.function(mapping.function_name, mapping.qualifier),
            **public_config(mapping.config),
        }

    # Reads -------------------------------------------------------------------------------
    def _find(self, tx: RegistryTransaction, uuid: str) -> EventSourceMapping:
        mapping = tx.get_mapping(uuid) if isinstance(uuid, str) else None
        if mapping is None:
            raise not_found(NOT_FOUND_MESSAGE)
        return mapping

    def get(self, uuid: str) -> dict[str, Any]:
        with self._registry.transaction() as tx:
            return self.shape(self._find(tx, uuid))

    def list_mappings(
        self, event_source_arn: str | None, function_name: str | None
    ) -> list[dict[str, Any]]:
        ref = (
            parse_function_ref(function_name, max_length=256) if function_name is not None else None
        )
        with self._registry.transaction() as tx:
            mappings = tx.list_mappings()
        found = []
        for mapping in mappings:
            if event_source_arn is not None and mapping.event_source_arn != event_source_arn:
                continue
            if ref is not None and (
                mapping.function_name != ref.name
                or (ref.qualifier is not None and mapping.qualifier != ref.qualifier)
            ):
                continue
            found.append(self.shape(mapping))
        return found

    # Writes ------------------------------------------------------------------------------
    def _resolve_function(self, tx: RegistryTransaction, raw: Any) -> FunctionRef:
        if not isinstance(raw, str):
            raise invalid_parameter("Function does not exist")
        ref = parse_function_ref(raw, max_length=256)
        if tx.get_function(ref.name) is None:
            raise invalid_parameter("Function does not exist")
        qualifier = ref.qualifier
        if qualifier is not None and qualifier != LATEST:
            exists = (
                tx.get_version(ref.name, qualifier) is not None
                if qualifier.isdigit()
                else tx.get_alias(ref.name, qualifier) is not None
            )
            if not exists:
                raise invalid_parameter("Function does not exist")
        return ref

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        source = source_of(body.get("EventSourceArn"))
        source_arn = str(body["EventSourceArn"])
        config = _defaults(source)
        config.update(_check_starting_position(body, source))
        if source is Source.SQS and is_fifo(source_arn):
            if body.get("MaximumBatchingWindowInSeconds"):
                raise invalid_parameter("Batching window is not supported for FIFO queues")
            if isinstance(body.get("BatchSize"), int) and body["BatchSize"] > 10:
                raise invalid_parameter("Batch size must not exceed 10 for FIFO queues")
        config = _check_options(body, source, config, self._check_pattern)
        enabled = _boolean(body, "Enabled")
        tags = check_tags(body["Tags"]) if "Tags" in body else {}
        with self._registry.transaction() as tx:
            ref = self._resolve_function(tx, body.get("FunctionName"))
        # Reaching the source is a network call: made outside the registry's lock.
        if self._check_source is not None:
            self._check_source(source, source_arn)
        config["State"] = MappingState.CREATING.value
        config["LastModified"] = self._clock()
        config["_Enabled"] = enabled is not False
        # LATEST means "from now on": a poller (re)started before it committed anything reads
        # a Kinesis stream from this moment, so a restart skips nothing written since.
        config["_CreatedAt"] = config["LastModified"]
        mapping = EventSourceMapping(
            uuid=str(uuid_module.uuid4()),
            function_name=ref.name,
            qualifier=ref.qualifier,
            event_source_arn=source_arn,
            config=config,
            tags=tags,
        )
        with self._registry.transaction() as tx:
            self._resolve_function(tx, body.get("FunctionName"))
            for other in tx.list_mappings():
                if (
                    other.event_source_arn == source_arn
                    and other.function_name == ref.name
                    and other.qualifier == ref.qualifier
                ):
                    raise _duplicate(source, source_arn, ref.name, other.uuid)
            tx.put_mapping(mapping)
        return self.shape(mapping)

    def update(self, uuid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._registry.transaction() as tx:
            mapping = self._find(tx, uuid)
            if mapping.state in (
                MappingState.CREATING,
                MappingState.DELETING,
                MappingState.UPDATING,
            ):
                raise LambdaError(
                    "ResourceInUseException",
                    400,
                    f"Cannot update the event source mapping because it is in use. {mapping.state}",
                )
            source = source_of(mapping.event_source_arn)
            if source is Source.SQS and is_fifo(mapping.event_source_arn):
                if body.get("MaximumBatchingWindowInSeconds"):
                    raise invalid_parameter("Batching window is not supported for FIFO queues")
                if isinstance(body.get("BatchSize"), int) and body["BatchSize"] > 10:
                    raise invalid_parameter("Batch size must not exceed 10 for FIFO queues")
            config = _check_options(body, source, mapping.config, self._check_pattern)
            function_name, qualifier = mapping.function_name, mapping.qualifier
            if body.get("FunctionName") is not None:
                ref = self._resolve_function(tx, body["FunctionName"])
                function_name, qualifier = ref.name, ref.qualifier
            enabled = _boolean(body, "Enabled")
            if enabled is not None:
                config["_Enabled"] = enabled
            was_enabled = config.get("_Enabled", True) if enabled is None else not enabled
            if enabled is True and not was_enabled:
                config["State"] = MappingState.ENABLING.value
            elif enabled is False and was_enabled:
                config["State"] = MappingState.DISABLING.value
            else:
                config["State"] = MappingState.UPDATING.value
            config["LastModified"] = self._clock()
            updated = dataclasses.replace(
                mapping, function_name=function_name, qualifier=qualifier, config=config
            )
            tx.put_mapping(updated)
            return self.shape(updated)

    def delete(self, uuid: str) -> dict[str, Any]:
        with self._registry.transaction() as tx:
            mapping = self._find(tx, uuid)
            config = {**mapping.config, "State": MappingState.DELETING.value}
            deleting = dataclasses.replace(mapping, config=config)
            tx.put_mapping(deleting)
            return self.shape(deleting)

    # Tags --------------------------------------------------------------------------------
    def _by_arn(self, tx: RegistryTransaction, arn: str) -> EventSourceMapping:
        uuid = arn.rsplit(":", 1)[-1]
        mapping = tx.get_mapping(uuid) if _UUID.fullmatch(uuid) else None
        if mapping is None:
            raise not_found(f"Event source mapping not found: {arn}")
        return mapping

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._registry.transaction() as tx:
            return dict(self._by_arn(tx, arn).tags)

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self._registry.transaction() as tx:
            mapping = self._by_arn(tx, arn)
            merged = check_tags({**mapping.tags, **tags})
            tx.put_mapping(dataclasses.replace(mapping, tags=merged))

    def untag(self, arn: str, keys: list[str]) -> None:
        drop = set(keys)
        with self._registry.transaction() as tx:
            mapping = self._by_arn(tx, arn)
            kept = {k: v for k, v in mapping.tags.items() if k not in drop}
            tx.put_mapping(dataclasses.replace(mapping, tags=kept))


def _duplicate(source: Source, arn: str, function: str, existing: str) -> LambdaError:
    if source is Source.SQS:
        message = (
            f'An event source mapping with SQS arn (" {arn} ") and function (" {function} ") '
            f"already exists. Please update or delete the existing mapping with UUID {existing}"
        )
    else:
        message = (
            f'The event source arn (" {arn} ") and function (" {function} ") provided mapping '
            f"already exists. Please update or delete the existing mapping with UUID {existing}"
        )
    return conflict(message)


def public_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The stored config without Hearth's own bookkeeping keys (those start with `_`)."""
    return {k: v for k, v in config.items() if not k.startswith("_")}
