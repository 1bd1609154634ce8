"""Download URLs for stored code (GetFunction's Code.Location, GetLayerVersion's Content).

AWS hands out presigned S3 URLs that expire after 10 minutes; Hearth hands out its own URLs
signed with an HMAC key kept in the data dir, so they work without SigV4 (curl, a browser)
but cannot be forged or reused after they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path

from hearth.api.http import Request, Response, Router
from hearth.errors import LambdaError

# Maps a code digest to the path of its zip; raises KeyError when there is none.
ZipPathLookup = Callable[[str], str]

URL_LIFETIME_SECONDS = 600
CODE_PATH = "/_hearth/code/{Digest}"


# Below this an HMAC key can be guessed; an empty key lets anyone forge URLs.
MIN_KEY_BYTES = 32


class CodeUrlSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a code URL key needs {MIN_KEY_BYTES} bytes, not {len(key)}")
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
