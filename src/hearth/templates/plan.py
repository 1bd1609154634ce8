"""From a template file to a plan: CloudFormation resources in creation order, parameters and
conditions settled. Pure: nothing is created; every template error surfaces here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.templates.errors import TemplateError
from hearth.templates.graph import creation_order, dependencies
from hearth.templates.intrinsics import Resolver
from hearth.templates.loader import load_template
from hearth.templates.parameters import pseudo_parameters, resolve_parameters
from hearth.templates.translate import translate


@dataclass(frozen=True)
class Plan:
    """What `hearth up` will apply. ``resources`` are the active ones (their Condition holds),
    in ``order``; ``parameters`` include the pseudo parameters."""

    stack_name: str
    template: dict[str, Any]
    resources: dict[str, dict[str, Any]]
    order: list[str]
    parameters: dict[str, Any]
    code_paths: dict[str, Path] = field(default_factory=dict)

    def resolver(self, ref: Any, get_att: Any) -> Resolver:
        return Resolver(
            parameters=self.parameters,
            mappings=self.template.get("Mappings") or {},
            conditions=self.template.get("Conditions") or {},
            ref=ref,
            get_att=get_att,
        )


def plan_template(
    path: Path,
    *,
    overrides: dict[str, str],
    region: str,
    account_id: str,
    stack_name: str,
) -> Plan:
    """Load, translate and check the template at ``path``; TemplateError names what is wrong."""
    source = load_template(path)
    values = resolve_parameters(source, overrides)
    pseudo = pseudo_parameters(region, account_id, stack_name)
    translated = translate(source, path.parent, {**values, **pseudo}, region)
    template = translated.template
    parameters = {**resolve_parameters(template, overrides), **pseudo}
    resources: dict[str, dict[str, Any]] = template["Resources"]
    checker = Resolver(
        parameters=parameters,
        mappings=template.get("Mappings") or {},
        conditions=template.get("Conditions") or {},
        ref=lambda name: name,
        get_att=lambda logical_id, attribute: f"{logical_id}.{attribute}",
    )
    for name in template.get("Conditions") or {}:
        checker.condition(name, f"Conditions.{name}")
    active: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources.items():
        condition = resource.get("Condition")
        if condition is not None and not checker.condition(
            str(condition), f"Resources.{logical_id}.Condition"
        ):
            continue
        active[logical_id] = resource
    order = creation_order(active, set(parameters))
    # Everything resolves with placeholders now, so bad intrinsics fail before any change.
    for logical_id in order:
        checker.resolve(
            active[logical_id].get("Properties", {}), f"Resources.{logical_id}.Properties"
        )
    for name, output in (template.get("Outputs") or {}).items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(f"Outputs.{name}", "an output needs a Value")
        condition = output.get("Condition")
        if condition is None or checker.condition(str(condition), f"Outputs.{name}.Condition"):
            try:
                dependencies(name, {"Properties": output["Value"]}, active, set(parameters))
            except TemplateError as exc:
                raise TemplateError(f"Outputs.{name}.Value", exc.message) from None
            checker.resolve(output["Value"], f"Outputs.{name}.Value")
    return Plan(stack_name, template, active, order, parameters, translated.code_paths)
