"""A subset of the CloudWatch Logs API (JSON 1.1, `X-Amz-Target`), served on Hearth's port.

Enough for boto3's `logs` client and `hearth logs`: FilterLogEvents over a log group, with
`nextToken` paging and `startTime` / `logStreamNames` filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hearth.api.http import Request, Response, Router, json_response
from hearth.errors import LambdaError
from hearth.logs.store import LogStore

TARGET_PREFIX = "Logs_20140328."
MAX_EVENTS = 10_000


def _error(code: str, message: str, status: int = 400) -> LambdaError:
    error = LambdaError(code, status, message)
    error.extra["__type"] = code
    return error


class LogsApi:
    def __init__(self, store: LogStore, flush: Callable[[], None]) -> None:
        self._store = store
        self._flush = flush

    def register(self, router: Router) -> None:
        router.add("CloudWatchLogs", "POST", "/", self.dispatch)
        router.add("LogStatus", "GET", "/_hearth/logs", self.status, max_body=0)

    async def status(self, request: Request) -> Response:
        """What the log store holds, its bounds, and what it dropped since start, and why."""
        self._flush()
        counts = self._store.counts()
        return json_response(
            {
                "bytes": counts.bytes,
                "maxBytes": counts.max_bytes,
                "retentionSeconds": counts.retention_seconds,
                "dropped": {
                    "retention": counts.dropped_retention,
                    "size": counts.dropped_size,
                    "diskFull": counts.dropped_disk_full,
                },
                "droppedDiskFullByGroup": counts.by_group_dropped,
            }
        )

    async def dispatch(self, request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        if target != TARGET_PREFIX + "FilterLogEvents":
            raise _error("UnknownOperationException", f"Hearth does not serve {target or 'that'}.")
        return self._filter_log_events(request.json())

    def _filter_log_events(self, body: dict[str, Any]) -> Response:
        group = body.get("logGroupName")
        if not isinstance(group, str) or not group:
            raise _error("InvalidParameterException", "logGroupName is required.")
        self._flush()  # serve what the environments have written so far
        limit = int(body.get("limit") or MAX_EVENTS)
        start = int(body.get("startTime") or 0)
        end = int(body.get("endTime") or 0)
        streams = set(body.get("logStreamNames") or [])
        after = int(body["nextToken"]) if str(body.get("nextToken") or "").isdigit() else 0
        events: list[dict[str, Any]] = []
        last_id = after
        while len(events) < limit:
            batch = self._store.read(group, after_id=last_id, limit=1000)
            if not batch:
                break
            for event in batch:
                last_id = event.id
                if event.timestamp_ms < start or (end and event.timestamp_ms > end):
                    continue
                if streams and event.stream not in streams:
                    continue
                events.append(
                    {
                        "logStreamName": event.stream,
                        "timestamp": event.timestamp_ms,
                        "message": event.message,
                        "ingestionTime": event.timestamp_ms,
                        "eventId": str(event.id),
                    }
                )
                if len(events) >= limit:
                    break
        shape: dict[str, Any] = {"events": events, "searchedLogStreams": []}
        # Always hand back a token, so a follower can ask for what comes after.
        shape["nextToken"] = str(last_id)
        return json_response(shape)
