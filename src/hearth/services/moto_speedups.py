"""Two per-message costs taken out of moto's SQS, same answers.

moto's SQS reads the clock through datetime arithmetic (`moto.core.utils.unix_time`, tens of
µs a call on a loaded machine) for every message it looks at, several times: SendMessage
computes every queue attribute (visiting every message) to read one, so with a backlog of
thousands each send costs milliseconds. Its ReceiveMessage checks the retention period of
each message it returns by computing every queue attribute again. Here the clock is
`time.time()` (what moto's arithmetic computes) and the retention check reads the one
attribute it needs. Installed once, on moto's thread; moto is pinned to a minor version
because these are its internals.
"""

from __future__ import annotations

import time
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


def install_sqs() -> None:
    if _installed:
        return
    import moto.sqs.models as sqs_models  # noqa: PLC0415

    models: Any = sqs_models
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = _retained
    _installed.append(True)
