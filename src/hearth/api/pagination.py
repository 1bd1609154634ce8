"""Marker / MaxItems pagination, as AWS's List* operations do it.

A marker is opaque to clients; here it is the sort key of the last item returned, so a page
stays correct when items are added or deleted between calls.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hearth.api.http import Request, Response, json_response
from hearth.errors import ConstraintViolation, invalid_parameter, validation_error

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 10_000


def max_items(request: Request, default: int = DEFAULT_PAGE_SIZE) -> int:
    raw = request.query_value("MaxItems")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PAGE_SIZE:
        raise validation_error(
            [
                ConstraintViolation(
                    "maxItems",
                    raw,
                    f"Member must have value between 1 and {MAX_PAGE_SIZE}",
                )
            ]
        )
    return min(value, default) if default < MAX_PAGE_SIZE else value


def paginate(
    items: Sequence[T], request: Request, key: Callable[[T], str], default: int = DEFAULT_PAGE_SIZE
) -> tuple[list[T], str | None]:
    """Items after the request's Marker, at most MaxItems of them, and the next marker."""
    limit = max_items(request, default)
    marker = request.query_value("Marker")
    start = 0
    if marker:
        after = _decode(marker)
        start = next((i for i, item in enumerate(items) if key(item) > after), len(items))
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, (_encode(key(page[-1])) if more and page else None)


def list_response(field: str, page: list[Any], marker: str | None) -> Response:
    """A List* answer: the page under `field`, and NextMarker when there is more."""
    shape: dict[str, Any] = {field: page}
    if marker:
        shape["NextMarker"] = marker
    return json_response(shape)


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid_parameter(f"Invalid marker: {marker}") from exc
