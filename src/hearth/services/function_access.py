"""Whether a request to Hearth's own API comes from a function, and if so, whether its
execution role allows what it asks: the one thing between a function and the control plane.

A request is a function's when
- it is signed with a function's session credentials (`RoleSessions`): the signature is
  checked with that session's secret whatever `--access-key-id` says, so a function is
  known by its credentials with authentication on or off; or
- it is not (unsigned, or signed with another key) and its connection comes from a sandbox
  uid over loopback: the kernel names the uid owning the peer socket (`tcp_peer`, once per
  connection), `SandboxIdentities` names the function. A loopback peer whose owner the
  kernel cannot name (a socket its process already closed) is refused as anonymous, so a
  request sent and abandoned cannot pass for the operator's; or
- environments are plain processes (`--isolation process`, all one uid) and the peer
  socket is held by a process of an environment's tree (`ProcessIdentities`, by the
  socket's inode, in a thread at the connection's first guarded request; a socket closed by
  then is anonymous, as above).

A function's request is then decided by its role's identity-based policies (`RolePolicies`);
anything else (the operator, a remote client) is left to SigV4 as before.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from hearth.api.http import Request
from hearth.api.iam_actions import UNGUARDED, Action, action_of
from hearth.api.sigv4 import SigV4Verifier
from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.identities import SandboxIdentities, is_sandbox_uid
from hearth.invoke.process_identities import ProcessIdentities
from hearth.sandbox.peers import TcpPeer, is_local_address, tcp_peer
from hearth.services.embedded import WireRequest, WireResponse
from hearth.services.errors import render
from hearth.services.role_policies import Decision, RolePolicies
from hearth.services.role_sessions import RoleSessions, assumed_role_arn

_SOCKETS_REMEMBERED = 4096
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
ANONYMOUS = "anonymous"


class Remote:
    """A peer not on this host's loopback: a client, never a sandbox of this host."""


REMOTE = Remote()


@dataclass(frozen=True)
class LocalPeer:
    """A loopback peer socket of Hearth's own uid, when environments are plain processes:
    which of their processes (if any) holds it is asked when a request needs it (off the
    event loop: it reads their fds), by the socket's inode and addresses."""

    socket: TcpPeer
    peer: tuple[str, int]
    local: tuple[str, int]


def peer_lookup(peer: tuple[str, int], local: tuple[str, int]) -> TcpPeer | Remote | None:
    """What the API's connections carry (guard.PeerLookup): the owner of a loopback (or
    same-address) peer socket, None when the kernel cannot name it, REMOTE otherwise."""
    if not (is_local_address(peer[0]) or peer[0] == local[0]):
        return REMOTE
    return tcp_peer(peer, local)


def process_peer_lookup(
    peer: tuple[str, int], local: tuple[str, int]
) -> TcpPeer | LocalPeer | Remote | None:
    """`peer_lookup` for plain-process environments: a loopback socket of Hearth's own uid
    may be a function's."""
    found = peer_lookup(peer, local)
    if isinstance(found, TcpPeer) and found.owned and found.uid == os.geteuid():
        return LocalPeer(found, peer, local)
    return found


@dataclass(frozen=True)
class Caller:
    """A function making a request: who AWS would say it is, and its role (None: a sandbox
    uid Hearth knows no function of, which no policy can allow)."""

    arn: str
    role_arn: str | None


class FunctionAccess:
    def __init__(
        self,
        sessions: RoleSessions,
        identities: SandboxIdentities | None,
        policies: RolePolicies,
        arns: ArnFormatter,
        processes: ProcessIdentities | None = None,
    ) -> None:
        self._sessions = sessions
        # None: environments are not sandboxed (`--isolation process`): then `processes`
        # names them by their sockets (when given), and credentials do.
        self._identities = identities
        self._processes = processes
        # Plain processes: who each peer socket (by inode) was found to be.
        self._by_socket: dict[int, Caller | None] = {}
        self._policies = policies
        self._arns = arns
        self._verifier = SigV4Verifier([], more_secrets=sessions.secret_for)

    async def authorize(self, request: Request) -> None:
        """Raises AWS's AccessDeniedException (403) for a function whose role does not
        allow the request; returns for everyone else."""
        if request.operation in UNGUARDED:
            return
        caller = await self.identify(request)
        if caller is None:
            return
        action = action_of(request, self._arns)
        decision = Decision.IMPLICIT_DENY
        if caller.role_arn is not None:
            decision = await self._policies.decide(caller.role_arn, action.action, action.resource)
        if decision is not Decision.ALLOWED:
            raise access_denied(caller.arn, action, decision, request.service)

    async def intercept(self, service: str, request: WireRequest) -> WireResponse | None:
        """The embedded IAM (a Gateway interceptor): a function changes roles and policies
        only as its role allows, or it could grant itself anything. The other embedded
        services do not check IAM, for functions or anyone."""
        if service != "iam":
            return None
        try:
            caller = await self.identify(_Signed.of_wire(request, service))
            if caller is None:
                return None
            action = iam_action(request, self._arns.account_id)
            decision = Decision.IMPLICIT_DENY
            if caller.role_arn is not None:
                decision = await self._policies.decide(
                    caller.role_arn, action.action, action.resource
                )
            if decision is Decision.ALLOWED:
                return None
            denied = access_denied(caller.arn, action, decision, service)
            return render(service, LambdaError("AccessDenied", 403, denied.message))
        except LambdaError as error:
            return render(service, error)

    async def identify(self, request: Request | _Signed) -> Caller | None:
        """`caller_of`, and with plain-process environments, which of them holds the
        connection (asked off the event loop)."""
        if isinstance(request.peer, LocalPeer):
            signed = self._signed_by_function(request)
            return signed if signed is not None else await self._process_caller(request.peer)
        return self.caller_of(request)

    def caller_of(self, request: Request | _Signed) -> Caller | None:  # noqa: PLR0911
        """The function behind `request`, None when it is not a function's (by its
        credentials or a sandbox's uid; `identify` also asks plain processes)."""
        signed = self._signed_by_function(request)
        if signed is not None:
            return signed
        peer = request.peer
        if self._identities is None:
            return None
        if peer is None or isinstance(peer, Remote):
            return None  # no lookup was made, or not from this host
        if not isinstance(peer, TcpPeer) or not peer.owned:
            return Caller(ANONYMOUS, None)
        if not is_sandbox_uid(peer.uid):
            return None  # the operator, or another local user's client
        identity = self._identities.identity_of(peer.uid)
        if identity is None:
            return Caller(ANONYMOUS, None)
        arn = assumed_role_arn(identity.role_arn, identity.function_name)
        return Caller(arn, identity.role_arn)

    async def _process_caller(self, peer: LocalPeer) -> Caller | None:
        """Plain processes: the function one of whose processes holds the peer socket; None
        (the operator) when none does and the socket is still its owner's. Decided once per
        connection."""
        if self._processes is None:
            return None
        inode = peer.socket.inode
        if inode in self._by_socket:
            return self._by_socket[inode]
        identity = await asyncio.to_thread(self._processes.owner_of, inode)
        caller: Caller | None = None
        if identity is not None:
            caller = Caller(
                assumed_role_arn(identity.role_arn, identity.function_name), identity.role_arn
            )
        else:
            now = await asyncio.to_thread(tcp_peer, peer.peer, peer.local)
            if now is None or not now.owned or now.inode != inode:
                # Closed since it connected: whoever sent this cannot be named (a function
                # that wrote a request and closed would otherwise pass for the operator).
                return Caller(ANONYMOUS, None)
        if len(self._by_socket) >= _SOCKETS_REMEMBERED:
            self._by_socket.clear()
        self._by_socket[inode] = caller
        return caller

    def _signed_by_function(self, request: Request | _Signed) -> Caller | None:
        found = _CREDENTIAL.search(request.headers.get("authorization", ""))
        session = self._sessions.find(found.group(1)) if found else None
        if session is None:
            return None
        # The function's own key: the signature must be its, or anyone could name a function
        # (a function's key id is no secret) to be treated as it, or to hide behind it.
        self._verifier.verify(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            request.body,
            service=request.service,
        )
        if request.headers.get("x-amz-security-token") != session.credentials.session_token:
            raise LambdaError(
                "UnrecognizedClientException",
                403,
                "The security token included in the request is invalid.",
            )
        return Caller(session.assumed_role_arn, session.role_arn)


@dataclass(frozen=True)
class _Signed:
    """What identifying a caller reads of a request, on either surface."""

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    service: str
    peer: object

    @classmethod
    def of_wire(cls, request: WireRequest, service: str) -> _Signed:
        return cls(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            request.body,
            service,
            request.peer,
        )


def iam_action(request: WireRequest, account_id: str) -> Action:
    """`iam:<Action>` on the role, user or policy the request names (`*` otherwise)."""
    form = parse_qs(request.query_string) | parse_qs(request.body.decode("utf-8", "replace"))
    name = form.get("Action", [""])[0]
    if "RoleName" in form:
        return Action(f"iam:{name}", f"arn:aws:iam::{account_id}:role/{form['RoleName'][0]}")
    if "UserName" in form:
        return Action(f"iam:{name}", f"arn:aws:iam::{account_id}:user/{form['UserName'][0]}")
    if "PolicyArn" in form:
        return Action(f"iam:{name}", form["PolicyArn"][0])
    return Action(f"iam:{name}", "*")


def access_denied(caller: str, action: Action, decision: Decision, service: str) -> LambdaError:
    because = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"no identity-based policy allows the {action.action} action"
    )
    message = (
        f"User: {caller} is not authorized to perform: {action.action} on resource: "
        f"{action.resource} because {because}"
    )
    error = LambdaError("AccessDeniedException", 403, message)
    if service == "lambda":
        error.extra["Message"] = message  # Lambda's front end says `Message`
    else:
        error.extra["__type"] = "AccessDeniedException"  # the JSON protocols' error key
    return error
