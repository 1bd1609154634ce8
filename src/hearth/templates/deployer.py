"""The operations `hearth up` needs from Hearth, as a Protocol, and an in-memory fake.

The real one (``boto_deployer.BotoDeployer``) calls Hearth's Lambda API with boto3, so a
template goes through the same validation as any client's request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hearth.templates.openapi import ApiBody

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
    """Queues, tables, buckets, topics, rules, schedules in the companion services and log
    groups in Hearth's Logs (service_deployer.py is the real one); the same guarantees as
    Deployer."""

    def put_queue(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        """Create or update; returns QueueUrl, Arn, QueueName."""
        ...

    def delete_queue(self, url: str) -> None: ...

    def put_table(self, params: dict[str, Any]) -> dict[str, str]:
        """Create (an existing table is kept); returns Arn (and StreamArn with a stream)."""
        ...

    def delete_table(self, name: str) -> None: ...

    def put_bucket(self, name: str, notifications: dict[str, Any]) -> dict[str, str]:
        """Create (an existing bucket is kept) and set the notification configuration
        (PutBucketNotificationConfiguration's shape); returns BucketName."""
        ...

    def delete_bucket(self, name: str) -> None:
        """Delete the bucket and what it holds."""
        ...

    def put_topic(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        """Create or update; returns TopicArn, TopicName."""
        ...

    def delete_topic(self, arn: str) -> None: ...

    def put_subscription(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]
    ) -> str:
        """Subscribe (the same endpoint gives the same subscription); returns its ARN."""
        ...

    def delete_subscription(self, arn: str) -> None: ...

    def put_rule(self, params: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, str]:
        """PutRule's parameters; the rule's targets become exactly ``targets``; Arn, Name."""
        ...

    def delete_rule(self, name: str, bus: str | None) -> None: ...

    def put_event_bus(self, name: str) -> dict[str, str]:
        """Create (an existing bus is kept); returns Arn, Name."""
        ...

    def delete_event_bus(self, name: str) -> None: ...

    def put_schedule(self, params: dict[str, Any]) -> dict[str, str]:
        """CreateSchedule's parameters, created or updated; returns Arn."""
        ...

    def delete_schedule(self, name: str, group: str | None) -> None: ...

    def put_log_group(self, name: str, retention_days: int | None) -> dict[str, str]:
        """Create (an existing group is kept) with this retention (None: forever); Arn."""
        ...

    def delete_log_group(self, name: str) -> None: ...

    def put_subscription_filter(self, params: dict[str, Any]) -> None:
        """PutSubscriptionFilter's parameters (created or replaced)."""
        ...

    def delete_subscription_filter(self, group: str, name: str) -> None:
        """Gone already (or its group): nothing to do."""
        ...


class ApiDeployer(Protocol):
    """API Gateway REST and HTTP APIs (api_deployer.py is the real one); the same guarantees
    as Deployer. ``put_*_api`` with the id of an existing API rebuilds it in place, so its id
    (and its URL) stays."""

    def url(self, api_id: str) -> str:
        """Where Hearth serves the API (no trailing slash)."""
        ...

    def put_rest_api(self, api_id: str | None, name: str, body: ApiBody) -> dict[str, str]:
        """Returns RestApiId, RootResourceId."""
        ...

    def delete_rest_api(self, api_id: str) -> None: ...

    def put_rest_deployment(self, api_id: str, stage: str | None, description: str) -> str:
        """CreateDeployment (with a stage, when named); returns its id."""
        ...

    def delete_rest_deployment(self, api_id: str, deployment_id: str) -> None: ...

    def put_rest_stage(
        self, api_id: str, stage: str, deployment_id: str, variables: dict[str, str]
    ) -> None: ...

    def delete_rest_stage(self, api_id: str, stage: str) -> None: ...

    def put_http_api(
        self, api_id: str | None, name: str, body: ApiBody, cors: dict[str, Any] | None
    ) -> dict[str, str]:
        """Returns ApiId, ApiEndpoint."""
        ...

    def delete_http_api(self, api_id: str) -> None: ...

    def put_http_stage(self, api_id: str, stage: str, variables: dict[str, str]) -> None: ...

    def delete_http_stage(self, api_id: str, stage: str) -> None: ...


@dataclass
class FakeApis:
    """ApiDeployer in memory: api id → (kind, the body's operations, stages)."""

    apis: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, api_id: str) -> str:
        return f"http://{api_id}.execute-api.localhost"

    def _put(self, kind: str, api_id: str | None, body: ApiBody) -> str:
        api_id = api_id if api_id in self.apis else f"api{len(self.apis) + 1}"
        stages = self.apis.get(api_id, {}).get("stages", {})
        self.apis[api_id] = {"kind": kind, "body": body, "stages": stages}
        return api_id

    def put_rest_api(self, api_id: str | None, name: str, body: ApiBody) -> dict[str, str]:
        made = self._put("rest", api_id, body)
        return {"RestApiId": made, "RootResourceId": "root"}

    def delete_rest_api(self, api_id: str) -> None:
        self.apis.pop(api_id, None)

    def put_rest_deployment(self, api_id: str, stage: str | None, description: str) -> str:
        if stage:
            self.apis[api_id]["stages"][stage] = {}
        return f"dep-{description[-8:]}"

    def delete_rest_deployment(self, api_id: str, deployment_id: str) -> None:
        """Nothing kept."""

    def put_rest_stage(
        self, api_id: str, stage: str, deployment_id: str, variables: dict[str, str]
    ) -> None:
        self.apis[api_id]["stages"][stage] = dict(variables)

    def delete_rest_stage(self, api_id: str, stage: str) -> None:
        self.apis.get(api_id, {}).get("stages", {}).pop(stage, None)

    def put_http_api(
        self, api_id: str | None, name: str, body: ApiBody, cors: dict[str, Any] | None
    ) -> dict[str, str]:
        made = self._put("http", api_id, body)
        return {"ApiId": made, "ApiEndpoint": self.url(made)}

    def delete_http_api(self, api_id: str) -> None:
        self.apis.pop(api_id, None)

    def put_http_stage(self, api_id: str, stage: str, variables: dict[str, str]) -> None:
        self.apis[api_id]["stages"][stage] = dict(variables)

    def delete_http_stage(self, api_id: str, stage: str) -> None:
        self.apis.get(api_id, {}).get("stages", {}).pop(stage, None)


@dataclass
class FakeServices:
    """ServiceDeployer in memory."""

    queues: dict[str, dict[str, str]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    topics: dict[str, dict[str, str]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    buses: set[str] = field(default_factory=set)
    log_groups: dict[str, int | None] = field(default_factory=dict)
    subscription_filters: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

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

    def put_bucket(self, name: str, notifications: dict[str, Any]) -> dict[str, str]:
        self.buckets[name] = dict(notifications)
        return {"BucketName": name}

    def delete_bucket(self, name: str) -> None:
        self.buckets.pop(name, None)

    def put_topic(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        arn = f"arn:aws:sns:us-east-1:123456789012:{name}"
        self.topics[arn] = dict(attributes)
        return {"TopicArn": arn, "TopicName": name}

    def delete_topic(self, arn: str) -> None:
        self.topics.pop(arn, None)

    def put_subscription(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]
    ) -> str:
        arn = f"{topic_arn}:{protocol}:{endpoint.rsplit(':', 1)[-1]}"
        self.subscriptions[arn] = {"Endpoint": endpoint, **attributes}
        return arn

    def delete_subscription(self, arn: str) -> None:
        self.subscriptions.pop(arn, None)

    def put_rule(self, params: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, str]:
        self.rules[params["Name"]] = {**params, "Targets": list(targets)}
        return {"Arn": f"arn:aws:events:us-east-1:123456789012:rule/{params['Name']}",
                "Name": params["Name"]}  # fmt: skip

    def delete_rule(self, name: str, bus: str | None) -> None:
        self.rules.pop(name, None)

    def put_event_bus(self, name: str) -> dict[str, str]:
        self.buses.add(name)
        return {"Arn": f"arn:aws:events:us-east-1:123456789012:event-bus/{name}", "Name": name}

    def delete_event_bus(self, name: str) -> None:
        self.buses.discard(name)

    def put_schedule(self, params: dict[str, Any]) -> dict[str, str]:
        self.schedules[params["Name"]] = dict(params)
        return {
            "Arn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{params['Name']}"
        }

    def delete_schedule(self, name: str, group: str | None) -> None:
        self.schedules.pop(name, None)

    def put_log_group(self, name: str, retention_days: int | None) -> dict[str, str]:
        self.log_groups[name] = retention_days
        return {"Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"}

    def delete_log_group(self, name: str) -> None:
        self.log_groups.pop(name, None)

    def put_subscription_filter(self, params: dict[str, Any]) -> None:
        self.subscription_filters[(params["logGroupName"], params["filterName"])] = dict(params)

    def delete_subscription_filter(self, group: str, name: str) -> None:
        self.subscription_filters.pop((group, name), None)


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
