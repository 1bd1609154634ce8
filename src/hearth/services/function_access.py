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
  socket is held by a process of an environment's tree (`ProcessIdentities`, asked once per
  connection by the socket's inode).

A function's request is then decided by its role's identity-based policies (`RolePolicies`);
anything else (the operator, a remote client) is left to SigV4 as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from hearth.api.http import Request
from hearth.api.iam_actions import UNGUARDED, Action, action_of
from hearth.api.sigv4 import SigV4Verifier
from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.identities import FunctionIdentity, SandboxIdentities, is_sandbox_uid
from hearth.invoke.process_identities import ProcessIdentities
from hearth.sandbox.peers import TcpPeer, is_local_address, tcp_peer
from hearth.services.embedded import WireRequest, WireResponse
from hearth.services.errors import render
from hearth.services.role_policies import Decision, RolePolicies
from hearth.services.role_sessions import RoleSessions, assumed_role_arn

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
ANONYMOUS = "anonymous"


class Remote:
    """A peer not on this host's loopback: a client, never a sandbox of this host."""


REMOTE = Remote()


@dataclass(frozen=True)
class ProcessPeer:
    """A loopback peer socket held by an environment's process (`--isolation process`)."""

    identity: FunctionIdentity


def peer_lookup(peer: tuple[str, int], local: tuple[str, int]) -> TcpPeer | Remote | None:
    """What the API's connections carry (guard.PeerLookup): the owner of a loopback (or
    same-address) peer socket, None when the kernel cannot name it, REMOTE otherwise."""
    if not (is_local_address(peer[0]) or peer[0] == local[0]):
        return REMOTE
    return tcp_peer(peer, local)


def process_peer_lookup(
    processes: ProcessIdentities,
) -> Callable[[tuple[str, int], tuple[str, int]], TcpPeer | ProcessPeer | Remote | None]:
    """`peer_lookup` for plain-process environments: an owned loopback socket is also
    looked for among the environments' processes' fds, while the connection is new (its
    holder cannot have closed it yet, or it would not be owned)."""

    def lookup(
        peer: tuple[str, int], local: tuple[str, int]
    ) -> TcpPeer | ProcessPeer | Remote | None:
        found = peer_lookup(peer, local)
        if isinstance(found, TcpPeer) and found.owned and found.uid == os.geteuid():
            identity = processes.owner_of(found.inode)
            if identity is not None:
                return ProcessPeer(identity)
        return found

    return lookup


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
        self._policies = policies
        self._arns = arns
        self._verifier = SigV4Verifier([], more_secrets=sessions.secret_for)

    async def authorize(self, request: Request) -> None:
        """Raises AWS's AccessDeniedException (403) for a function whose role does not
        allow the request; returns for everyone else."""
        if request.operation in UNGUARDED:
            return
        caller = self.caller_of(request)
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
            caller = self.caller_of(_Signed.of_wire(request, service))
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

    def caller_of(self, request: Request | _Signed) -> Caller | None:  # noqa: PLR0911
        """The function behind `request`, None when it is not a function's."""
        signed = self._signed_by_function(request)
        if signed is not None:
            return signed
        peer = request.peer
        if isinstance(peer, ProcessPeer):
            arn = assumed_role_arn(peer.identity.role_arn, peer.identity.function_name)
            return Caller(arn, peer.identity.role_arn)
        if self._identities is None and self._processes is None:
            return None
        if peer is None or isinstance(peer, Remote):
            return None  # no lookup was made, or not from this host
        if not isinstance(peer, TcpPeer) or not peer.owned:
            return Caller(ANONYMOUS, None)
        if self._identities is None:
            return None  # plain processes: a socket no environment holds is the operator's
        if not is_sandbox_uid(peer.uid):
            return None  # the operator, or another local user's client
        identity = self._identities.identity_of(peer.uid)
        if identity is None:
            return Caller(ANONYMOUS, None)
        arn = assumed_role_arn(identity.role_arn, identity.function_name)
        return Caller(arn, identity.role_arn)

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
