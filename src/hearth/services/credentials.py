"""Keys derived from the data dir's key: the functions' credentials when there is no STS to
ask (no embedded services and no credentials configured; see role_sessions.py).

The access key id is an HMAC of a label (the role and the function), the secret an HMAC of
that id, so nobody can make one up without the key. Hearth remembers the ones it handed out
(RoleSessions) and holds requests signed with them to the role's policies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# AWS's prefix for temporary (session) credentials, which a role's always are.
_PREFIX = "ASIA"
_ID_LENGTH = 20


@dataclass(frozen=True)
class SessionCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


def load_or_create_key(path: Path) -> bytes:
    """The secret the functions' keys derive from, created once per data dir (owner-only)."""
    if path.exists():
        return path.read_bytes()
    key = secrets.token_bytes(32)
    tmp = path.with_name(path.name + ".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return key


class FunctionCredentials:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, label: str, value: str) -> bytes:
        return hmac.new(self._key, f"{label}:{value}".encode(), hashlib.sha256).digest()

    def for_function(self, function_name: str) -> SessionCredentials:
        digest = base64.b32encode(self._mac("id", function_name)).decode()
        access_key_id = (_PREFIX + digest)[:_ID_LENGTH]
        secret = self.secret_for(access_key_id)
        assert secret is not None
        token = base64.b64encode(self._mac("token", access_key_id)).decode()
        return SessionCredentials(access_key_id, secret, token)

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of a key this issued; None for any other key."""
        if not access_key_id.startswith(_PREFIX) or len(access_key_id) != _ID_LENGTH:
            return None
        return base64.b64encode(self._mac("secret", access_key_id)).decode()[:40]
