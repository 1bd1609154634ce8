"""The operations `hearth up` needs from Hearth, as a Protocol, and an in-memory fake.

The real one (``boto_deployer.BotoDeployer``) calls Hearth's Lambda API with boto3, so a
template goes through the same validation as any client's request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# The tag that says which stack a function belongs to (resources.FunctionHandler sets it).
STACK_TAG = "hearth:stack"


class DeployError(Exception):
    """Hearth refused an operation; ``code`` and ``message`` are its AWS error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Deployer(Protocol):
    """Creates, updates and deletes Lambda resources. Guarantees: each method is one
    operation that either happens or raises DeployError; ``put_*`` both create and update,
    but put_function never takes over a function whose STACK_TAG names another stack (or that
    has none: it was made by hand), raising ResourceConflictException;
    deleting what is already gone is not an error (a state file may be stale)."""

    def put_function(
        self, config: dict[str, Any], zip_bytes: bytes | None, *, update_config: bool = True
    ) -> dict[str, Any]:
        """Create or update the function ``config["FunctionName"]`` (CreateFunction's
        parameters, without Code); an update sends the code only when ``zip_bytes`` is given
        and the configuration only when ``update_config``; return FunctionArn."""
        ...

    def delete_function(self, name: str) -> None: ...

    def put_concurrency(self, name: str, reserved: int | None) -> None:
        """Reserve ``reserved`` concurrency for ``name``, or remove the reservation (None)."""
        ...

    def publish_layer(self, params: dict[str, Any], zip_bytes: bytes) -> dict[str, Any]:
        """PublishLayerVersion; returns LayerArn, LayerVersionArn, Version."""
        ...

    def delete_layer_version(self, name: str, version: int) -> None: ...

    def publish_version(self, name: str, description: str) -> dict[str, Any]:
        """PublishVersion; an unchanged $LATEST gives back its last version."""
        ...

    def put_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        """CreateAlias or UpdateAlias; returns AliasArn."""
        ...

    def delete_alias(self, function: str, name: str) -> None: ...

    def put_provisioned(self, function: str, qualifier: str, count: int | None) -> None: ...

    def put_event_invoke_config(self, params: dict[str, Any]) -> None: ...

    def delete_event_invoke_config(self, function: str, qualifier: str | None) -> None: ...

    def add_permission(self, params: dict[str, Any]) -> None:
        """AddPermission, replacing a statement of the same StatementId."""
        ...

    def remove_permission(
        self, function: str, statement_id: str, qualifier: str | None
    ) -> None: ...

    def put_event_source_mapping(self, uuid: str | None, params: dict[str, Any]) -> str:
        """CreateEventSourceMapping (``uuid`` None) or UpdateEventSourceMapping (the members
        UpdateEventSourceMapping takes); returns the mapping's UUID."""
        ...

    def delete_event_source_mapping(self, uuid: str) -> None: ...

    def put_function_url(self, params: dict[str, Any]) -> dict[str, Any]:
        """CreateFunctionUrlConfig, or UpdateFunctionUrlConfig when the function (and
        Qualifier) has one; returns FunctionUrl and FunctionArn."""
        ...

    def delete_function_url(self, function: str, qualifier: str | None) -> None: ...


class ServiceDeployer(Protocol):
    """Queues and tables in the companion services (service_deployer.py is the real one);
    the same guarantees as Deployer."""

    def put_queue(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        """Create or update; returns QueueUrl, Arn, QueueName."""
        ...

    def delete_queue(self, url: str) -> None: ...

    def put_table(self, params: dict[str, Any]) -> dict[str, str]:
        """Create (an existing table is kept); returns Arn (and StreamArn with a stream)."""
        ...

    def delete_table(self, name: str) -> None: ...


@dataclass
class FakeServices:
    """ServiceDeployer in memory."""

    queues: dict[str, dict[str, str]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put_queue(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        self.queues[name] = dict(attributes)
        return {
            "QueueUrl": f"http://localhost/123456789012/{name}",
            "Arn": f"arn:aws:sqs:us-east-1:123456789012:{name}",
            "QueueName": name,
        }

    def delete_queue(self, url: str) -> None:
        self.queues.pop(url.rsplit("/", 1)[-1], None)

    def put_table(self, params: dict[str, Any]) -> dict[str, str]:
        self.tables.setdefault(params["TableName"], dict(params))
        return {"Arn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{params['TableName']}"}

    def delete_table(self, name: str) -> None:
        self.tables.pop(name, None)


@dataclass
class FakeDeployer:
    """Deployer in memory, for the applier's unit tests: records every call."""

    account: str = "123456789012"
    region: str = "us-east-1"
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    code: dict[str, bytes] = field(default_factory=dict)
    versions: dict[str, list[bytes]] = field(default_factory=dict)
    aliases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    layers: dict[str, list[bytes]] = field(default_factory=dict)
    permissions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_on: str | None = None

    def _call(self, what: str) -> None:
        if self.fail_on and what.startswith(self.fail_on):
            raise DeployError("InvalidParameterValueException", f"refused {what}")
        self.calls.append(what)

    def _arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def put_function(
        self, config: dict[str, Any], zip_bytes: bytes | None, *, update_config: bool = True
    ) -> dict[str, Any]:
        name = config["FunctionName"]
        existing = self.functions.get(name)
        if existing is not None:
            owner = (existing.get("Tags") or {}).get(STACK_TAG)
            if owner != (config.get("Tags") or {}).get(STACK_TAG):
                raise DeployError("ResourceConflictException", f"{name} belongs to {owner}")
        parts = ("code " if zip_bytes is not None else "") + ("config" if update_config else "")
        self._call(f"put_function {name} {parts}".rstrip())
        self.functions[name] = dict(config)
        if zip_bytes is not None:
            self.code[name] = zip_bytes
        return {**config, "FunctionArn": self._arn(name)}

    def delete_function(self, name: str) -> None:
        self._call(f"delete_function {name}")
        self.functions.pop(name, None)

    def put_concurrency(self, name: str, reserved: int | None) -> None:
        self._call(f"put_concurrency {name} {reserved}")

    def publish_layer(self, params: dict[str, Any], zip_bytes: bytes) -> dict[str, Any]:
        name = params["LayerName"]
        self._call(f"publish_layer {name}")
        versions = self.layers.setdefault(name, [])
        versions.append(zip_bytes)
        arn = f"arn:aws:lambda:{self.region}:{self.account}:layer:{name}"
        return {
            "LayerArn": arn,
            "LayerVersionArn": f"{arn}:{len(versions)}",
            "Version": len(versions),
        }

    def delete_layer_version(self, name: str, version: int) -> None:
        self._call(f"delete_layer_version {name} {version}")

    def publish_version(self, name: str, description: str) -> dict[str, Any]:
        self._call(f"publish_version {name}")
        versions = self.versions.setdefault(name, [])
        if not versions or versions[-1] != self.code.get(name):
            versions.append(self.code.get(name, b""))
        number = str(len(versions))
        return {"Version": number, "FunctionArn": f"{self._arn(name)}:{number}"}

    def put_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params["FunctionName"], params["Name"])
        self._call(f"put_alias {key[0]}:{key[1]} -> {params['FunctionVersion']}")
        self.aliases[key] = dict(params)
        return {"AliasArn": f"{self._arn(key[0])}:{key[1]}"}

    def delete_alias(self, function: str, name: str) -> None:
        self._call(f"delete_alias {function}:{name}")
        self.aliases.pop((function, name), None)

    def put_provisioned(self, function: str, qualifier: str, count: int | None) -> None:
        self._call(f"put_provisioned {function}:{qualifier} {count}")

    def put_event_invoke_config(self, params: dict[str, Any]) -> None:
        self._call(f"put_event_invoke_config {params['FunctionName']}")

    def delete_event_invoke_config(self, function: str, qualifier: str | None) -> None:
        self._call(f"delete_event_invoke_config {function}")

    def add_permission(self, params: dict[str, Any]) -> None:
        key = (params["FunctionName"], params["StatementId"])
        self._call(f"add_permission {key[0]} {key[1]}")
        self.permissions[key] = dict(params)

    def remove_permission(self, function: str, statement_id: str, qualifier: str | None) -> None:
        self._call(f"remove_permission {function} {statement_id}")
        self.permissions.pop((function, statement_id), None)

    def put_event_source_mapping(self, uuid: str | None, params: dict[str, Any]) -> str:
        uuid = uuid or f"uuid-{len(self.mappings) + 1}"
        self._call(f"put_event_source_mapping {uuid}")
        self.mappings[uuid] = {**self.mappings.get(uuid, {}), **params}
        return uuid

    def delete_event_source_mapping(self, uuid: str) -> None:
        self._call(f"delete_event_source_mapping {uuid}")
        self.mappings.pop(uuid, None)

    def put_function_url(self, params: dict[str, Any]) -> dict[str, Any]:
        key = f"{params['FunctionName']}:{params.get('Qualifier', '')}"
        self._call(f"put_function_url {key}")
        self.urls[key] = dict(params)
        return {
            "FunctionUrl": f"http://{params['FunctionName'].lower()}.lambda-url.localhost/",
            "FunctionArn": self._arn(params["FunctionName"]),
        }

    def delete_function_url(self, function: str, qualifier: str | None) -> None:
        self._call(f"delete_function_url {function}:{qualifier or ''}")
        self.urls.pop(f"{function}:{qualifier or ''}", None)
