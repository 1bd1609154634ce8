"""Which resource or route a request reaches, and which function it names: pure functions.

Path templates are AWS's: literal segments, `{name}` for one segment, `{name+}` for the rest
of the path. The most specific template wins: a literal segment beats a parameter, which beats
a greedy parameter; an HTTP API prefers a route for the request's method to `ANY`, and falls
back to `$default`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from hearth.http.apigw.definitions import Method, Resource, Route

_LAMBDA_PATH = re.compile(
    r"arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(?P<name>[A-Za-z0-9_]+)\}")

Score = tuple[int, ...]


def match_template(template: str, path: str) -> tuple[Score, dict[str, str]] | None:
    """How specifically a template matches a path (lower is more specific) and the path
    parameters it binds (decoded); None when it does not match."""
    wanted = [s for s in template.split("/") if s]
    given = [s for s in path.split("/") if s]
    params: dict[str, str] = {}
    score: list[int] = []
    for i, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):
            if i != len(wanted) - 1 or i >= len(given):
                return None
            params[segment[1:-2]] = unquote("/".join(given[i:]))
            score.append(2)
            return (*score, 2), params
        if i >= len(given):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = unquote(given[i])
            score.append(1)
        elif segment != given[i]:
            return None
        else:
            score.append(0)
    if len(given) != len(wanted):
        return None
    return (*score, 0), params


def match_resource(
    resources: Iterable[Resource], method: str, path: str
) -> tuple[Resource, Method, dict[str, str]] | None:
    best: tuple[Score, Resource, dict[str, str]] | None = None
    for resource in resources:
        found = match_template(resource.path, path)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], resource, found[1])
    if best is None:
        return None
    _, resource, params = best
    chosen = resource.methods.get(method) or resource.methods.get("ANY")
    return None if chosen is None else (resource, chosen, params)


def match_route(
    routes: Iterable[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | None:
    best: tuple[tuple[int, Score], Route, dict[str, str]] | None = None
    default: Route | None = None
    for route in routes:
        if route.key == "$default":
            default = route
            continue
        verb, _, template = route.key.partition(" ")
        if verb not in (method, "ANY"):
            continue
        found = match_template(template, path)
        if found is None:
            continue
        rank = (found[0], 0 if verb == method else 1)
        key = (0, (*rank[0], rank[1]))
        if best is None or key < best[0]:
            best = (key, route, found[1])
    if best is not None:
        return best[1], best[2]
    return (default, {}) if default is not None else None


def function_arn(uri: str, stage_variables: dict[str, str]) -> str:
    """The function an integration or authorizer URI names, stage variables substituted."""
    uri = _STAGE_VARIABLE.sub(lambda m: stage_variables.get(m["name"], ""), uri)
    found = _LAMBDA_PATH.fullmatch(uri)
    return found["arn"] if found else uri
