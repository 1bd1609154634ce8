"""What a `--network none` function may reach on Hearth's port: the embedded services only.

Its requests arrive through the sandbox relay (sandbox/host_relay.py); this app, in front of
everything else on the port, answers any of them that is not for an embedded service (the
Lambda and Logs APIs, function URLs, API Gateway, the console) with 403, so such a function
keeps having no way to drive Hearth, with or without SigV4. A relayed request that passes
carries the sandbox's uid as its peer (what FunctionAccess reads), not the relay's: through
the relay, the embedded IAM still knows it is a function's and holds it to its role.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from hearth.api.http import PEER_SCOPE_KEY, Receive, Scope, Send
from hearth.services.gateway import AsgiApp
from hearth.services.scope import HEARTH_SERVICES, backend_for, credential_scope

MESSAGE = (
    "A function in a sandbox with no network reaches only the AWS services embedded on this "
    "port, not Hearth's own API."
)


class RelayGuard:
    def __init__(
        self, app: AsgiApp, relayed_peer: Callable[[tuple[str, int] | None], object | None]
    ) -> None:
        """relayed_peer: the sandbox behind a client address when it is the relay's, else
        None (HostRelay.peer_of)."""
        self._app = app
        self._relayed_peer = relayed_peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sandbox = self._relayed_peer(scope.get("client")) if scope["type"] == "http" else None
        if sandbox is None:
            await self._app(scope, receive, send)
            return
        # The edge looked up the relay's own socket (Hearth's uid: the operator's); the
        # request is the sandbox's.
        scope[PEER_SCOPE_KEY] = sandbox
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        claimed = credential_scope(headers, scope["query_string"].decode("latin-1"))
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if (
            claimed is not None
            and claimed.service not in HEARTH_SERVICES
            and backend_for(claimed.service, headers, raw_path) is not None
        ):
            await self._app(scope, receive, send)
            return
        body = json.dumps({"__type": "AccessDeniedException", "message": MESSAGE}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-amzn-errortype", b"AccessDeniedException"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
