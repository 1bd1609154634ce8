"""The registry's records: frozen dataclasses with no I/O.

Mappings inside records are plain dicts for easy JSON round trips; treat them as immutable
and build changed records with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hearth.arns import LATEST


class State(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    FAILED = "Failed"


class MappingState(StrEnum):
    """An event source mapping's State, as AWS reports it."""

    CREATING = "Creating"
    ENABLING = "Enabling"
    ENABLED = "Enabled"
    DISABLING = "Disabling"
    DISABLED = "Disabled"
    UPDATING = "Updating"
    DELETING = "Deleting"


class UpdateStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


def aws_timestamp(moment: datetime | None = None) -> str:
    """AWS's LastModified form: `2019-09-24T18:20:35.054+0000`."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class AttachedLayer:
    """A layer version a function version uses, as AWS reports it."""

    arn: str
    code_size: int
    code_sha256_hex: str


@dataclass(frozen=True)
class FunctionVersion:
    """The configuration and code of `$LATEST` or of one published version."""

    function_name: str
    version: str
    role: str
    runtime: str
    handler: str
    code_sha256_hex: str
    code_size: int
    revision_id: str
    last_modified: str
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    ephemeral_storage: int = 512
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    layers: tuple[AttachedLayer, ...] = ()
    tracing_mode: str = "PassThrough"
    dead_letter_target_arn: str | None = None
    kms_key_arn: str | None = None
    log_format: str = "Text"
    log_group: str | None = None
    application_log_level: str | None = None
    system_log_level: str | None = None
    # Shapes Hearth stores and echoes without acting on them (VpcConfig, FileSystemConfigs...).
    passthrough: dict[str, Any] = field(default_factory=dict)
    state: State = State.PENDING
    state_reason: str | None = "The function is being created."
    state_reason_code: str | None = "Creating"
    last_update_status: UpdateStatus | None = None
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None
    # AWS moves a version's RevisionId on changes that leave its code and configuration as
    # they were (settling Pending → Active, a permission added or removed). Those set
    # `public_revision`; `revision_id` stays the identity of what runs, so warm environments
    # survive them. Every other change replaces `revision_id` and clears `public_revision`.
    public_revision: str | None = None
    # Whether the caller sent `Environment` at all: AWS echoes `{"Variables": {}}` only then.
    environment_sent: bool = False

    @property
    def is_latest(self) -> bool:
        return self.version == LATEST

    @property
    def snapstart_apply_on(self) -> str:
        """SnapStart.ApplyOn as set on the function: "PublishedVersions" or "None"."""
        snap = self.passthrough.get("SnapStart")
        value = snap.get("ApplyOn") if isinstance(snap, dict) else None
        return value if isinstance(value, str) else "None"

    @property
    def snapstart_on(self) -> bool:
        """A published version that runs with SnapStart (its OptimizationStatus is On)."""
        return not self.is_latest and self.snapstart_apply_on == "PublishedVersions"

    @property
    def awaiting_snapshot(self) -> bool:
        """A SnapStart version whose init at publish has not finished: Pending until it has."""
        return self.snapstart_on and self.state is State.PENDING

    @property
    def reported_revision(self) -> str:
        """The RevisionId AWS would report (and check preconditions against)."""
        return self.public_revision or self.revision_id

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionVersion:
        data = dict(data)
        data["architectures"] = tuple(data["architectures"])
        data["layers"] = tuple(AttachedLayer(**layer) for layer in data["layers"])
        data["state"] = State(data["state"])
        if data["last_update_status"] is not None:
            data["last_update_status"] = UpdateStatus(data["last_update_status"])
        return cls(**data)


@dataclass(frozen=True)
class PolicyStatement:
    sid: str
    statement: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    """A resource-based policy of a function, a version or an alias."""

    statements: tuple[PolicyStatement, ...]
    revision_id: str


@dataclass(frozen=True)
class ProvisionedConcurrency:
    """A provisioned concurrency config as requested; its progress lives in the running server."""

    requested: int
    last_modified: str


@dataclass(frozen=True)
class FunctionRecord:
    """What a function has beyond its versions: tags, policies, concurrency, version counter."""

    name: str
    created: str
    # Highest version number ever published: AWS never reuses a number, even after deletion.
    last_version_number: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    # Keyed by qualifier; "" is the unqualified function's policy.
    policies: dict[str, Policy] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    # Asynchronous invocation settings (AWS's EventInvokeConfig shape), keyed by qualifier;
    # "" is the unqualified function's.
    event_invoke_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Provisioned concurrency, keyed by qualifier (a version or an alias).
    provisioned_concurrency: dict[str, ProvisionedConcurrency] = field(default_factory=dict)
    # Settings Hearth keeps and reports as AWS does (recursion, runtime management, scaling),
    # keyed by setting, then by qualifier ("" for the function's own).
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def without_qualifier(self, qualifier: str) -> FunctionRecord:
        """The record once a version or alias is deleted: its policy and its provisioned
        concurrency go with it."""
        return dataclasses.replace(
            self,
            policies={k: v for k, v in self.policies.items() if k != qualifier},
            provisioned_concurrency={
                k: v for k, v in self.provisioned_concurrency.items() if k != qualifier
            },
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionRecord:
        data = dict(data)
        # Records written before event invoke configs existed lack the key.
        data.setdefault("event_invoke_configs", {})
        data.setdefault("settings", {})
        data["provisioned_concurrency"] = {
            qualifier: ProvisionedConcurrency(**config)
            for qualifier, config in data.get("provisioned_concurrency", {}).items()
        }
        data["policies"] = {
            qualifier: Policy(
                statements=tuple(PolicyStatement(**s) for s in policy["statements"]),
                revision_id=policy["revision_id"],
            )
            for qualifier, policy in data["policies"].items()
        }
        return cls(**data)


@dataclass(frozen=True)
class Alias:
    function_name: str
    name: str
    function_version: str
    revision_id: str
    description: str = ""
    # Extra version -> weight (0.0-1.0); the rest of the traffic goes to function_version.
    routing_weights: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alias:
        return cls(**data)


@dataclass(frozen=True)
class LayerRecord:
    name: str
    # Highest version number ever published: layer version numbers are never reused either.
    last_version_number: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerRecord:
        return cls(**data)


@dataclass(frozen=True)
class LayerVersion:
    layer_name: str
    version: int
    code_sha256_hex: str
    code_size: int
    created_date: str
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    # The compatibility lists the publish named, empty or not: AWS echoes a list named empty
    # as `[]` and leaves out one never named.
    named_lists: tuple[str, ...] = ()
    license_info: str | None = None
    # AddLayerVersionPermission's statements (AWS's JSON, in order) and their RevisionId.
    policy_statements: tuple[dict[str, Any], ...] = ()
    policy_revision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerVersion:
        data = dict(data)
        data["policy_statements"] = tuple(data.get("policy_statements", ()))
        data["compatible_runtimes"] = tuple(data["compatible_runtimes"])
        data["compatible_architectures"] = tuple(data["compatible_architectures"])
        data["named_lists"] = tuple(data.get("named_lists", ()))
        return cls(**data)


@dataclass(frozen=True)
class EventSourceMapping:
    """An event source mapping. `config` holds AWS's shape for it (BatchSize, State,
    FilterCriteria, ...) minus the fields derived from the keys (UUID, ARNs), so the record
    round-trips every option AWS has without a column per option."""

    uuid: str
    function_name: str
    # The qualifier the mapping was created with (None: unqualified, which invokes $LATEST).
    qualifier: str | None
    event_source_arn: str
    config: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return str(self.config.get("State", "Creating"))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventSourceMapping:
        return cls(**data)


@dataclass(frozen=True)
class FunctionUrlConfig:
    """A function URL: the unqualified function's ("" qualifier) or an alias's.

    `url_id` is the host label clients call it by; it is unique across all functions.
    """

    url_id: str
    function_name: str
    qualifier: str
    auth_type: str
    creation_time: str
    last_modified_time: str
    invoke_mode: str = "BUFFERED"
    # AWS echoes InvokeMode from Create and Update only once a caller has set it.
    invoke_mode_set: bool = False
    # AWS's Cors shape as given (AllowOrigins, AllowMethods, ...); None when not configured.
    cors: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionUrlConfig:
        return cls(**data)
