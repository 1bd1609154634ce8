"""Code signing configs (Create/Get/Update/Delete/List, ListFunctionsByCodeSigningConfig) and
a function's config (Put/Get/DeleteFunctionCodeSigningConfig)."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import FUNCTIONS_ONLY, unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.control.code_signing import CodeSigning

CONFIGS = "/2020-04-22/code-signing-configs"
CONFIG = CONFIGS + "/{CodeSigningConfigArn}"
FUNCTION_CONFIG = "/2020-06-30/functions/{FunctionName}/code-signing-config"


class CodeSigningApi:
    def __init__(self, signing: CodeSigning) -> None:
        self._signing = signing

    def register(self, router: Router) -> None:
        router.add("CreateCodeSigningConfig", "POST", CONFIGS, self.create)
        router.add("ListCodeSigningConfigs", "GET", CONFIGS, self.list)
        router.add("GetCodeSigningConfig", "GET", CONFIG, self.get)
        router.add("UpdateCodeSigningConfig", "PUT", CONFIG, self.update)
        router.add("DeleteCodeSigningConfig", "DELETE", CONFIG, self.delete)
        router.add("ListFunctionsByCodeSigningConfig", "GET", CONFIG + "/functions", self.functions)
        router.add("PutFunctionCodeSigningConfig", "PUT", FUNCTION_CONFIG, self.put_function)
        router.add("GetFunctionCodeSigningConfig", "GET", FUNCTION_CONFIG, self.get_function)
        router.add(
            "DeleteFunctionCodeSigningConfig", "DELETE", FUNCTION_CONFIG, self.delete_function
        )

    async def create(self, request: Request) -> Response:
        config = self._signing.create(request.json())
        return json_response({"CodeSigningConfig": config}, 201)

    async def list(self, request: Request) -> Response:
        page, marker = paginate(
            self._signing.configs(), request, key=lambda c: str(c["CodeSigningConfigId"])
        )
        return list_response("CodeSigningConfigs", page, marker)

    async def get(self, request: Request) -> Response:
        config = self._signing.get(request.params["CodeSigningConfigArn"])
        return json_response({"CodeSigningConfig": config})

    async def update(self, request: Request) -> Response:
        config = self._signing.update(request.params["CodeSigningConfigArn"], request.json())
        return json_response({"CodeSigningConfig": config})

    async def delete(self, request: Request) -> Response:
        self._signing.delete(request.params["CodeSigningConfigArn"])
        return empty_response(204)

    async def functions(self, request: Request) -> Response:
        arns = self._signing.functions_using(request.params["CodeSigningConfigArn"])
        page, marker = paginate(arns, request, key=lambda arn: arn)
        return list_response("FunctionArns", page, marker)

    async def put_function(self, request: Request) -> Response:
        name = unqualified(request, FUNCTIONS_ONLY)
        arn = str(request.json().get("CodeSigningConfigArn"))
        self._signing.attach(name, arn)
        return json_response({"CodeSigningConfigArn": arn, "FunctionName": name})

    async def get_function(self, request: Request) -> Response:
        name = unqualified(request, FUNCTIONS_ONLY)
        arn = self._signing.of_function(name)
        # A function without a config answers an empty 200, as on AWS.
        shape: dict[str, Any] = (
            {}
            if arn is None
            else {
                "CodeSigningConfigArn": arn,
                "FunctionName": name,
            }
        )
        return json_response(shape)

    async def delete_function(self, request: Request) -> Response:
        self._signing.detach(unqualified(request, FUNCTIONS_ONLY))
        return empty_response(204)
