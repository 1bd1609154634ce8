"""Create/Get/Update/Delete/ListEventSourceMappings."""

from __future__ import annotations

import asyncio

from hearth.api.http import Request, Response, Router, json_response
from hearth.api.pagination import list_response, paginate
from hearth.control.mappings import EventSourceMappings

MAPPINGS = "/2015-03-31/event-source-mappings"
# AWS returns at most 100 mappings per page, whatever MaxItems asks.
_MAX_PAGE = 100


class MappingsApi:
    def __init__(self, mappings: EventSourceMappings) -> None:
        self._mappings = mappings

    def register(self, router: Router) -> None:
        for path in (MAPPINGS, f"{MAPPINGS}/"):
            router.add("CreateEventSourceMapping", "POST", path, self.create)
            router.add("ListEventSourceMappings", "GET", path, self.list)
        one = f"{MAPPINGS}/{{UUID}}"
        router.add("GetEventSourceMapping", "GET", one, self.get)
        router.add("UpdateEventSourceMapping", "PUT", one, self.update)
        router.add("DeleteEventSourceMapping", "DELETE", one, self.delete)

    async def create(self, request: Request) -> Response:
        body = request.json()
        # Create reaches the source (GetQueueAttributes / DescribeStream): off the event loop.
        shape = await asyncio.to_thread(self._mappings.create, body)
        return json_response(shape, 202)

    async def get(self, request: Request) -> Response:
        return json_response(self._mappings.get(request.params["UUID"]))

    async def update(self, request: Request) -> Response:
        return json_response(self._mappings.update(request.params["UUID"], request.json()), 202)

    async def delete(self, request: Request) -> Response:
        return json_response(self._mappings.delete(request.params["UUID"]), 202)

    async def list(self, request: Request) -> Response:
        found = self._mappings.list_mappings(
            request.query_value("EventSourceArn"), request.query_value("FunctionName")
        )
        page, marker = paginate(found, request, key=lambda m: str(m["UUID"]), default=_MAX_PAGE)
        return list_response("EventSourceMappings", page, marker)
