"""Three per-message costs taken out of moto's SQS, same answers.

moto's SQS reads the clock through datetime arithmetic (`moto.core.utils.unix_time`, tens of
µs a call on a loaded machine) for every message it looks at, several times: SendMessage
computes every queue attribute (visiting every message) to read one, so with a backlog of
thousands each send costs milliseconds. Its ReceiveMessage checks the retention period of
each message it returns by computing every queue attribute again. Here the clock is
`time.time()` (what moto's arithmetic computes) and the retention check reads the one
attribute it needs. And SendMessage / SendMessageBatch build the whole attribute map
(three counts over every message in the queue) two or three times per message only to read
`ContentBasedDeduplication`: while they run, the map holds just that key, so a send no longer
costs in proportion to the backlog (3,000 sends into a growing queue took about 40 s).
Installed once, on moto's thread; moto is pinned to a minor version because these are its
internals.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

_installed: list[bool] = []


_EPOCH = datetime(1970, 1, 1)  # moto's datetimes are naive UTC


def _unix_time(dt: datetime | None = None) -> float:
    if dt is None:
        return time.time()
    if dt.tzinfo is not None:
        return dt.timestamp()
    return (dt - _EPOCH).total_seconds()


def _unix_time_millis(dt: datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    retain_until = float(queue.message_retention_period) + float(message.sent_timestamp) / 1000
    return retain_until > time.time()


# How many sends are running (moto's thread only; SendMessageBatch calls SendMessage).
_sending: list[int] = [0]


def _while_sending(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def sending(*args: Any, **kwargs: Any) -> Any:
        _sending[0] += 1
        try:
            return send(*args, **kwargs)
        finally:
            _sending[0] -= 1

    return sending


def _send_attributes(full: Callable[[Any], dict[str, Any]]) -> property:
    def attributes(self: Any) -> dict[str, Any]:
        if not _sending[0]:
            return full(self)
        if not self.fifo_queue:
            return {}  # moto's map has no ContentBasedDeduplication for a standard queue
        value = self.content_based_deduplication
        return {
            "ContentBasedDeduplication": str(value).lower() if isinstance(value, bool) else value
        }

    return property(attributes)


def install_sqs() -> None:
    if _installed:
        return
    import moto.sqs.models as sqs_models  # noqa: PLC0415

    models: Any = sqs_models
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = _retained
    models.Queue.attributes = _send_attributes(models.Queue.attributes.fget)
    models.SQSBackend.send_message = _while_sending(models.SQSBackend.send_message)
    models.SQSBackend.send_message_batch = _while_sending(models.SQSBackend.send_message_batch)
    _installed.append(True)
