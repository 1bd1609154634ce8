"""Deployer over Hearth's Lambda API (boto3): what `hearth up` uses against a running server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import ClientError, ParamValidationError

from hearth.templates.deployer import STACK_TAG, DeployError

T = TypeVar("T")
_GONE = {"ResourceNotFoundException"}


def coerce(shape: Any, value: Any) -> Any:  # noqa: PLR0911 - one return per botocore type
    """``value`` in the types of botocore ``shape``: CloudFormation gives parameters as strings
    ("256") where the API takes numbers, and converts them by the property's type as this does."""
    kind = getattr(shape, "type_name", None)
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: coerce(members[k], v) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if isinstance(value, str):
        try:
            if kind in ("integer", "long"):
                return int(value)
            if kind in ("float", "double"):
                return float(value)
        except ValueError:
            return value  # botocore's own validation names the parameter
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class _Coercing:
    """A boto3 client whose calls' parameters are coerced to the operation's input shape."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._model = client.meta.service_model

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return method
        shape = self._model.operation_model(operation).input_shape

        def call(**params: Any) -> Any:
            return method(**coerce(shape, params))

        return call


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ParamValidationError as exc:
        raise DeployError(
            "InvalidParameterValueException", str(exc.kwargs.get("report", exc))
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise DeployError(
            str(error.get("Code", "ServiceException")), str(error.get("Message"))
        ) from None


def _check_owner(name: str, current: dict[str, str], wanted: dict[str, str]) -> None:
    """A function another stack deployed (or one made by hand) is not taken over."""
    owner, claimant = current.get(STACK_TAG), wanted.get(STACK_TAG)
    if claimant is not None and owner != claimant:
        held = f"stack {owner}" if owner else "no stack (it was not made by hearth up)"
        raise DeployError(
            "ResourceConflictException",
            f"The function {name} already exists and belongs to {held}; give this one a "
            "FunctionName, or delete that one first.",
        )


class BotoDeployer:
    """Deployer through a boto3 Lambda client (any endpoint that speaks the Lambda API)."""

    def __init__(self, client: Any) -> None:
        self._client = _Coercing(client)

    def _gone_ok(self, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return None
            error = exc.response.get("Error", {})
            raise DeployError(str(error.get("Code")), str(error.get("Message"))) from None

    def _wait(self, name: str) -> None:
        # Updates are refused while a function is Pending / InProgress (--settle-delay).
        for _ in range(300):
            config = self._client.get_function_configuration(FunctionName=name)
            if config.get("State") != "Pending" and config.get("LastUpdateStatus") != "InProgress":
                return
            time.sleep(0.05)

    def put_function(
        self, config: dict[str, Any], zip_bytes: bytes | None, *, update_config: bool = True
    ) -> dict[str, Any]:
        name = config["FunctionName"]
        with _translated():
            found = self._gone_ok(lambda: self._client.get_function(FunctionName=name))
            existing = found["Configuration"] if found else None
            if found is not None:
                _check_owner(name, found.get("Tags") or {}, config.get("Tags") or {})
            if existing is None:
                code = {"ZipFile": zip_bytes} if zip_bytes is not None else config.pop("Code")
                result: dict[str, Any] = self._client.create_function(**config, Code=code)
                self._wait(name)
                return result
            config.pop("Code", None)
            tags = config.pop("Tags", None)
            config.pop("PackageType", None)
            architectures = config.pop("Architectures", None)
            result = existing
            if zip_bytes is not None:
                extra = {"Architectures": architectures} if architectures else {}
                result = self._client.update_function_code(
                    FunctionName=name, ZipFile=zip_bytes, **extra
                )
                self._wait(name)
            if not update_config:
                return result
            result = self._client.update_function_configuration(**config)
            self._wait(name)
            if tags:
                self._client.tag_resource(Resource=result["FunctionArn"], Tags=tags)
            return result

    def delete_function(self, name: str) -> None:
        self._gone_ok(lambda: self._client.delete_function(FunctionName=name))

    def put_concurrency(self, name: str, reserved: int | None) -> None:
        with _translated():
            if reserved is None:
                self._gone_ok(lambda: self._client.delete_function_concurrency(FunctionName=name))
            else:
                self._client.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=reserved
                )

    def publish_layer(self, params: dict[str, Any], zip_bytes: bytes) -> dict[str, Any]:
        with _translated():
            result: dict[str, Any] = self._client.publish_layer_version(
                **params, Content={"ZipFile": zip_bytes}
            )
            return result

    def delete_layer_version(self, name: str, version: int) -> None:
        self._gone_ok(
            lambda: self._client.delete_layer_version(LayerName=name, VersionNumber=version)
        )

    def publish_version(self, name: str, description: str) -> dict[str, Any]:
        with _translated():
            result: dict[str, Any] = self._client.publish_version(
                FunctionName=name, Description=description
            )
            return result

    def put_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        function, name = params["FunctionName"], params["Name"]
        with _translated():
            existing = self._gone_ok(
                lambda: self._client.get_alias(FunctionName=function, Name=name)
            )
            call = self._client.update_alias if existing else self._client.create_alias
            result: dict[str, Any] = call(**params)
            return result

    def delete_alias(self, function: str, name: str) -> None:
        self._gone_ok(lambda: self._client.delete_alias(FunctionName=function, Name=name))

    def put_provisioned(self, function: str, qualifier: str, count: int | None) -> None:
        with _translated():
            if count is None:
                self._gone_ok(
                    lambda: self._client.delete_provisioned_concurrency_config(
                        FunctionName=function, Qualifier=qualifier
                    )
                )
            else:
                self._client.put_provisioned_concurrency_config(
                    FunctionName=function,
                    Qualifier=qualifier,
                    ProvisionedConcurrentExecutions=count,
                )

    def put_event_invoke_config(self, params: dict[str, Any]) -> None:
        with _translated():
            self._client.put_function_event_invoke_config(**params)

    def delete_event_invoke_config(self, function: str, qualifier: str | None) -> None:
        extra = {"Qualifier": qualifier} if qualifier else {}
        self._gone_ok(
            lambda: self._client.delete_function_event_invoke_config(FunctionName=function, **extra)
        )

    def add_permission(self, params: dict[str, Any]) -> None:
        self.remove_permission(
            params["FunctionName"], params["StatementId"], params.get("Qualifier")
        )
        with _translated():
            self._client.add_permission(**params)

    def put_event_source_mapping(self, uuid: str | None, params: dict[str, Any]) -> str:
        with _translated():
            if uuid is not None:
                found = self._gone_ok(lambda: self._client.get_event_source_mapping(UUID=uuid))
                if found is not None:
                    updatable = self._client.meta.service_model.operation_model(
                        "UpdateEventSourceMapping"
                    ).input_shape.members
                    changes = {key: value for key, value in params.items() if key in updatable}
                    self._client.update_event_source_mapping(UUID=uuid, **changes)
                    return uuid
            result = self._client.create_event_source_mapping(**params)
            return str(result["UUID"])

    def delete_event_source_mapping(self, uuid: str) -> None:
        self._gone_ok(lambda: self._client.delete_event_source_mapping(UUID=uuid))

    def put_function_url(self, params: dict[str, Any]) -> dict[str, Any]:
        where = {key: params[key] for key in ("FunctionName", "Qualifier") if key in params}
        with _translated():
            existing = self._gone_ok(lambda: self._client.get_function_url_config(**where))
            call = (
                self._client.update_function_url_config
                if existing
                else self._client.create_function_url_config
            )
            result: dict[str, Any] = call(**params)
            return result

    def delete_function_url(self, function: str, qualifier: str | None) -> None:
        extra = {"Qualifier": qualifier} if qualifier else {}
        self._gone_ok(
            lambda: self._client.delete_function_url_config(FunctionName=function, **extra)
        )

    def remove_permission(self, function: str, statement_id: str, qualifier: str | None) -> None:
        extra = {"Qualifier": qualifier} if qualifier else {}
        self._gone_ok(
            lambda: self._client.remove_permission(
                FunctionName=function, StatementId=statement_id, **extra
            )
        )
