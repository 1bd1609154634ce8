"""Operations of AWS's model that Hearth does not provide, answered with a modeled error
(InvalidParameterValueException, so SDKs raise a known exception) rather than an unknown
route: capacity providers (Lambda Managed Instances) with the function scaling configs that
need them, durable executions and account-level resource policies."""

from __future__ import annotations

from hearth.api.http import Request, Response, Router
from hearth.errors import invalid_parameter

_SCALING = "/2025-11-30/functions/{FunctionName}/function-scaling-config"
_DURABLE = "/2025-12-01/durable-executions/{DurableExecutionArn}"
_CALLBACK = "/2025-12-01/durable-execution-callbacks/{CallbackId}/"
_SCALING_WHAT = "Function scaling configs (for capacity providers)"

# (operation, method, path, what is missing), from botocore's lambda/2015-03-31 model.
_UNSUPPORTED = (
    ("CreateCapacityProvider", "POST", "/2025-11-30/capacity-providers", "Capacity providers"),
    ("ListCapacityProviders", "GET", "/2025-11-30/capacity-providers", "Capacity providers"),
    *(
        (op, method, "/2025-11-30/capacity-providers/{CapacityProviderName}", "Capacity providers")
        for op, method in (
            ("GetCapacityProvider", "GET"),
            ("UpdateCapacityProvider", "PUT"),
            ("DeleteCapacityProvider", "DELETE"),
        )
    ),
    (
        "ListFunctionVersionsByCapacityProvider",
        "GET",
        "/2025-11-30/capacity-providers/{CapacityProviderName}/function-versions",
        "Capacity providers",
    ),
    *(
        (
            op,
            method,
            "/2025-11-30/functions/{FunctionName}/function-scaling-config",
            "Function scaling configs (for capacity providers)",
        )
        for op, method in (("PutFunctionScalingConfig", "PUT"), ("GetFunctionScalingConfig", "GET"))
    ),
    *(
        (
            op,
            method,
            "/2025-12-01/durable-executions/{DurableExecutionArn}" + tail,
            "Durable executions",
        )
        for op, method, tail in (
            ("GetDurableExecution", "GET", ""),
            ("DeleteDurableExecution", "DELETE", ""),
            ("CheckpointDurableExecution", "POST", "/checkpoint"),
            ("GetDurableExecutionHistory", "GET", "/history"),
            ("GetDurableExecutionState", "GET", "/state"),
            ("StopDurableExecution", "POST", "/stop"),
            ("PauseDurableExecution", "POST", "/pause"),
            ("ResumeDurableExecution", "POST", "/resume"),
        )
    ),
    (
        "ListDurableExecutionsByFunction",
        "GET",
        "/2025-12-01/functions/{FunctionName}/durable-executions",
        "Durable executions",
    ),
    *(
        (
            op,
            "POST",
            "/2025-12-01/durable-execution-callbacks/{CallbackId}/" + tail,
            "Durable executions",
        )
        for op, tail in (
            ("SendDurableExecutionCallbackSuccess", "succeed"),
            ("SendDurableExecutionCallbackFailure", "fail"),
            ("SendDurableExecutionCallbackHeartbeat", "heartbeat"),
        )
    ),
    *(
        (op, method, "/2026-07-09/resource-policy/{ResourceArn}", "Resource policies")
        for op, method in (
            ("PutResourcePolicy", "PUT"),
            ("GetResourcePolicy", "GET"),
            ("DeleteResourcePolicy", "DELETE"),
        )
    ),
)


def register_unsupported(router: Router) -> None:
    for operation, method, path, what in _UNSUPPORTED:

        async def refuse(request: Request, what: str = what) -> Response:
            raise invalid_parameter(f"{what} are not supported by Hearth.")

        router.add(operation, method, path, refuse)
