"""Function URL configs: `/2021-10-31/functions/{FunctionName}/url` and `/urls`."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.api.pagination import list_response, paginate
from hearth.arns import (
    ArnFormatter,
    FunctionRef,
    check_region,
    function_url,
    parse_function_ref,
    port_of,
)
from hearth.control.function_urls import FunctionUrls, check_url_qualifier
from hearth.errors import invalid_parameter
from hearth.models import FunctionUrlConfig

URL = "/2021-10-31/functions/{FunctionName}/url"
URLS = "/2021-10-31/functions/{FunctionName}/urls"

# Which optional members each operation's answer carries (AWS's output shapes differ).
_CREATED = ("FunctionUrl", "FunctionArn", "AuthType", "Cors", "CreationTime", "InvokeMode?")
_UPDATED = (*_CREATED, "LastModifiedTime")
_FULL = (
    "FunctionUrl",
    "FunctionArn",
    "AuthType",
    "Cors",
    "CreationTime",
    "InvokeMode",
    "LastModifiedTime",
)


def url_ref(request: Request) -> FunctionRef:
    """The function a URL request names: a qualifier, in the name or `?Qualifier=`, must be
    an alias name, and the two must agree."""
    ref = check_region(parse_function_ref(request.params["FunctionName"]), request.region)
    query = request.query_value("Qualifier") or None
    if query is not None:
        check_url_qualifier(query)
        if ref.qualifier is not None and ref.qualifier != query:
            raise invalid_parameter(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."
            )
        return FunctionRef(ref.name, query)
    if ref.qualifier is not None:
        check_url_qualifier(ref.qualifier)
    return ref


class FunctionUrlsApi:
    def __init__(self, urls: FunctionUrls, arns: ArnFormatter) -> None:
        self._urls = urls
        self._arns = arns

    def register(self, router: Router) -> None:
        router.add("CreateFunctionUrlConfig", "POST", URL, self.create)
        router.add("GetFunctionUrlConfig", "GET", URL, self.get)
        router.add("UpdateFunctionUrlConfig", "PUT", URL, self.update)
        router.add("DeleteFunctionUrlConfig", "DELETE", URL, self.delete)
        router.add("ListFunctionUrlConfigs", "GET", URLS, self.list)

    def _shape(
        self, config: FunctionUrlConfig, request: Request, members: tuple[str, ...]
    ) -> dict[str, Any]:
        port = port_of(request.headers.get("host", ""))
        values: dict[str, Any] = {
            "FunctionUrl": function_url(config.url_id, self._arns.region, port),
            "FunctionArn": self._arns.function(config.function_name, config.qualifier or None),
            "AuthType": config.auth_type,
            "Cors": config.cors,
            "CreationTime": config.creation_time,
            "InvokeMode": config.invoke_mode,
            "LastModifiedTime": config.last_modified_time,
        }
        shape: dict[str, Any] = {}
        for member in members:
            name = member.rstrip("?")
            if member.endswith("?") and not config.invoke_mode_set:
                continue  # AWS echoes InvokeMode only once a caller has set it
            if values[name] is not None:
                shape[name] = values[name]
        return shape

    async def create(self, request: Request) -> Response:
        config = self._urls.create(url_ref(request), request.json())
        return json_response(self._shape(config, request, _CREATED), 201)

    async def get(self, request: Request) -> Response:
        config = self._urls.get(url_ref(request))
        return json_response(self._shape(config, request, _FULL))

    async def update(self, request: Request) -> Response:
        config = self._urls.update(url_ref(request), request.json())
        return json_response(self._shape(config, request, _UPDATED))

    async def delete(self, request: Request) -> Response:
        self._urls.delete(url_ref(request))
        return empty_response(204)

    async def list(self, request: Request) -> Response:
        configs = self._urls.list(unqualified(request))
        # Never an empty key: an empty marker would read as "no marker".
        page, marker = paginate(configs, request, key=lambda c: f"q:{c.qualifier}")
        return list_response(
            "FunctionUrlConfigs", [self._shape(c, request, _FULL) for c in page], marker
        )
