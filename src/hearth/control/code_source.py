"""Where a function's or layer's code comes from: the request's `ZipFile`, or an S3 object.

`Code.S3Bucket` / `S3Key` / `S3ObjectVersion` (CreateFunction, PublishLayerVersion's
`Content`) and the same top-level members of UpdateFunctionCode name an object Hearth reads
through an `ObjectFetcher`: the embedded S3 on Hearth's own port, or the configured S3
endpoint. AWS's limits differ by source: a direct upload is at most 50 MB zipped, code from S3
only has to unzip to at most 250 MB, so zips over 50 MB are possible from S3 (as on AWS).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hearth.errors import LambdaError, invalid_parameter

MAX_DIRECT_ZIPPED_BYTES = 50 * 1024 * 1024  # 52428800, AWS's limit for ZipFile
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # 262144000, AWS's limit whatever the source

UNZIP_ERROR = "Could not unzip uploaded file. Please check your file, then try to upload again."


class ObjectMissing(Exception):
    """The object store answered with an error: its S3 error code and message, as sent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ObjectTooLarge(Exception):
    """The object is larger than the caller's limit; it was not read."""


@dataclass(frozen=True)
class FetchedObject:
    data: bytes
    # The object's user metadata (x-amz-meta-*), names lower-case without the prefix.
    metadata: Mapping[str, str]


class ObjectFetcher(Protocol):
    """Reads one S3 object.

    Guarantees: returns the object's bytes and user metadata (of `version` when given) or
    raises
    `ObjectMissing` with S3's own error code and message (NoSuchBucket, NoSuchKey,
    NoSuchVersion, AccessDenied, ...), or `ObjectTooLarge` without reading more than
    `max_bytes`. Blocking: callers run it in a thread.
    """

    def fetch(
        self, bucket: str, key: str, version: str | None, max_bytes: int
    ) -> FetchedObject: ...


@dataclass(frozen=True)
class CodeUpload:
    """Zip bytes and the zipped-size limit that applies to how they came."""

    data: bytes
    max_zipped: int
    # The S3 object's user metadata (empty for a ZipFile): where Hearth finds a signature.
    metadata: Mapping[str, str] = field(default_factory=dict)


class MemoryObjects:
    """An in-memory `ObjectFetcher` for tests: {(bucket, key): {version or "": bytes}}."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, dict[str, FetchedObject]]] = {}

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        version: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        stored = FetchedObject(data, dict(metadata or {}))
        self.buckets.setdefault(bucket, {}).setdefault(key, {})[version] = stored
        self.buckets[bucket][key]["$latest"] = stored

    def fetch(self, bucket: str, key: str, version: str | None, max_bytes: int) -> FetchedObject:
        if bucket not in self.buckets:
            raise ObjectMissing("NoSuchBucket", "The specified bucket does not exist")
        versions = self.buckets[bucket].get(key)
        if versions is None:
            raise ObjectMissing("NoSuchKey", "The specified key does not exist.")
        found = versions.get(version if version else "$latest")
        if found is None:
            raise ObjectMissing("NoSuchVersion", "The specified version does not exist.")
        if len(found.data) > max_bytes:
            raise ObjectTooLarge(bucket, key)
        return found


_S3_MEMBERS = ("S3Bucket", "S3Key", "S3ObjectVersion")


class CodeSource:
    """Turns a request's code members into zip bytes."""

    def __init__(self, objects: ObjectFetcher | None) -> None:
        self._objects = objects

    def has_s3(self, code: Mapping[str, Any]) -> bool:
        return any(code.get(k) is not None for k in _S3_MEMBERS)

    def direct(self, code: Any) -> CodeUpload:
        """The `ZipFile` of a request (no fetching: callable anywhere)."""
        if not isinstance(code, Mapping):
            raise invalid_parameter("Code must be a structure with a ZipFile.")
        if code.get("ImageUri") is not None:
            raise invalid_parameter(
                "Hearth runs .zip functions only (ImageUri is not supported): send the code as "
                "ZipFile or S3Bucket/S3Key."
            )
        raw = code.get("ZipFile")
        if not isinstance(raw, str) or not raw:
            raise invalid_parameter(
                "Please provide a source for function code: ZipFile or S3Bucket/S3Key."
            )
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_parameter(UNZIP_ERROR) from exc
        return CodeUpload(data, MAX_DIRECT_ZIPPED_BYTES)

    def read(self, code: Any) -> CodeUpload:
        """ZipFile or S3 object → bytes. Blocking (an S3 read): run it in a thread."""
        if not isinstance(code, Mapping) or not self.has_s3(code):
            return self.direct(code)
        if code.get("ZipFile") is not None:
            raise invalid_parameter(
                "Please do not provide other FunctionCode parameters when providing a ZipFile."
            )
        bucket, key, version = (code.get(k) for k in _S3_MEMBERS)
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            raise invalid_parameter("Please provide both S3Bucket and S3Key.")
        if version is not None and not isinstance(version, str):
            raise invalid_parameter("S3ObjectVersion must be a string.")
        if self._objects is None:
            raise invalid_parameter(
                "Code from S3 needs an S3 endpoint: Hearth runs without embedded services and "
                "no --aws-endpoint-url is set."
            )
        try:
            found = self._objects.fetch(bucket, key, version or None, MAX_UNZIPPED_BYTES)
        except ObjectMissing as missing:
            raise get_object_error(missing.code, missing.message) from None
        except ObjectTooLarge:
            raise invalid_parameter(
                f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
            ) from None
        return CodeUpload(found.data, MAX_UNZIPPED_BYTES, found.metadata)


def get_object_error(code: str, message: str) -> LambdaError:
    # AWS passes S3's code and message through in this sentence (recorded: NoSuchBucket's
    # message has no full stop, NoSuchKey's has one; both as S3 words them).
    return invalid_parameter(
        f"Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
    )
