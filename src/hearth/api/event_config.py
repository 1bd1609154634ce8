"""Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s): asynchronous invocation settings."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import function_ref, unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.api.shapes import event_invoke_config
from hearth.arns import ArnFormatter
from hearth.control.event_config import EventConfigs, EventConfigView

CONFIG = "/2019-09-25/functions/{FunctionName}/event-invoke-config"
# AWS caps ListFunctionEventInvokeConfigs pages at 50.
_MAX_PAGE = 50


class EventConfigApi:
    def __init__(self, configs: EventConfigs, arns: ArnFormatter) -> None:
        self._configs = configs
        self._arns = arns

    def _shape(self, view: EventConfigView) -> dict[str, Any]:
        return event_invoke_config(view, self._arns)

    def register(self, router: Router) -> None:
        router.add("PutFunctionEventInvokeConfig", "PUT", CONFIG, self.put)
        router.add("UpdateFunctionEventInvokeConfig", "POST", CONFIG, self.update)
        router.add("GetFunctionEventInvokeConfig", "GET", CONFIG, self.get)
        router.add("DeleteFunctionEventInvokeConfig", "DELETE", CONFIG, self.delete)
        router.add("ListFunctionEventInvokeConfigs", "GET", f"{CONFIG}/list", self.list)

    async def put(self, request: Request) -> Response:
        return json_response(self._shape(self._configs.put(function_ref(request), request.json())))

    async def update(self, request: Request) -> Response:
        view = self._configs.update(function_ref(request), request.json())
        return json_response(self._shape(view))

    async def get(self, request: Request) -> Response:
        return json_response(self._shape(self._configs.get(function_ref(request))))

    async def delete(self, request: Request) -> Response:
        self._configs.delete(function_ref(request))
        return empty_response(204)

    async def list(self, request: Request) -> Response:
        configs = [self._shape(view) for view in self._configs.list(unqualified(request))]
        page, marker = paginate(
            configs, request, key=lambda c: str(c["FunctionArn"]), default=_MAX_PAGE
        )
        return list_response("FunctionEventInvokeConfigs", page, marker)
