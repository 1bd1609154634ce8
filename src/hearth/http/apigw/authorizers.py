"""Lambda authorizers: the events they get, how their answers decide, and the TTL cache.
Pure functions, and a cache that takes the clock as an argument.

REST APIs: TOKEN (the identity is one header) and REQUEST authorizers answer an IAM policy
(`principalId`, `policyDocument`, `context`); an explicit Deny wins, an Allow for the
request's method ARN allows, anything else denies. HTTP APIs: REQUEST authorizers answer the
same policy, or with simple responses `{"isAuthorized": bool, "context": {...}}`.
A request that lacks an identity source is refused (401) without calling the authorizer.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hearth.http.apigw.definitions import Authorizer
from hearth.http.events import HttpRequest, joined_headers, query_parameters

_SOURCE = re.compile(r"(?:method\.request|\$request)\.(?P<where>header|querystring)\.(?P<name>.+)")
_STAGE_SOURCE = re.compile(r"(?:\$)?stageVariables\.(?P<name>.+)")


class AuthorizerFailed(Exception):
    """The authorizer failed or answered something that is no answer: a 500."""


@dataclass(frozen=True)
class Verdict:
    """What an authorizer decided for one request."""

    allowed: bool
    # Deny: whether a statement denied explicitly (REST says so in its message).
    explicit_deny: bool = False
    principal_id: str | None = None
    context: Mapping[str, Any] | None = None


def identity(
    authorizer: Authorizer, request: HttpRequest, stage_variables: Mapping[str, str]
) -> tuple[str, ...] | None:
    """The identity source values, in order; None when one is missing or empty."""
    headers = joined_headers(request.headers)
    query = query_parameters(request.raw_query) if request.raw_query else {}
    values: list[str] = []
    for source in authorizer.identity_sources:
        found = _SOURCE.fullmatch(source)
        stage = _STAGE_SOURCE.fullmatch(source)
        if found is not None:
            table = headers if found["where"] == "header" else query
            key = found["name"].lower() if found["where"] == "header" else found["name"]
            value = table.get(key)
        elif stage is not None:
            value = stage_variables.get(stage["name"])
        else:
            value = None
        if not value:
            return None
        values.append(value)
    return tuple(values)


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def token_event(token: str, arn: str) -> dict[str, Any]:
    return {"type": "TOKEN", "methodArn": arn, "authorizationToken": token}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    # IAM wildcards: `*` any run of characters (slashes too), `?` one character.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def policy_verdict(answer: Any, arn: str) -> Verdict:
    """An IAM-policy answer, evaluated for one method (or route) ARN."""
    if not isinstance(answer, dict) or not isinstance(answer.get("policyDocument"), dict):
        raise AuthorizerFailed("the answer has no policyDocument")
    statements = answer["policyDocument"].get("Statement")
    if not isinstance(statements, list | dict):
        raise AuthorizerFailed("the policy has no statements")
    allowed = denied = False
    for statement in _listed(statements):
        if not isinstance(statement, dict):
            raise AuthorizerFailed("a statement is not an object")
        actions = [str(a) for a in _listed(statement.get("Action", []))]
        if not any(_matches(a, "execute-api:Invoke") for a in actions):
            continue
        resources = [str(r) for r in _listed(statement.get("Resource", []))]
        if not any(_matches(r, arn) for r in resources):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            denied = True
        elif effect == "Allow":
            allowed = True
    context = answer.get("context")
    principal = answer.get("principalId")
    return Verdict(
        allowed and not denied,
        explicit_deny=denied,
        principal_id=None if principal is None else str(principal),
        context=_context(context),
    )


def simple_verdict(answer: Any) -> Verdict:
    """An HTTP API simple response: `{"isAuthorized": bool, "context": {...}}`."""
    if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
        raise AuthorizerFailed("the answer has no boolean isAuthorized")
    return Verdict(answer["isAuthorized"], context=_context(answer.get("context")))


def _context(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AuthorizerFailed("context is not an object")
    return value


def rest_authorizer_context(verdict: Verdict) -> dict[str, Any]:
    """requestContext.authorizer of a REST API request: the principal and the context, whose
    values API Gateway passes on as strings."""
    shown: dict[str, Any] = {}
    for key, value in (verdict.context or {}).items():
        if isinstance(value, bool):
            shown[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            shown[key] = json.dumps(value)
        elif isinstance(value, str):
            shown[key] = value
        else:
            raise AuthorizerFailed("context values must be strings, numbers or booleans")
    shown["principalId"] = verdict.principal_id
    shown["integrationLatency"] = 0
    return shown


class VerdictCache:
    """Answers of authorizers, kept by authorizer and identity for their TTL. Policies are
    cached, not verdicts: a cached policy is evaluated again for each request's ARN, as AWS
    does."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[tuple[str, tuple[str, ...]], tuple[float, Any]] = {}
        self._max = max_entries

    def get(self, authorizer: str, key: tuple[str, ...], now: float) -> Any | None:
        entry = self._entries.get((authorizer, key))
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[(authorizer, key)]
            return None
        return entry[1]

    def put(
        self, authorizer: str, key: tuple[str, ...], answer: Any, ttl: float, now: float
    ) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[(authorizer, key)] = (now + ttl, answer)
