"""Which function a sandbox uid is: how Hearth's API knows a loopback caller is a function.

Each sandboxed environment runs as a uid of its own; the builder binds the uid to the
function (and its execution role) when it prepares the sandbox. A uid is rebound when the
sandbox pool hands it to another environment; until then it stays bound to the last one,
which is harmless: no process runs as a uid between two environments (an environment's
processes die with its PID namespace).
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.sandbox.isolation import FIRST_UID, UID_SLOTS
from hearth.sandbox.uid_blocks import BLOCKS

# Every uid any Hearth server on this host gives a sandbox (the host-wide blocks): another
# server's functions are functions too, and never the operator.
_LAST_UID = FIRST_UID + BLOCKS * UID_SLOTS


def is_sandbox_uid(uid: int) -> bool:
    return FIRST_UID <= uid < _LAST_UID


@dataclass(frozen=True)
class FunctionIdentity:
    function_name: str
    role_arn: str


class SandboxIdentities:
    """uid → the function an environment running as that uid belongs to."""

    def __init__(self) -> None:
        self._by_uid: dict[int, FunctionIdentity] = {}

    def bind(self, uid: int, identity: FunctionIdentity) -> None:
        self._by_uid[uid] = identity

    def identity_of(self, uid: int) -> FunctionIdentity | None:
        """The function running as `uid`; None for a uid this server gave no environment
        (check `is_sandbox_uid` for whether it is a function at all)."""
        return self._by_uid.get(uid)
