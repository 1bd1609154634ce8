"""The IAM action and resource a request to Hearth's API is, as AWS's authorizer names them.

Lambda's actions are its operations' names (`lambda:GetFunctionConfiguration`), but for the
invokes (`lambda:InvokeFunction`); the resource is the function, layer or mapping the request
names (qualified when it names a qualifier), `*` for listings and account-wide operations.
CloudWatch Logs and CloudWatch are `logs:` / `cloudwatch:` on their operation. Hearth's own
surfaces (the console, `/metrics`, `/_hearth/...`) are `hearth:<Operation>` on `*`: no AWS
policy names them, so only a policy that allows every action (`"Action": "*"`) allows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.api.http import Request
from hearth.arns import ArnFormatter, parse_function_ref
from hearth.errors import LambdaError

# Open to anyone, functions included: the health check, and code downloads (a presigned
# URL is its own permission, as an S3 presigned URL is on AWS).
UNGUARDED = frozenset({"Health", "GetCode"})

_RENAMED = {
    "InvokeFunction": "InvokeFunction",
    "Invoke": "InvokeFunction",
    "InvokeWithResponseStream": "InvokeFunction",
    "InvokeAsync": "InvokeFunction",
}
_HEARTH_OWN = frozenset(
    {
        "Metrics",
        "Console",
        "ConsoleConfig",
        "ConsoleAsset",
        "MappingStatus",
        "AsyncStatus",
        "LogStatus",
    }
)


@dataclass(frozen=True)
class Action:
    action: str
    resource: str


def action_of(request: Request, arns: ArnFormatter) -> Action:
    operation = request.operation
    if operation in _HEARTH_OWN:
        return Action(f"hearth:{operation}", "*")
    if operation == "AwsJson":
        return _json_service(request, arns)
    if operation == "CloudWatch":
        return Action(f"cloudwatch:{request.params.get('Operation', '')}", "*")
    return Action(f"lambda:{_RENAMED.get(operation, operation)}", _lambda_resource(request, arns))


def _json_service(request: Request, arns: ArnFormatter) -> Action:
    target = request.headers.get("x-amz-target", "")
    name = target.split(".", 1)[1] if "." in target else target
    if request.service == "monitoring":
        return Action(f"cloudwatch:{name}", "*")
    group = _body_value(request, "logGroupName")
    if group:
        return Action(
            f"logs:{name}", f"arn:aws:logs:{arns.region}:{arns.account_id}:log-group:{group}:*"
        )
    return Action(f"logs:{name}", "*")


def _lambda_resource(request: Request, arns: ArnFormatter) -> str:
    params = request.params
    if "Resource" in params:  # tags name their resource by ARN
        return params["Resource"]
    if "UUID" in params:
        base = f"arn:aws:lambda:{arns.region}:{arns.account_id}:event-source-mapping:"
        return base + params["UUID"]
    if "LayerName" in params:
        name = (
            params["LayerName"].rsplit(":", 1)[-1]
            if "arn:" in params["LayerName"]
            else (params["LayerName"])
        )
        version = params.get("VersionNumber")
        return (
            arns.layer_version(name, int(version))
            if version and version.isdigit()
            else (arns.layer(name))
        )
    named = params.get("FunctionName")
    if named is None and request.operation == "CreateFunction":
        named = _body_value(request, "FunctionName")
    if not named:
        return "*"
    try:
        ref = parse_function_ref(named)
    except LambdaError:
        return "*"  # malformed: the handler answers its ValidationException... if allowed
    qualifier = ref.qualifier or request.query_value("Qualifier") or None
    return arns.function(ref.name, qualifier)


def _body_value(request: Request, name: str) -> str | None:
    try:
        value = request.json().get(name)
    except LambdaError:
        return None
    return value if isinstance(value, str) else None
