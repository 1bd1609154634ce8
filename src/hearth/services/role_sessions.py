"""Each function's session of its execution role, as AWS hands one to every function.

On AWS a function's environment holds temporary credentials of its role, from an
AssumeRole whose session name is the function's name, so `sts.get_caller_identity()` in it
answers `arn:aws:sts::<account>:assumed-role/<role>/<function>`. Hearth asks the embedded STS
(moto) the same, once per function and role, for AWS's longest session (12 hours), and hands
the session to every environment it starts while more than an hour of it is left; an
environment kept warm past the session's end keeps its credentials (neither the embedded
services nor Hearth refuse an expired session: the function is still known by them).

Hearth remembers every session it issued, so a request signed with one is known to come
from that function (what `find` answers), with auth on or off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from hearth.services.credentials import FunctionCredentials
from hearth.services.embedded import EmbeddedServices

# AWS's longest role session; fresh sessions are handed out while more than this is left.
SESSION_SECONDS = 12 * 3600
REFRESH_MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float  # epoch seconds
    # Whether the key names this function's session alone (and so identifies it); keys from
    # configuration are shared and identify nobody.
    identifies: bool = True


@dataclass(frozen=True)
class RoleSession:
    function_name: str
    role_arn: str
    credentials: IssuedCredentials

    @property
    def assumed_role_arn(self) -> str:
        return assumed_role_arn(self.role_arn, self.function_name)


def assumed_role_arn(role_arn: str, session_name: str) -> str:
    """`arn:aws:iam::123:role/path/R` → `arn:aws:sts::123:assumed-role/R/<session>`."""
    parts = role_arn.split(":", 5)
    partition = parts[1] if len(parts) == 6 else "aws"
    account = parts[4] if len(parts) == 6 else ""
    role_name = role_arn.rsplit("/", 1)[-1]
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"


class SessionIssuer(Protocol):
    """Issues credentials for a role session. Guarantees: a new key per call (or, for
    configured credentials, `identifies=False`); raises nothing for a role that does not
    exist (AWS's Lambda checks the role when the function is created, not here)."""

    async def issue(self, role_arn: str, session_name: str, seconds: int) -> IssuedCredentials:
        """Credentials valid for about `seconds`."""


class EmbeddedSts:
    """AssumeRole in the embedded STS (moto), on moto's thread."""

    def __init__(self, embedded: EmbeddedServices, region: str) -> None:
        self._embedded = embedded
        self._region = region

    async def issue(self, role_arn: str, session_name: str, seconds: int) -> IssuedCredentials:
        return await self._embedded.run(lambda: self._assume(role_arn, session_name, seconds))

    def _assume(self, role_arn: str, session_name: str, seconds: int) -> IssuedCredentials:
        from moto.sts.models import sts_backends  # noqa: PLC0415 - moto loads on its thread
        from moto.utilities.utils import get_partition  # noqa: PLC0415 - moto loads on its thread

        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        backend = sts_backends[account or "123456789012"][get_partition(self._region)]
        session = backend.assume_role(
            region_name=self._region,
            role_session_name=session_name,
            role_arn=role_arn,
            policy="",
            duration=seconds,
            external_id="",
        )
        return IssuedCredentials(
            session.access_key_id,
            session.secret_access_key,
            session.session_token,
            session.expiration.timestamp(),
        )


class DerivedSessions:
    """Keys derived from the data dir's key (no STS to ask): still one per role session."""

    def __init__(self, keys: FunctionCredentials) -> None:
        self._keys = keys

    async def issue(self, role_arn: str, session_name: str, seconds: int) -> IssuedCredentials:
        derived = self._keys.for_function(f"{role_arn}|{session_name}")
        return IssuedCredentials(
            derived.access_key_id,
            derived.secret_access_key,
            derived.session_token,
            time.time() + seconds,
        )


class ConfiguredCredentials:
    """The operator's credentials, for every function (external endpoints: Hearth cannot
    issue credentials the endpoint would accept)."""

    def __init__(self, access_key_id: str, secret_access_key: str, token: str | None) -> None:
        self._credentials = (access_key_id, secret_access_key, token or "")

    async def issue(self, role_arn: str, session_name: str, seconds: int) -> IssuedCredentials:
        key, secret, token = self._credentials
        return IssuedCredentials(key, secret, token, time.time() + seconds, identifies=False)


class RoleSessions:
    """The sessions handed to functions, by function and role, and by access key."""

    def __init__(self, issuer: SessionIssuer) -> None:
        self._issuer = issuer
        self._current: dict[tuple[str, str], RoleSession] = {}
        self._by_key: dict[str, RoleSession] = {}

    async def for_function(self, function_name: str, role_arn: str) -> RoleSession:
        now = time.time()
        current = self._current.get((function_name, role_arn))
        if current is not None and current.credentials.expires_at - now > REFRESH_MARGIN_SECONDS:
            return current
        issued = await self._issuer.issue(role_arn, function_name, SESSION_SECONDS)
        session = RoleSession(function_name, role_arn, issued)
        self._current[(function_name, role_arn)] = session
        if issued.identifies:
            # Kept for good (one per function and role every 11 hours): an environment warm
            # for days still holds its first session, and is still known by it.
            self._by_key[issued.access_key_id] = session
        return session

    def find(self, access_key_id: str) -> RoleSession | None:
        """The function session this key belongs to (expired ones too: they still name it)."""
        return self._by_key.get(access_key_id)

    def secret_for(self, access_key_id: str) -> str | None:
        session = self._by_key.get(access_key_id)
        return session.credentials.secret_access_key if session is not None else None
