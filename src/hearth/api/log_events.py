"""Reading and writing log events: GetLogEvents, FilterLogEvents, PutLogEvents.

Events are ordered by position (timestamp, then arrival id), as AWS orders them by time.
GetLogEvents tokens name a position: `f/<t>-<id>` reads after it, `b/<t>-<id>` before it; a
forward read that finds nothing hands back the token it was given, which is how clients know
they have reached the end (AWS does the same).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from hearth.api import logs_input as field
from hearth.logs.patterns import PatternError, compile_pattern
from hearth.logs.store import END_OF_TIME, LogEvent, LogStore, NewEvent, Position

MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 1_048_576 - EVENT_OVERHEAD_BYTES
# FilterLogEvents looks at no more than this many events per call, then hands back a token
# (AWS, too, may return fewer events than asked with a token to go on).
SCAN_PER_CALL = 100_000
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_TOKEN = re.compile(r"([fb])/(-?\d+)-(\d+)")


def _event_token(direction: str, position: Position) -> str:
    return f"{direction}/{position[0]}-{position[1]}"


class LogEventsApi:
    def __init__(
        self, store: LogStore, on_append: Callable[[Sequence[NewEvent]], None] | None = None
    ) -> None:
        self._store = store
        # Told of what PutLogEvents stored (subscription filters see it, as the writer's).
        self._on_append = on_append

    def _existing(self, body: dict[str, Any], stream: str | None = None) -> str:
        group = field.group_name(body)
        if self._store.get_group(group) is None:
            raise field.group_missing()
        if stream is not None and stream not in {s.name for s in self._store.list_streams(group)}:
            raise field.stream_missing()
        return group

    # GetLogEvents -------------------------------------------------------------------------
    def get_log_events(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = field.stream_name(body)
        group = self._existing(body, stream)
        start = field.integer(body, "startTime", 0, 0)
        end = field.integer(body, "endTime", END_OF_TIME, 0)
        limit = field.integer(body, "limit", MAX_EVENTS, 1, MAX_EVENTS)
        head = field.boolean(body, "startFromHead")
        token = body.get("nextToken")
        found = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if token is not None and found is None:
            raise field.invalid("The specified nextToken is invalid.")
        if found is not None:
            direction, position = found.group(1), (int(found.group(2)), int(found.group(3)))
        else:
            direction, position = ("f", (-1, 0)) if head else ("b", (END_OF_TIME, 0))
        forward_read = direction == "f"
        events = self._store.read(
            group,
            stream=stream,
            start_ms=start,
            end_ms=end,
            after=position if forward_read else None,
            before=None if forward_read else position,
            newest_first=not forward_read,
            limit=limit,
        )
        events = _within_bytes(events)
        if not forward_read:
            events.reverse()
        events = _within_bytes(events)
        if events:
            forward = _event_token("f", events[-1].position)
            backward = _event_token("b", events[0].position)
        elif direction == "f":
            forward = _event_token("f", position)
            backward = _event_token("b", (position[0], position[1] + 1))
        else:
            backward = _event_token("b", position)
            forward = _event_token("f", (position[0], position[1] - 1))
        return {
            "events": [
                {"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms}
                for e in events
            ],
            "nextForwardToken": forward,
            "nextBackwardToken": backward,
        }

    # FilterLogEvents ----------------------------------------------------------------------
    def filter_log_events(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._existing(body)
        streams, prefix = _stream_filter(body)
        limit = field.integer(body, "limit", MAX_EVENTS, 1, MAX_EVENTS)
        start = field.integer(body, "startTime", 0, 0)
        end = field.integer(body, "endTime", END_OF_TIME - 1, 0) + 1  # endTime is inclusive
        pattern = body.get("filterPattern") or ""
        if not isinstance(pattern, str):
            raise field.invalid("Value for filterPattern must be a string")
        try:
            matches = compile_pattern(pattern)
        except PatternError as exc:
            raise field.invalid(f"Invalid filter pattern: {exc}") from exc
        after = _position(field.untoken(body))
        events: list[dict[str, Any]] = []
        scanned, exhausted = 0, False
        while len(events) < limit and scanned < SCAN_PER_CALL:
            batch = self._store.read(group, start_ms=start, end_ms=end, after=after, limit=1000)
            if not batch:
                exhausted = True
                break
            for event in batch:
                after = event.position
                scanned += 1
                if streams and event.stream not in streams:
                    continue
                if prefix and not event.stream.startswith(prefix):
                    continue
                if not matches(event.message):
                    continue
                events.append(
                    {
                        "logStreamName": event.stream,
                        "timestamp": event.timestamp_ms,
                        "message": event.message,
                        "ingestionTime": event.ingestion_ms,
                        "eventId": str(event.id),
                    }
                )
                if len(events) >= limit:
                    break
        shape: dict[str, Any] = {"events": events, "searchedLogStreams": []}
        # As AWS: a token only when there may be more. A token on the last page makes
        # botocore's paginators (and the aws CLI's default paging) fail on a repeated token.
        if not exhausted and after is not None:
            shape["nextToken"] = field.token(f"{after[0]}-{after[1]}")
        return shape

    # PutLogEvents -------------------------------------------------------------------------
    def put_log_events(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = field.stream_name(body)
        group = self._existing(body, stream)
        raw = body.get("logEvents")
        if not isinstance(raw, list) or not raw:
            raise field.invalid(
                "1 validation error detected: Value at 'logEvents' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1"
            )
        if len(raw) > MAX_EVENTS:
            raise field.invalid(
                f"1 validation error detected: Value at 'logEvents' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_EVENTS}"
            )
        parsed: list[tuple[int, str]] = []
        size = 0
        for item in raw:
            if not isinstance(item, dict):
                raise field.invalid("Each log event must be an object")
            timestamp, message = item.get("timestamp"), item.get("message")
            if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
                raise field.invalid("Each log event needs a timestamp (ms since the epoch)")
            if not isinstance(message, str) or not message:
                raise field.invalid(
                    "1 validation error detected: Value '' at 'logEvents.member.message' "
                    "failed to satisfy constraint: Member must have length greater than or "
                    "equal to 1"
                )
            encoded = len(message.encode())
            if encoded > MAX_EVENT_BYTES:
                raise field.invalid(
                    f"Log event too large: {encoded} bytes exceeds limit of {MAX_EVENT_BYTES}"
                )
            size += encoded + EVENT_OVERHEAD_BYTES
            parsed.append((timestamp, message))
        if size > MAX_BATCH_BYTES:
            raise field.invalid(
                f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )
        stamps = [t for t, _ in parsed]
        if stamps != sorted(stamps):
            raise field.invalid(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        if stamps[-1] - stamps[0] > _DAY_MS:
            raise field.invalid(
                "The batch of log events in a single PutLogEvents request cannot span more "
                "than 24 hours."
            )
        return self._accept(group, stream, parsed)

    def _accept(self, group: str, stream: str, parsed: list[tuple[int, str]]) -> dict[str, Any]:
        """Store what AWS would keep; name the indexes it rejects, as AWS does."""
        now = int(time.time() * 1000)
        info = self._store.get_group(group)
        retention = info.retention_days if info is not None else None
        rejected: dict[str, int] = {}
        kept: list[tuple[str, str, int, str]] = []
        for index, (timestamp, message) in enumerate(parsed):
            if timestamp > now + 2 * _HOUR_MS:
                rejected.setdefault("tooNewLogEventStartIndex", index)
            elif retention is not None and timestamp < now - retention * _DAY_MS:
                rejected["expiredLogEventEndIndex"] = index
            elif timestamp < now - 14 * _DAY_MS:
                rejected["tooOldLogEventEndIndex"] = index
            else:
                kept.append((group, stream, timestamp, message))
        self._store.append(kept)
        if self._on_append is not None and kept:
            self._on_append(kept)
        shape: dict[str, Any] = {"nextSequenceToken": f"{now:056d}"}
        if rejected:
            shape["rejectedLogEventsInfo"] = rejected
        return shape


def _stream_filter(body: dict[str, Any]) -> tuple[set[str], str]:
    """FilterLogEvents' `logStreamNames` (as a set; empty: all) and `logStreamNamePrefix`."""
    names = body.get("logStreamNames")
    prefix = field.name(body, "logStreamNamePrefix", field.STREAM_NAME, required=False)
    if names is not None and prefix:
        raise field.invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
        )
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise field.invalid("Value for logStreamNames must be a list of strings")
    if names is not None and not 1 <= len(names) <= 100:
        raise field.invalid(
            f"1 validation error detected: Value '{names}' at 'logStreamNames' failed to "
            "satisfy constraint: Member must have length between 1 and 100 inclusive"
        )
    return set(names or []), prefix


def _position(text: str | None) -> Position | None:
    if text is None:
        return None
    found = re.fullmatch(r"(-?\d+)-(\d+)", text)
    if found is None:
        raise field.invalid("The specified nextToken is invalid.")
    return (int(found.group(1)), int(found.group(2)))


def _within_bytes(events: list[LogEvent]) -> list[LogEvent]:
    """At most 1 MB of events in one response, as AWS's GetLogEvents."""
    size, kept = 0, list[LogEvent]()
    for event in events:
        size += len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if size > MAX_BATCH_BYTES and kept:
            break
        kept.append(event)
    return kept
