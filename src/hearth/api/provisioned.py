"""Put/Get/Delete/ListProvisionedConcurrencyConfig(s)."""

from __future__ import annotations

from hearth.api.functions import function_ref, unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.api.shapes import provisioned_concurrency_config
from hearth.arns import ArnFormatter
from hearth.control.provisioned import ProvisionedConfigs, check_requested

PATH = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"
# AWS caps ListProvisionedConcurrencyConfigs pages at 50.
_MAX_PAGE = 50


class ProvisionedApi:
    def __init__(self, configs: ProvisionedConfigs, arns: ArnFormatter) -> None:
        self._configs = configs
        self._arns = arns

    def register(self, router: Router) -> None:
        router.add("PutProvisionedConcurrencyConfig", "PUT", PATH, self.put)
        router.add("GetProvisionedConcurrencyConfig", "GET", PATH, self.get)
        router.add(
            "ListProvisionedConcurrencyConfigs", "GET", PATH, self.list, query=[("List", "ALL")]
        )
        router.add("DeleteProvisionedConcurrencyConfig", "DELETE", PATH, self.delete)

    async def put(self, request: Request) -> Response:
        requested = check_requested(request.json().get("ProvisionedConcurrentExecutions"))
        view = self._configs.put(function_ref(request), requested)
        return json_response(provisioned_concurrency_config(view, self._arns), status=202)

    async def get(self, request: Request) -> Response:
        view = self._configs.get(function_ref(request))
        return json_response(provisioned_concurrency_config(view, self._arns))

    async def delete(self, request: Request) -> Response:
        self._configs.delete(function_ref(request))
        return empty_response(204)

    async def list(self, request: Request) -> Response:
        configs = [
            provisioned_concurrency_config(view, self._arns, with_arn=True)
            for view in self._configs.list(unqualified(request))
        ]
        page, marker = paginate(
            configs, request, key=lambda c: str(c["FunctionArn"]), default=_MAX_PAGE
        )
        return list_response("ProvisionedConcurrencyConfigs", page, marker)
