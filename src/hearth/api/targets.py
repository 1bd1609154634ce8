"""`POST /` carries every AWS JSON-protocol service Hearth answers (CloudWatch Logs,
CloudWatch): told apart by the `X-Amz-Target` prefix, as AWS's front ends do, or, when a
client sends no target, by the service in its SigV4 credential scope."""

from __future__ import annotations

import re

from hearth.api.http import Handler, Request, Response, Router
from hearth.errors import LambdaError

MAX_JSON_SERVICE_BYTES = 2 * 1024 * 1024
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def scope_service(request: Request) -> str | None:
    """The service a request was signed for (`logs`, `monitoring`, `lambda`...)."""
    found = _SCOPE.search(request.headers.get("authorization", ""))
    return found.group(1) if found else None


class TargetRoutes:
    def __init__(self) -> None:
        self._by_prefix: dict[str, Handler] = {}
        self._by_scope: dict[str, Handler] = {}
        self._scope_of: dict[str, str] = {}

    def add(self, target_prefix: str, scope: str, handler: Handler) -> None:
        self._by_prefix[target_prefix] = handler
        self._by_scope[scope] = handler
        self._scope_of[target_prefix] = scope

    def register(self, router: Router) -> None:
        # PutLogEvents takes 1 MB of events; its JSON around them is bounded here.
        router.add(
            "AwsJson",
            "POST",
            "/",
            self.dispatch,
            service=self.signing_service,
            max_body=MAX_JSON_SERVICE_BYTES,
        )

    def signing_service(self, request: Request) -> str:
        """The service a request must be signed for: the one its target names (a Logs call
        signed for `monitoring` is refused, as AWS refuses it)."""
        target = request.headers.get("x-amz-target", "")
        found = self._scope_of.get(target.split(".", 1)[0] + ".") if target else None
        if found is not None:
            return found
        scope = scope_service(request)
        return scope if scope in self._by_scope else next(iter(self._by_scope), "lambda")

    async def dispatch(self, request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        handler = self._by_prefix.get(target.split(".", 1)[0] + ".") if target else None
        if handler is None:
            handler = self._by_scope.get(scope_service(request) or "")
        if handler is None:
            error = LambdaError(
                "UnknownOperationException", 400, f"Hearth does not serve {target or 'that'}."
            )
            error.extra["__type"] = error.code
            raise error
        return await handler(request)
