"""Functions and their versions: create, update, publish, resolve, delete.

Code-carrying operations unpack the zip first (outside the transaction, it can take seconds),
then check and write in one transaction; if that fails, code no longer referenced is removed,
so a failed request leaves nothing behind. They hold `code_lock` for that whole span so a
concurrent request cannot collect a blob another one is about to reference.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from hearth.arns import (
    LATEST,
    ArnFormatter,
    FunctionRef,
    is_alias_name,
    is_version,
    parse_layer_version_arn,
)
from hearth.control import snapstart
from hearth.control.spec import resolve_logging
from hearth.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
    precondition_failed,
)
from hearth.models import (
    AttachedLayer,
    FunctionRecord,
    FunctionVersion,
    State,
    UpdateStatus,
    aws_timestamp,
)
from hearth.store.code import CodeStore, StoredCode
from hearth.store.qualifiers import resolve_version
from hearth.store.registry import Registry, RegistryTransaction
from hearth.store.reserve import DiskReserve

# Calls `callback` after `delay` seconds on the server's loop (tests may call it at once).
Scheduler = Callable[[float, Callable[[], None]], None]

_CREATING_REASON = "The function is being created."
# Fields that do not make a version different from another (for PublishVersion's reuse rule).
_VOLATILE_FIELDS = frozenset(
    {
        "version",
        "revision_id",
        "public_revision",
        "last_modified",
        "description",
        "state",
        "state_reason",
        "state_reason_code",
        "last_update_status",
        "last_update_status_reason",
        "last_update_status_reason_code",
    }
)


def new_revision_id() -> str:
    return str(uuid.uuid4())


class Functions:
    def __init__(
        self,
        registry: Registry,
        code_store: CodeStore,
        arns: ArnFormatter,
        schedule: Scheduler,
        settle_delay: float = 0.0,
        reserve: DiskReserve | None = None,
    ) -> None:
        self._registry = registry
        self._code = code_store
        self._arns = arns
        self._schedule = schedule
        self._settle_delay = settle_delay
        self._reserve = reserve
        self.code_lock = asyncio.Lock()

    # Reading ---------------------------------------------------------------------------
    def resolve(self, tx: RegistryTransaction, ref: FunctionRef) -> FunctionVersion:
        """The version a reference names: $LATEST, a number, or an alias's primary version."""
        version = resolve_version(tx, ref.name, ref.qualifier)
        if version is None:
            raise self.not_found(ref)
        return version

    def get(self, ref: FunctionRef) -> tuple[FunctionRecord, FunctionVersion]:
        with self._registry.transaction() as tx:
            version = self.resolve(tx, ref)
            record = tx.get_function(ref.name)
            assert record is not None  # a version exists only under its function
            return record, version

    def list_latest(self) -> list[FunctionVersion]:
        with self._registry.transaction() as tx:
            found = (tx.get_version(f.name, LATEST) for f in tx.list_functions())
            return [v for v in found if v is not None]

    def list_all_versions(self) -> list[FunctionVersion]:
        with self._registry.transaction() as tx:
            return [v for f in tx.list_functions() for v in tx.list_versions(f.name)]

    def list_versions(self, name: str) -> list[FunctionVersion]:
        with self._registry.transaction() as tx:
            if tx.get_function(name) is None:
                raise self.not_found(FunctionRef(name))
            return tx.list_versions(name)

    def not_found(self, ref: FunctionRef) -> Exception:
        return function_not_found(self._arns.function(ref.name, ref.qualifier))

    def code_path(self, digest: str) -> str:
        return str(self._code.get_zip_path(digest))

    # Changing ----------------------------------------------------------------------------
    async def create(
        self,
        name: str,
        fields: dict[str, Any],
        zip_bytes: bytes,
        *,
        max_zipped: int | None = None,
        publish: bool,
        tags: dict[str, str],
    ) -> FunctionVersion:
        layer_arns = fields.pop("layer_arns", [])
        async with self.code_lock:
            with self._registry.transaction() as tx:  # fail fast, before unpacking
                if tx.get_function(name) is not None:
                    raise conflict(f"Function already exist: {name}")
            self.require_room()
            stored = await asyncio.to_thread(self._code.put, zip_bytes, max_zipped)
            try:
                with self._registry.transaction() as tx:
                    if tx.get_function(name) is not None:
                        raise conflict(f"Function already exist: {name}")
                    now = aws_timestamp()
                    latest = FunctionVersion(
                        function_name=name,
                        version=LATEST,
                        code_sha256_hex=stored.sha256_hex,
                        code_size=stored.size,
                        revision_id=new_revision_id(),
                        last_modified=now,
                        layers=self._attach_layers(tx, layer_arns),
                        **fields,
                    )
                    snapstart.check(latest.runtime, latest.passthrough)
                    record = FunctionRecord(name=name, created=now, tags=dict(tags))
                    tx.put_function(record)
                    tx.put_version(latest)
                    result = latest
                    if publish:
                        # AWS answers with $LATEST as it was created, numbered as published.
                        published = self._publish(tx, record, latest, "")
                        result = dataclasses.replace(latest, version=published.version)
            except BaseException:
                self.collect_garbage()
                raise
        self._schedule_settle(name)
        return result

    async def update_code(
        self,
        name: str,
        zip_bytes: bytes,
        *,
        max_zipped: int | None = None,
        publish: bool,
        dry_run: bool,
        revision_id: str | None,
        architectures: tuple[str, ...] | None,
    ) -> FunctionVersion:
        async with self.code_lock:
            self.require_room()
            stored: StoredCode = await asyncio.to_thread(self._code.put, zip_bytes, max_zipped)
            try:
                with self._registry.transaction() as tx:
                    record, latest = self._latest_for_update(tx, name, revision_id)
                    changes: dict[str, Any] = {
                        "code_sha256_hex": stored.sha256_hex,
                        "code_size": stored.size,
                    }
                    if architectures:
                        changes["architectures"] = architectures
                    updated = self._updated(latest, changes)
                    if dry_run:
                        raise _DryRun(updated)
                    tx.put_version(updated)
                    result = self._publish(tx, record, updated, "") if publish else updated
            except _DryRun as dry:
                self.collect_garbage()
                return dry.version
            except BaseException:
                self.collect_garbage()
                raise
        self._schedule_settle(name)
        return result

    def update_configuration(
        self, name: str, fields: dict[str, Any], revision_id: str | None
    ) -> FunctionVersion:
        layer_arns = fields.pop("layer_arns", None)
        with self._registry.transaction() as tx:
            _, latest = self._latest_for_update(tx, name, revision_id)
            if layer_arns is not None:
                fields["layers"] = self._attach_layers(tx, layer_arns)
            if "passthrough" in fields:
                fields["passthrough"] = {**latest.passthrough, **fields["passthrough"]}
            resolve_logging(
                fields, latest.log_format, latest.application_log_level, latest.system_log_level
            )
            updated = self._updated(latest, fields)
            snapstart.check(updated.runtime, updated.passthrough)
            tx.put_version(updated)
        self._schedule_settle(name)
        return updated

    def publish_version(
        self, name: str, *, code_sha256: str | None, description: str, revision_id: str | None
    ) -> FunctionVersion:
        with self._registry.transaction() as tx:
            record, latest = self._latest_for_update(tx, name, revision_id)
            current = _b64_sha(latest.code_sha256_hex)
            if code_sha256 and code_sha256 != current:
                raise invalid_parameter(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                    f"({current}). Please try again with the CodeSHA256 in $LATEST."
                )
            return self._publish(tx, record, latest, description)

    async def delete(self, ref: FunctionRef) -> None:
        def delete_rows() -> None:
            with self._registry.transaction() as tx:
                if ref.qualifier == LATEST:
                    raise invalid_parameter(
                        "$LATEST version cannot be deleted without deleting the function."
                    )
                # AWS refuses an alias before it looks for the function.
                if ref.qualifier is not None and is_alias_name(ref.qualifier):
                    raise invalid_parameter("Deletion of aliases is not currently supported.")
                if tx.get_function(ref.name) is None:
                    raise self.not_found(FunctionRef(ref.name))
                if ref.qualifier is None:
                    tx.delete_function(ref.name)
                else:
                    self._delete_version(tx, ref)

        async with self.code_lock:
            self.freeing(delete_rows)
            self.collect_garbage()

    def require_room(self) -> None:
        """Refuse a write that takes space while the disk is full (store/reserve.py)."""
        if self._reserve is not None:
            self._reserve.require_room()

    def freeing(self, write: Callable[[], None]) -> None:
        """Run a write that frees space so that it works on a full disk too (see
        store/reserve.py); once it has, take the reserve back if there is room again."""
        if self._reserve is None:
            write()
            return
        self._reserve.freeing(write)

    def settle(self, name: str) -> None:
        """Finish a create or update: Pending → Active, InProgress → Successful."""
        with self._registry.transaction() as tx:
            for version in tx.list_versions(name):
                if version.awaiting_snapshot:
                    continue  # settled by settle_snapstart, once its init has run
                settled = _settled(version)
                if settled is not version:
                    # AWS gives a version a new RevisionId when it settles.
                    tx.put_version(dataclasses.replace(settled, public_revision=new_revision_id()))

    def settle_snapstart(self, version: FunctionVersion, error: str | None) -> None:
        """A SnapStart version's init at publish is over: Active, or Failed with `error`
        as its StateReason. Nothing changes if the version was deleted or replaced since."""
        with self._registry.transaction() as tx:
            current = tx.get_version(version.function_name, version.version)
            if current is None or current.revision_id != version.revision_id:
                return
            if not current.awaiting_snapshot:
                return
            if error is None:
                settled = _settled(current)
            else:
                settled = dataclasses.replace(
                    current,
                    state=State.FAILED,
                    state_reason=error,
                    state_reason_code=snapstart.FAILED_REASON_CODE,
                    last_update_status=UpdateStatus.FAILED,
                    last_update_status_reason=error,
                    last_update_status_reason_code=snapstart.FAILED_REASON_CODE,
                )
            tx.put_version(dataclasses.replace(settled, public_revision=new_revision_id()))

    # Helpers -----------------------------------------------------------------------------
    def _latest_for_update(
        self, tx: RegistryTransaction, name: str, revision_id: str | None
    ) -> tuple[FunctionRecord, FunctionVersion]:
        record = tx.get_function(name)
        latest = tx.get_version(name, LATEST)
        if record is None or latest is None:
            raise self.not_found(FunctionRef(name))
        if latest.last_update_status == UpdateStatus.IN_PROGRESS or latest.state == State.PENDING:
            raise conflict(
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self._arns.function(name)}"
            )
        if revision_id and revision_id != latest.reported_revision:
            raise precondition_failed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        return record, latest

    def _updated(self, latest: FunctionVersion, changes: dict[str, Any]) -> FunctionVersion:
        return dataclasses.replace(
            latest,
            **changes,
            revision_id=new_revision_id(),
            public_revision=None,
            last_modified=aws_timestamp(),
            last_update_status=UpdateStatus.IN_PROGRESS,
            last_update_status_reason=_CREATING_REASON,
            last_update_status_reason_code="Creating",
        )

    def _publish(
        self,
        tx: RegistryTransaction,
        record: FunctionRecord,
        latest: FunctionVersion,
        description: str,
    ) -> FunctionVersion:
        published = [v for v in tx.list_versions(record.name) if not v.is_latest]
        if published and _unchanged_since(published[-1], latest):
            return published[-1]  # AWS publishes nothing new when nothing changed
        number = record.last_version_number + 1
        version = dataclasses.replace(
            latest,
            version=str(number),
            description=description or latest.description,
            revision_id=new_revision_id(),
            public_revision=None,
            last_modified=aws_timestamp(),
        )
        if version.snapstart_on:
            # Pending until its init has run at publish (settle_snapstart), as on AWS.
            version = dataclasses.replace(
                version,
                state=State.PENDING,
                state_reason=_CREATING_REASON,
                state_reason_code="Creating",
                last_update_status=None,
                last_update_status_reason=None,
                last_update_status_reason_code=None,
            )
        else:
            version = _settled(version)
        tx.put_function(dataclasses.replace(record, last_version_number=number))
        tx.put_version(version)
        # Publishing changes $LATEST's RevisionId too, as on AWS (not what runs in it).
        tx.put_version(dataclasses.replace(latest, public_revision=new_revision_id()))
        return version

    def _delete_version(self, tx: RegistryTransaction, ref: FunctionRef) -> None:
        qualifier = ref.qualifier or LATEST
        if qualifier == LATEST:
            raise invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if not is_version(qualifier):  # `$latest`: no version, no alias
            raise self.not_found(FunctionRef(ref.name))
        if tx.get_version(ref.name, qualifier) is None:
            raise self.not_found(ref)
        users = [
            a.name
            for a in tx.list_aliases(ref.name)
            if a.function_version == qualifier or qualifier in a.routing_weights
        ]
        if users:
            raise conflict(
                "Unable to delete version because the following aliases reference it: "
                f"[{', '.join(users)}]"
            )
        tx.delete_version(ref.name, qualifier)
        record = tx.get_function(ref.name)
        if record is not None:
            tx.put_function(record.without_qualifier(qualifier))

    def _attach_layers(
        self, tx: RegistryTransaction, layer_arns: list[str]
    ) -> tuple[AttachedLayer, ...]:
        attached: list[AttachedLayer] = []
        seen: dict[str, str] = {}  # layer name -> the version ARN that referenced it first
        for arn in layer_arns:
            ref = parse_layer_version_arn(arn, field="layers")
            if arn.split(":")[3] != self._arns.region:
                raise invalid_parameter(
                    "Layers are not in the same region as the function. "
                    f"Layers are expected to be in region {self._arns.region}."
                )
            assert ref.version is not None
            if ref.name in seen:
                # AWS names the first two references, even two of one version.
                raise invalid_parameter(
                    "Two different versions of the same layer are not allowed to be referenced "
                    f"in the same function. {seen[ref.name]} and "
                    f"{self._arns.layer_version(ref.name, ref.version)} are versions of the "
                    "same layer."
                )
            seen[ref.name] = self._arns.layer_version(ref.name, ref.version)
            layer = tx.get_layer_version(ref.name, ref.version)
            if layer is None:
                raise invalid_parameter(f"Layer version {arn} does not exist.")
            attached.append(
                AttachedLayer(
                    arn=self._arns.layer_version(ref.name, ref.version),
                    code_size=layer.code_size,
                    code_sha256_hex=layer.code_sha256_hex,
                )
            )
        return tuple(attached)

    def _schedule_settle(self, name: str) -> None:
        self._schedule(self._settle_delay, lambda: self.settle(name))

    def collect_garbage(self) -> None:
        """Delete stored code that no version or layer references any more.

        Callers hold `code_lock`, so no request is between storing code and referencing it.
        In a cluster that lock is this node's only: the shared copies are swept inside the
        transaction, under the cluster's registry lease (see cluster/code.py for why that is
        safe against another node's create).
        """
        with self._registry.transaction() as tx:
            in_use = tx.code_digests_in_use()
            self._code.sweep_shared(in_use)
        for digest in self._code.digests() - in_use:
            self._code.delete(digest)
        if self._reserve is not None:
            self._reserve.restore()


class _DryRun(Exception):
    """Unwinds the transaction of a DryRun update, carrying what it would have produced."""

    def __init__(self, version: FunctionVersion) -> None:
        super().__init__("dry run")
        self.version = version


def _b64_sha(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _same_content(a: FunctionVersion, b: FunctionVersion) -> bool:
    def content(v: FunctionVersion) -> dict[str, Any]:
        return {k: val for k, val in v.to_dict().items() if k not in _VOLATILE_FIELDS}

    return content(a) == content(b)


def _unchanged_since(published: FunctionVersion, latest: FunctionVersion) -> bool:
    """Whether $LATEST is what `published` was made from. Its description counts once
    $LATEST was updated after that publish (a version's own description may differ from
    $LATEST's; recorded: test_version_lifecycle publishes anew after a description change)."""
    if not _same_content(published, latest):
        return False
    return (
        latest.description == published.description
        or latest.last_modified <= published.last_modified
    )


def _settled(version: FunctionVersion) -> FunctionVersion:
    if version.state == State.ACTIVE and version.last_update_status == UpdateStatus.SUCCESSFUL:
        return version
    return dataclasses.replace(
        version,
        state=State.ACTIVE,
        state_reason=None,
        state_reason_code=None,
        last_update_status=UpdateStatus.SUCCESSFUL,
        last_update_status_reason=None,
        last_update_status_reason_code=None,
    )
