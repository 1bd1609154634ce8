"""Recursion and runtime management settings of a function (code signing: api/code_signing.py)."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import FUNCTIONS_ONLY, function_ref, unqualified
from hearth.api.http import Request, Response, Router, json_response
from hearth.arns import ArnFormatter
from hearth.control.function_settings import RUNTIME_MANAGEMENT, FunctionSettings

RECURSION = "/2024-08-31/functions/{FunctionName}/recursion-config"
RUNTIME_MANAGEMENT_PATH = "/2021-07-20/functions/{FunctionName}/runtime-management-config"


class FunctionSettingsApi:
    def __init__(self, settings: FunctionSettings, arns: ArnFormatter) -> None:
        self._settings = settings
        self._arns = arns

    def register(self, router: Router) -> None:
        router.add("PutFunctionRecursionConfig", "PUT", RECURSION, self.put_recursion)
        router.add("GetFunctionRecursionConfig", "GET", RECURSION, self.get_recursion)
        router.add("PutRuntimeManagementConfig", "PUT", RUNTIME_MANAGEMENT_PATH, self.put_runtime)
        router.add("GetRuntimeManagementConfig", "GET", RUNTIME_MANAGEMENT_PATH, self.get_runtime)

    async def put_recursion(self, request: Request) -> Response:
        name = unqualified(request, FUNCTIONS_ONLY)
        value = self._settings.put_recursion(name, request.json().get("RecursiveLoop"))
        return json_response({"RecursiveLoop": value})

    async def get_recursion(self, request: Request) -> Response:
        name = unqualified(request, FUNCTIONS_ONLY)
        return json_response({"RecursiveLoop": self._settings.recursion(name)})

    async def put_runtime(self, request: Request) -> Response:
        ref = function_ref(request)
        stored = self._settings.put_runtime_management(ref, request.json())
        return json_response(self._runtime_shape(ref.name, ref.qualifier, stored))

    async def get_runtime(self, request: Request) -> Response:
        ref = function_ref(request)
        stored = self._settings.get(RUNTIME_MANAGEMENT, ref) or {"UpdateRuntimeOn": "Auto"}
        return json_response(self._runtime_shape(ref.name, ref.qualifier, stored))

    def _runtime_shape(
        self, name: str, qualifier: str | None, stored: dict[str, Any]
    ) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "UpdateRuntimeOn": stored["UpdateRuntimeOn"],
            "FunctionArn": self._arns.function(name, qualifier),
        }
        if "RuntimeVersionArn" in stored:
            shape["RuntimeVersionArn"] = stored["RuntimeVersionArn"]
        return shape
