"""Layers and their versions: publish, get, list, delete.

Layer code lives in the same content-addressed store as function code, so publishing and
deleting share `Functions.code_lock` and `Functions.collect_garbage`: one collector sees every
reference (function versions, layer versions, layers attached to functions), and no request
can collect a blob another one has stored but not yet referenced.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from hearth.arns import ArnFormatter, parse_layer_version_arn
from hearth.control.functions import Functions
from hearth.control.layer_runtimes import LIST_FILTER_RUNTIMES, PUBLISH_MESSAGE_RUNTIMES
from hearth.errors import ConstraintViolation, LambdaError, not_found, validation_error
from hearth.models import LayerRecord, LayerVersion, aws_timestamp
from hearth.store.code import CodeStore
from hearth.store.registry import Registry, RegistryTransaction

ARCHITECTURES = ("x86_64", "arm64")
# AWS's model limits (botocore lambda/2015-03-31, PublishLayerVersionRequest).
MAX_COMPATIBLE_RUNTIMES = 15
MAX_COMPATIBLE_ARCHITECTURES = 2
MAX_DESCRIPTION = 256
MAX_LICENSE_INFO = 512

# AWS names neither the layer nor the version in this message.
_NOT_FOUND = "The resource you requested does not exist."


def layer_not_found() -> LambdaError:
    return not_found(_NOT_FOUND)


def _java_list(values: Sequence[str]) -> str:
    # AWS quotes a list value as Java prints it: [a, b].
    return f"[{', '.join(values)}]"


def _enum_constraint(allowed: Sequence[str]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(allowed)}]"


def check_publish_fields(
    description: str,
    compatible_runtimes: Sequence[str],
    compatible_architectures: Sequence[str],
    license_info: str | None,
) -> None:
    """Raise one ValidationException listing every broken model constraint.

    Runtimes and architectures are enums in AWS's model, so AWS answers a value outside them
    with ValidationException (`Value '[python3.99]' at 'compatibleRuntimes' failed to satisfy
    constraint: Member must satisfy enum value set: [...]`), not InvalidParameterValueException.
    The enum is AWS's (layer_runtimes.py), not the runtimes Hearth runs: it is metadata.
    """
    violations: list[ConstraintViolation] = []
    if len(description) > MAX_DESCRIPTION:
        violations.append(
            ConstraintViolation(
                "description",
                description,
                f"Member must have length less than or equal to {MAX_DESCRIPTION}",
            )
        )
    violations.extend(
        _list_violations(
            "compatibleRuntimes",
            compatible_runtimes,
            MAX_COMPATIBLE_RUNTIMES,
            LIST_FILTER_RUNTIMES,
            _enum_constraint(PUBLISH_MESSAGE_RUNTIMES),
        )
    )
    violations.extend(
        _list_violations(
            "compatibleArchitectures",
            compatible_architectures,
            MAX_COMPATIBLE_ARCHITECTURES,
            ARCHITECTURES,
            # Each member is checked, so AWS words it as a member's constraints.
            f"Member must satisfy constraint: [{_enum_constraint(ARCHITECTURES)}, "
            "Member must not be null]",
        )
    )
    if license_info is not None and len(license_info) > MAX_LICENSE_INFO:
        violations.append(
            ConstraintViolation(
                "licenseInfo",
                license_info,
                f"Member must have length less than or equal to {MAX_LICENSE_INFO}",
            )
        )
    if violations:
        raise validation_error(violations)


def _list_violations(
    field: str, values: Sequence[str], max_items: int, allowed: Sequence[str], constraint: str
) -> list[ConstraintViolation]:
    found: list[ConstraintViolation] = []
    if len(values) > max_items:
        found.append(
            ConstraintViolation(
                field,
                _java_list(values),
                f"Member must have length less than or equal to {max_items}",
            )
        )
    if any(value not in allowed for value in values):
        found.append(ConstraintViolation(field, _java_list(values), constraint))
    return found


def check_filters(runtime: str | None, architecture: str | None) -> None:
    """The CompatibleRuntime / CompatibleArchitecture query filters of the List operations."""
    violations: list[ConstraintViolation] = []
    if runtime is not None and runtime not in LIST_FILTER_RUNTIMES:
        violations.append(
            ConstraintViolation(
                "compatibleRuntime", runtime, _enum_constraint(LIST_FILTER_RUNTIMES)
            )
        )
    if architecture is not None and architecture not in ARCHITECTURES:
        violations.append(
            ConstraintViolation(
                "compatibleArchitecture", architecture, _enum_constraint(ARCHITECTURES)
            )
        )
    if violations:
        raise validation_error(violations)


def _matches(version: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    return (runtime is None or runtime in version.compatible_runtimes) and (
        architecture is None or architecture in version.compatible_architectures
    )


class Layers:
    def __init__(
        self,
        registry: Registry,
        arns: ArnFormatter,
        functions: Functions,
        code_store: CodeStore,
    ) -> None:
        self._registry = registry
        self._arns = arns
        # For the code lock and garbage collector it shares with function code (module doc);
        # `code_store` must be the one `functions` was built with.
        self._functions = functions
        self._code = code_store

    # Changing ----------------------------------------------------------------------------
    async def publish(
        self,
        name: str,
        zip_bytes: bytes,
        *,
        max_zipped: int | None = None,
        description: str = "",
        compatible_runtimes: Sequence[str] = (),
        compatible_architectures: Sequence[str] = (),
        license_info: str | None = None,
        named_lists: tuple[str, ...] = (),
    ) -> LayerVersion:
        check_publish_fields(
            description, compatible_runtimes, compatible_architectures, license_info
        )
        functions = self._functions
        async with functions.code_lock:
            try:
                functions.require_room()
                # Unpacking can take seconds: outside the transaction, inside the lock.
                stored = await asyncio.to_thread(self._code.put, zip_bytes, max_zipped)
                with self._registry.transaction() as tx:
                    record = tx.get_layer(name) or LayerRecord(name=name)
                    # Counted from the record, not the remaining versions: AWS never reuses
                    # a layer version number, even after that version is deleted.
                    number = record.last_version_number + 1
                    version = LayerVersion(
                        layer_name=name,
                        version=number,
                        code_sha256_hex=stored.sha256_hex,
                        code_size=stored.size,
                        created_date=aws_timestamp(),
                        description=description,
                        compatible_runtimes=tuple(compatible_runtimes),
                        compatible_architectures=tuple(compatible_architectures),
                        license_info=license_info,
                        named_lists=named_lists,
                    )
                    tx.put_layer(dataclasses.replace(record, last_version_number=number))
                    tx.put_layer_version(version)
            except BaseException:
                # The blob may be stored but unreferenced (the transaction rolled back).
                functions.collect_garbage()
                raise
        return version

    async def delete(self, name: str, version: int) -> None:
        """Idempotent: AWS answers 204 whether or not the version exists."""

        def delete_row() -> None:
            with self._registry.transaction() as tx:
                tx.delete_layer_version(name, version)

        async with self._functions.code_lock:
            self._functions.freeing(delete_row)
            # Functions that attached this version keep its code (as on AWS): the collector
            # counts their attachments, so only truly unreferenced code goes.
            self._functions.collect_garbage()

    # Reading -----------------------------------------------------------------------------
    def get(self, name: str, version: int) -> LayerVersion:
        with self._registry.transaction() as tx:
            return self._get(tx, name, version)

    def get_by_arn(self, arn: str) -> LayerVersion:
        ref = parse_layer_version_arn(arn)
        assert ref.version is not None  # the parser insists on a version
        # Hearth serves one region and account: any other ARN names a layer that is not here.
        if arn != self._arns.layer_version(ref.name, ref.version):
            raise layer_not_found()
        return self.get(ref.name, ref.version)

    def list_versions(
        self, name: str, runtime: str | None = None, architecture: str | None = None
    ) -> list[LayerVersion]:
        """Newest first. An unknown layer has no versions (AWS answers an empty list)."""
        check_filters(runtime, architecture)
        with self._registry.transaction() as tx:
            versions = tx.list_layer_versions(name)
        return [v for v in versions if _matches(v, runtime, architecture)]

    def list_layers(
        self, runtime: str | None = None, architecture: str | None = None
    ) -> list[tuple[LayerRecord, LayerVersion]]:
        """Each layer by name with its newest matching version; layers with none are left out
        (a layer whose versions were all deleted keeps its record but is no longer listed)."""
        check_filters(runtime, architecture)
        found: list[tuple[LayerRecord, LayerVersion]] = []
        with self._registry.transaction() as tx:
            for record in tx.list_layers():
                latest = next(
                    (
                        v
                        for v in tx.list_layer_versions(record.name)
                        if _matches(v, runtime, architecture)
                    ),
                    None,
                )
                if latest is not None:
                    found.append((record, latest))
        return found

    def _get(self, tx: RegistryTransaction, name: str, version: int) -> LayerVersion:
        found = tx.get_layer_version(name, version)
        if found is None:
            raise layer_not_found()
        return found
