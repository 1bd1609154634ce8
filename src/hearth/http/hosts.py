"""Where a function URL lives: its address, and which URL a request's host or path names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hearth.arns import function_url_domain as url_domain
from hearth.arns import port_of

__all__ = ["ApiTarget", "UrlTarget", "api_target", "port_of", "url_domain", "url_target"]

_URL_HOST = re.compile(r"(?P<id>[a-z0-9]{32})\.lambda-url\.(?P<region>[a-z0-9-]+)\.localhost")
# The path form: /lambda-url/<url-id>/<the function's path>
PATH_PREFIX = "/lambda-url/"
_URL_PATH = re.compile(r"/lambda-url/(?P<id>[a-z0-9]{32})(?P<rest>/.*)?")


@dataclass(frozen=True)
class UrlTarget:
    """A request aimed at a function URL: the URL's id and the path the function sees."""

    url_id: str
    raw_path: str


# API Gateway: <api-id>.execute-api.localhost, or the path form /execute-api/<api-id>/...
_API_HOST = re.compile(r"(?P<id>[a-z0-9]{1,32})\.execute-api\.localhost")
_API_PATH = re.compile(r"/execute-api/(?P<id>[a-z0-9]{1,32})(?P<rest>/.*)?")


@dataclass(frozen=True)
class ApiTarget:
    """A request aimed at an API Gateway API: its id, and the path after the host (stage
    included, as the client sent it)."""

    api_id: str
    raw_path: str


def api_target(host_header: str, raw_path: str) -> ApiTarget | None:
    host = host_header.lower()
    if port_of(host) is not None:
        host = host.rsplit(":", 1)[0]
    by_host = _API_HOST.fullmatch(host)
    if by_host is not None:
        return ApiTarget(by_host["id"], raw_path or "/")
    by_path = _API_PATH.fullmatch(raw_path)
    if by_path is not None:
        return ApiTarget(by_path["id"], by_path["rest"] or "/")
    return None


def url_target(host_header: str, raw_path: str) -> UrlTarget | None:
    """The function URL a request names by host or by path; None when it names none."""
    host = host_header.lower()
    if port_of(host) is not None:
        host = host.rsplit(":", 1)[0]
    by_host = _URL_HOST.fullmatch(host)
    if by_host is not None:
        return UrlTarget(by_host["id"], raw_path or "/")
    by_path = _URL_PATH.fullmatch(raw_path)
    if by_path is not None:
        return UrlTarget(by_path["id"], by_path["rest"] or "/")
    return None
