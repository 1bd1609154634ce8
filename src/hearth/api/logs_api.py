"""The CloudWatch Logs API (JSON 1.1, `X-Amz-Target: Logs_20140328.<Operation>`).

Log groups, streams, retention and tags here; reading and writing events in `log_events`.
Function log groups appear as soon as a function logs (the writer creates them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from hearth.api import logs_input as field
from hearth.api.http import Request, Response, Router, json_response
from hearth.api.log_events import LogEventsApi
from hearth.api.subscription_filters import SubscriptionFiltersApi
from hearth.errors import LambdaError
from hearth.logs.store import LogGroup, LogStore, LogStream, NewEvent

TARGET_PREFIX = "Logs_20140328."
PAGE = 50

Operation = Callable[[dict[str, Any]], dict[str, Any]]


class LogsApi:
    def __init__(
        self,
        store: LogStore,
        flush: Callable[[], None],
        region: str,
        account_id: str,
        subscriptions: SubscriptionFiltersApi | None = None,
        on_append: Callable[[Sequence[NewEvent]], None] | None = None,
    ) -> None:
        self._store = store
        self._flush = flush
        self._arn = f"arn:aws:logs:{region}:{account_id}:log-group:"
        self._subscriptions = subscriptions
        events = LogEventsApi(store, on_append)
        self._operations: dict[str, Operation] = {
            "CreateLogGroup": self._create_group,
            "DeleteLogGroup": self._delete_group,
            "DescribeLogGroups": self._describe_groups,
            "CreateLogStream": self._create_stream,
            "DeleteLogStream": self._delete_stream,
            "DescribeLogStreams": self._describe_streams,
            "PutRetentionPolicy": self._put_retention,
            "DeleteRetentionPolicy": self._delete_retention,
            "TagLogGroup": self._tag_group,
            "UntagLogGroup": self._untag_group,
            "ListTagsLogGroup": self._list_group_tags,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "ListTagsForResource": self._list_resource_tags,
            "GetLogEvents": events.get_log_events,
            "FilterLogEvents": events.filter_log_events,
            "PutLogEvents": events.put_log_events,
        }
        if subscriptions is not None:
            self._operations.update(subscriptions.operations())

    def register(self, router: Router) -> None:
        """`GET /_hearth/logs`; the API itself is mounted on `POST /` by TargetRoutes."""
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
        operation = self._operations.get(target.removeprefix(TARGET_PREFIX))
        if not target.startswith(TARGET_PREFIX) or operation is None:
            raise field.logs_error(
                "UnknownOperationException", f"Hearth does not serve {target or 'that'}."
            )
        request.operation = target.removeprefix(TARGET_PREFIX)
        self._flush()  # serve what the environments have written so far
        try:
            body = request.json()
        except LambdaError as error:  # AWS's JSON services name it so
            raise field.logs_error("SerializationException", error.message) from error
        return json_response(operation(body))

    # Groups -------------------------------------------------------------------------------
    def _group(self, body: dict[str, Any]) -> LogGroup:
        group = self._store.get_group(field.group_name(body))
        if group is None:
            raise field.group_missing()
        return group

    def _create_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = field.group_name(body)
        group = LogGroup(name, _now_ms(), tags=field.tags(body.get("tags")))
        if not self._store.create_group(group):
            raise field.logs_error(
                "ResourceAlreadyExistsException", "The specified log group already exists"
            )
        return {}

    def _delete_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name = field.group_name(body)
        if not self._store.delete_group(name):
            raise field.group_missing()
        if self._subscriptions is not None:
            self._subscriptions.group_deleted(name)
        return {}

    def _describe_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix = field.name(body, "logGroupNamePrefix", field.GROUP_NAME, required=False)
        pattern = body.get("logGroupNamePattern")
        if prefix and pattern is not None:
            raise field.invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        limit = field.integer(body, "limit", PAGE, 1, PAGE)
        after = field.untoken(body)
        groups = self._store.list_groups(prefix)
        if isinstance(pattern, str):
            groups = [g for g in groups if pattern.lower() in g.name.lower()]
        if after is not None:
            groups = [g for g in groups if g.name > after]
        page = groups[:limit]
        shape: dict[str, Any] = {"logGroups": [self._group_shape(g) for g in page]}
        if len(groups) > limit:
            shape["nextToken"] = field.token(page[-1].name)
        return shape

    def _group_shape(self, group: LogGroup) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "logGroupName": group.name,
            "creationTime": group.created_ms,
            "metricFilterCount": 0,
            "arn": f"{self._arn}{group.name}:*",
            "storedBytes": group.stored_bytes,
            "logGroupClass": "STANDARD",
            "logGroupArn": f"{self._arn}{group.name}",
        }
        if group.retention_days is not None:
            shape["retentionInDays"] = group.retention_days
        return shape

    def _put_retention(self, body: dict[str, Any]) -> dict[str, Any]:
        days = body.get("retentionInDays")
        if days not in field.RETENTION_DAYS or isinstance(days, bool):
            allowed = ", ".join(str(d) for d in field.RETENTION_DAYS)
            raise field.invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                f"satisfy constraint: Member must satisfy enum value set: [{allowed}]"
            )
        self._store.update_group(replace(self._group(body), retention_days=days))
        self._store.expire(_now_ms())  # applied now: older events go at once
        return {}

    def _delete_retention(self, body: dict[str, Any]) -> dict[str, Any]:
        self._store.update_group(replace(self._group(body), retention_days=None))
        return {}

    # Tags ---------------------------------------------------------------------------------
    def _tag_group(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        self._store.update_group(replace(group, tags={**group.tags, **field.tags(body["tags"])}))
        return {}

    def _untag_group(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        keys = set(body.get("tags") or [])
        self._store.update_group(
            replace(group, tags={k: v for k, v in group.tags.items() if k not in keys})
        )
        return {}

    def _list_group_tags(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"tags": self._group(body).tags}

    def _group_of_arn(self, body: dict[str, Any]) -> dict[str, Any]:
        arn = body.get("resourceArn")
        if not isinstance(arn, str) or not arn.startswith(self._arn):
            raise field.invalid(f"Invalid resource ARN: {arn}")
        return {"logGroupName": arn.removeprefix(self._arn).removesuffix(":*")}

    def _tag_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._tag_group({**self._group_of_arn(body), "tags": body.get("tags")})

    def _untag_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._untag_group({**self._group_of_arn(body), "tags": body.get("tagKeys")})

    def _list_resource_tags(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._list_group_tags(self._group_of_arn(body))

    # Streams ------------------------------------------------------------------------------
    def _create_stream(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        if not self._store.create_stream(group.name, field.stream_name(body), _now_ms()):
            raise field.logs_error(
                "ResourceAlreadyExistsException", "The specified log stream already exists"
            )
        return {}

    def _delete_stream(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        if not self._store.delete_stream(group.name, field.stream_name(body)):
            raise field.stream_missing()
        return {}

    def _describe_streams(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self._group(body)
        prefix = field.name(body, "logStreamNamePrefix", field.STREAM_NAME, required=False)
        order = body.get("orderBy", "LogStreamName")
        if order not in ("LogStreamName", "LastEventTime"):
            raise field.invalid(
                f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy "
                "constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )
        if prefix and order == "LastEventTime":
            raise field.invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = field.boolean(body, "descending")
        limit = field.integer(body, "limit", PAGE, 1, PAGE)
        after = field.untoken(body)
        streams = [s for s in self._store.list_streams(group.name) if s.name.startswith(prefix)]

        def key(stream: LogStream) -> str:
            if order == "LogStreamName":
                return stream.name
            # Streams that never had an event sort as the oldest.
            return f"{stream.last_event_ms or 0:020d}/{stream.name}"

        streams.sort(key=key, reverse=descending)
        if after is not None:
            streams = [s for s in streams if (key(s) < after if descending else key(s) > after)]
        page = streams[:limit]
        shape: dict[str, Any] = {"logStreams": [self._stream_shape(s) for s in page]}
        if len(streams) > limit:
            shape["nextToken"] = field.token(key(page[-1]))
        return shape

    def _stream_shape(self, stream: LogStream) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "logStreamName": stream.name,
            "creationTime": stream.created_ms,
            "arn": f"{self._arn}{stream.group}:log-stream:{stream.name}",
            "storedBytes": stream.stored_bytes,
        }
        if stream.first_event_ms is not None:
            shape["firstEventTimestamp"] = stream.first_event_ms
            shape["lastEventTimestamp"] = stream.last_event_ms
        if stream.last_ingestion_ms is not None:
            shape["lastIngestionTime"] = stream.last_ingestion_ms
        return shape


def _now_ms() -> int:
    return int(time.time() * 1000)
