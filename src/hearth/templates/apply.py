"""Applying a plan: each resource created or updated in order, unchanged ones left alone,
removed ones deleted (dependents first), the state saved after every step."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hearth.templates.api_resources import API_TYPES
from hearth.templates.build import DependencyBuilder
from hearth.templates.code import zip_code
from hearth.templates.deployer import ApiDeployer, Deployer, DeployError, ServiceDeployer
from hearth.templates.errors import TemplateError
from hearth.templates.handlers import HANDLERS
from hearth.templates.intrinsics import Resolver
from hearth.templates.plan import Plan
from hearth.templates.resources import RECORDED_TYPES, Context, code_key
from hearth.templates.state import Deployed, StackState

# Attributes every resource answers, whatever its type, when Hearth did not create it.
_UNSUPPORTED = "unsupported"
_NEEDS_ITS_SOURCE = {"AWS::Lambda::EventSourceMapping"}


@dataclass
class Outcome:
    """What one `up` did, by logical id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    recorded: list[tuple[str, str]] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, tuple[str, Any]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


class ApplyError(Exception):
    """Hearth refused a resource; what came before it is applied and saved in the state."""

    def __init__(self, logical_id: str, error: DeployError | TemplateError) -> None:
        message = (
            error.message if isinstance(error, TemplateError) else f"{error.code}: {error.message}"
        )
        super().__init__(f"Resources.{logical_id}: {message}")
        self.logical_id = logical_id


def _digest(props: Any, extra: list[str]) -> str:
    text = json.dumps(props, sort_keys=True, default=str) + "|" + "|".join(extra)
    return hashlib.sha256(text.encode()).hexdigest()


class Applier:
    """Applies plans of one stack through ``deployer``; ``state`` remembers what was done."""

    def __init__(
        self,
        deployer: Deployer,
        state: StackState,
        *,
        account: str,
        region: str,
        zipper: Callable[..., bytes] = zip_code,
        services: ServiceDeployer,
        apis: ApiDeployer,
        dependencies: DependencyBuilder | None = None,
    ) -> None:
        self._services = services
        self._apis = apis
        self._dependencies = dependencies
        self._deployer = deployer
        self._state = state
        self._account = account
        self._region = region
        self._zipper = zipper

    def deployed(self) -> dict[str, Deployed]:
        """What the state file says is deployed."""
        return self._state.load()

    def apply(self, plan: Plan, *, force: bool = False) -> Outcome:  # noqa: PLR0915 - one pass, in order
        previous = self._state.load()
        current: dict[str, Deployed] = {}
        outcome = Outcome()
        zips: dict[str, bytes] = {}

        def code(key: str, runtime: str) -> bytes | None:
            path = plan.code_paths.get(key)
            if path is None:
                return None
            if key not in zips:
                deps = None
                if self._dependencies is not None:
                    deps = self._dependencies.dependencies(path, runtime, key)
                zips[key] = self._zipper(path, key, deps)
            return zips[key]

        ctx = Context(
            self._deployer,
            self._services,
            self._apis,
            code,
            self._account,
            self._region,
            plan.stack_name,
        )
        resolver = plan.resolver(_ref(current), _get_att(current, self._region, self._account))
        for logical_id in plan.order:
            resource = plan.resources[logical_id]
            kind = resource["Type"]
            handler = HANDLERS.get(kind)
            try:
                props = resolver.resolve(
                    resource.get("Properties", {}), f"Resources.{logical_id}.Properties"
                )
            except TemplateError as exc:
                self._save(previous, current)
                raise ApplyError(logical_id, exc) from None
            missing = [
                name
                for name in sorted(_referenced(resource, current))
                if current[name].type == _UNSUPPORTED
            ]
            if handler is not None and kind in _NEEDS_ITS_SOURCE and missing:
                # A mapping of a queue Hearth did not create would only fail: listed instead.
                handler = None
                kind = f"{kind}, reading {', '.join(missing)}"
            if handler is None:
                outcome.unsupported.append((logical_id, kind))
                current[logical_id] = Deployed(_UNSUPPORTED, logical_id, {}, "", True)
                continue
            if kind in RECORDED_TYPES:
                outcome.recorded.append((logical_id, kind))
            key = code_key(kind, props)
            zipped = code(key, str(props.get("Runtime", ""))) if key else None
            extra = [hashlib.sha256(zipped).hexdigest()] if zipped else []
            if kind == "AWS::Lambda::Version":
                # A version is published again when what it versions changed.
                extra += [current[name].digest for name in sorted(_referenced(resource, current))]
            digest = _digest(props, extra)
            before = previous.get(logical_id)
            if before is not None and before.type != kind:
                self._delete(ctx, logical_id, before)
                before = None
            if not force and before is not None and before.digest == digest:
                current[logical_id] = before
                outcome.unchanged.append(logical_id)
            else:
                try:
                    entry = handler.apply(ctx, logical_id, props, before)
                except (DeployError, TemplateError) as exc:
                    self._save(previous, current)
                    raise ApplyError(logical_id, exc) from None
                entry.type, entry.digest = kind, digest
                entry.retain = resource.get("DeletionPolicy") == "Retain"
                current[logical_id] = entry
                (outcome.updated if before is not None else outcome.created).append(logical_id)
            self._save(previous, current)
        self._delete_removed(ctx, previous, current, outcome)
        self._state.save({**current})
        outcome.outputs = self._outputs(plan, resolver, current)
        return outcome

    def _delete_removed(
        self,
        ctx: Context,
        previous: dict[str, Deployed],
        current: dict[str, Deployed],
        outcome: Outcome,
    ) -> None:
        """Delete what the template no longer has, the last created first (dependents first)."""
        for logical_id in reversed(list(previous)):
            if logical_id in current:
                continue
            try:
                self._delete(ctx, logical_id, previous[logical_id])
            except DeployError as exc:
                self._save(previous, current)
                raise ApplyError(logical_id, exc) from None
            del previous[logical_id]
            outcome.deleted.append(logical_id)
            self._save(previous, current)

    def _delete(self, ctx: Context, logical_id: str, entry: Deployed) -> None:
        handler = HANDLERS.get(entry.type)
        if handler is not None:
            handler.delete(ctx, logical_id, entry)

    def _save(self, previous: dict[str, Deployed], current: dict[str, Deployed]) -> None:
        # Not yet re-applied or deleted resources stay known, so nothing is ever orphaned.
        self._state.save({**previous, **current})

    def _outputs(
        self, plan: Plan, resolver: Resolver, current: dict[str, Deployed]
    ) -> dict[str, tuple[str, Any]]:
        # An API's AWS address in an output (`https://<id>.execute-api.<region>.amazonaws.com`,
        # as templates write it) becomes the address Hearth serves it at.
        local = {
            entry.physical_id: self._apis.url(entry.physical_id)
            for entry in current.values()
            if entry.type in API_TYPES
        }
        found: dict[str, tuple[str, Any]] = {}
        for name, output in (plan.template.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is not None and not resolver.condition(str(condition), f"Outputs.{name}"):
                continue
            value = _local_urls(resolver.resolve(output["Value"], f"Outputs.{name}.Value"), local)
            found[name] = (str(output.get("Description", "")), value)
        return found


_AWS_API_URL = re.compile(
    r"https://(?P<id>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?"
)


def _local_urls(value: Any, local: dict[str, str]) -> Any:
    if not isinstance(value, str) or not local:
        return value
    return _AWS_API_URL.sub(lambda m: local.get(m["id"], m.group(0)), value)


def _referenced(resource: dict[str, Any], current: dict[str, Deployed]) -> set[str]:
    text = json.dumps(resource.get("Properties", {}))
    return {name for name in current if f'"{name}"' in text}


def _ref(current: dict[str, Deployed]) -> Callable[[str], Any]:
    def ref(name: str) -> Any:
        entry = current.get(name)
        if entry is None:
            raise TemplateError(f"Ref {name}", "refers to a resource not created (yet)")
        return entry.physical_id

    return ref


def _get_att(current: dict[str, Deployed], region: str, account: str) -> Callable[[str, str], Any]:
    def get_att(logical_id: str, attribute: str) -> Any:
        entry = current.get(logical_id)
        if entry is None:
            raise TemplateError(
                f"Fn::GetAtt {logical_id}", "refers to a resource not created (yet)"
            )
        if attribute in entry.attributes and entry.attributes[attribute] is not None:
            return entry.attributes[attribute]
        if entry.type == _UNSUPPORTED:
            # Resources Hearth does not run still answer, so the rest of the template applies.
            return f"arn:aws:hearth:{region}:{account}:{logical_id}/{attribute}"
        raise TemplateError(
            f"Fn::GetAtt {logical_id}.{attribute}", f"{entry.type} has no attribute {attribute}"
        )

    return get_att
