"""S3 event notification records, field for field as S3 sends them to Lambda.

Pure: the hook that sees moto's objects hands over plain values. Shape from AWS's documented
event structure (version 2.1) and the records in spec/aws-recorded/s3: `userIdentity`,
`requestParameters`, `responseElements`, the bucket's `ownerIdentity`, the object's
`sequencer`, and the key URL-encoded as S3 does it (form encoding, `/` kept): moto's own
record drops the first four and encodes `/` as `%2F`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

_counter = itertools.count()


@dataclass(frozen=True)
class ObjectChange:
    """One change to one object, as a notification reports it."""

    event_name: str  # "s3:ObjectCreated:Put", "s3:ObjectRemoved:DeleteMarkerCreated"...
    region: str
    bucket: str
    key: str
    size: int | None  # None for removals
    etag: str | None
    version_id: str | None  # set on versioned buckets
    principal_id: str  # who made the request
    source_ip: str
    request_id: str
    host_id: str
    owner_id: str  # the bucket owner's canonical id


def sequencer() -> str:
    """A hex string that grows with every change, as S3's does for the changes to one key."""
    return f"{time.time_ns():016X}{next(_counter) % 0x10000:04X}"[-18:]


def event_key(key: str) -> str:
    return quote_plus(key, safe="/")


def event_time(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def record(
    change: ObjectChange, configuration_id: str, *, now: float | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": event_key(change.key)}
    if change.size is not None:
        obj["size"] = change.size
    if change.etag is not None:
        obj["eTag"] = change.etag.strip('"')
    if change.version_id is not None:
        obj["versionId"] = change.version_id
    obj["sequencer"] = sequencer()
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": change.region,
        "eventTime": event_time(now),
        "eventName": change.event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": change.principal_id},
        "requestParameters": {"sourceIPAddress": change.source_ip},
        "responseElements": {
            "x-amz-request-id": change.request_id,
            "x-amz-id-2": change.host_id,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": change.bucket,
                "ownerIdentity": {"principalId": change.owner_id},
                "arn": f"arn:aws:s3:::{change.bucket}",
            },
            "object": obj,
        },
    }


def event_matches(configured: list[str], event_name: str) -> bool:
    """Whether a configuration's `Events` (with `s3:ObjectCreated:*` wildcards) take it."""
    family = ":".join(event_name.split(":")[:2]) + ":*"
    return event_name in configured or family in configured


def key_matches(rules: dict[str, str], key: str) -> bool:
    """The `prefix` / `suffix` filter rules (their names compared case-insensitively)."""
    lowered = {name.lower(): value for name, value in rules.items()}
    return key.startswith(lowered.get("prefix", "")) and key.endswith(lowered.get("suffix", ""))
