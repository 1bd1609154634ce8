"""Download URLs for stored code (GetFunction's Code.Location, GetLayerVersion's Content).

AWS hands out presigned S3 URLs that expire after 10 minutes; Hearth hands out its own URLs
signed with an HMAC key kept in the data dir, so they work without SigV4 (curl, a browser)
but cannot be forged or reused after they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from hearth.api.http import Request, Response, Router
from hearth.errors import LambdaError

# Maps a code digest to the path of its zip; raises KeyError when there is none.
ZipPathLookup = Callable[[str], str]

URL_LIFETIME_SECONDS = 600
CODE_PATH = "/_hearth/code/{Digest}"


class CodeUrlSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def url(self, base_url: str, digest: str, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + URL_LIFETIME_SECONDS)
        signature = self._sign(digest, expires)
        return f"{base_url}/_hearth/code/{digest}?Expires={expires}&Signature={signature}"

    def check(self, digest: str, expires: str | None, signature: str | None) -> None:
        if not expires or not signature or not expires.isdigit():
            raise _denied("Request is missing its Expires or Signature parameter.")
        if not hmac.compare_digest(self._sign(digest, int(expires)), signature):
            raise _denied(
                "The request signature we calculated does not match the signature you provided."
            )
        if int(expires) < time.time():
            raise _denied("Request has expired.")

    def _sign(self, digest: str, expires: int) -> str:
        return hmac.new(self._key, f"{digest}\n{expires}".encode(), hashlib.sha256).hexdigest()


def load_or_create_key(path: Path) -> bytes:
    """The signing key, created once per data dir (owner-readable only)."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(key)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


def _denied(message: str) -> LambdaError:
    return LambdaError("AccessDeniedException", 403, message)


def register_code_download(router: Router, signer: CodeUrlSigner, zip_path: ZipPathLookup) -> None:
    async def download(request: Request) -> Response:
        digest = request.params["Digest"]
        signer.check(digest, request.query_value("Expires"), request.query_value("Signature"))
        try:
            body = Path(zip_path(digest)).read_bytes()
        except (KeyError, FileNotFoundError) as exc:
            raise LambdaError("ResourceNotFoundException", 404, "The code was not found.") from exc
        return Response(200, body, content_type="application/zip")

    router.add("GetCode", "GET", CODE_PATH, download, authenticated=False, max_body=0)
