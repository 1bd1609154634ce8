"""Function and layer code read from S3 through botocore (the control plane's ObjectFetcher).

The endpoint is the configured S3 (`--service-endpoint s3=...` or `--aws-endpoint-url`), or
the embedded S3 on Hearth's own port, pointed at once Hearth listens.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hearth.control.code_source import FetchedObject, ObjectMissing, ObjectTooLarge

# S3's words for what a HEAD-less 404 means, when the answer carries no body to read them from.
_STATUS_CODES = {403: "AccessDenied", 404: "NoSuchKey"}


class BotocoreObjects:
    """An ObjectFetcher over a botocore S3 client (one per endpoint, shared by threads)."""

    def __init__(self, endpoint_url: str | None, region: str, *, embedded: bool = False) -> None:
        # Embedded: the endpoint is Hearth's own port, known once it listens (point_at).
        self.embedded = embedded
        self._endpoint_url = endpoint_url
        self._region = region
        self._key_pair: tuple[str, str] | None = None
        self._client: Any = None
        self._lock = threading.Lock()

    def point_at(self, endpoint_url: str, key_pair: tuple[str, str]) -> None:
        """Read from `endpoint_url` with this key pair from now on (the embedded S3)."""
        with self._lock:
            self._endpoint_url = endpoint_url
            self._key_pair = key_pair
            self._client = None

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                session = botocore.session.get_session()
                found = session.get_credentials()
                key, secret = self._key_pair or (
                    (found.access_key, found.secret_key) if found else ("hearth", "hearth")
                )
                self._client = session.create_client(
                    "s3",
                    endpoint_url=self._endpoint_url,
                    region_name=self._region,
                    aws_access_key_id=key,
                    aws_secret_access_key=secret,
                    # Path style: an endpoint such as localhost has no per-bucket host names.
                    config=Config(
                        s3={"addressing_style": "path"},
                        retries={"max_attempts": 2},
                        connect_timeout=5,
                        read_timeout=60,
                    ),
                )
            return self._client

    def fetch(self, bucket: str, key: str, version: str | None, max_bytes: int) -> FetchedObject:
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            answer = self._s3().get_object(**params)
        except ClientError as error:
            found = error.response.get("Error", {})
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            code = str(found.get("Code") or _STATUS_CODES.get(status, str(status)))
            raise ObjectMissing(code, str(found.get("Message") or "")) from None
        except (BotoCoreError, ValueError) as error:
            raise ObjectMissing("ServiceUnavailable", str(error)) from None
        body = answer["Body"]
        try:
            if int(answer.get("ContentLength") or 0) > max_bytes:
                raise ObjectTooLarge(bucket, key)
            data: bytes = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise ObjectTooLarge(bucket, key)
        metadata = {str(k).lower(): str(v) for k, v in (answer.get("Metadata") or {}).items()}
        return FetchedObject(data, metadata)
