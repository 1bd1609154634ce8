"""moto's server for the event source benchmark, with two O(n) costs in its SQS taken out.

moto's ReceiveMessage computes every queue attribute (counting all messages) once per
message it returns, and reads the clock through datetime arithmetic (~60 µs a call) for
every message it looks at; with a backlog of thousands that is seconds per receive, and the
benchmark would measure moto. Same answers, cheaper clock and retention check; nothing else
is changed. Run as `python bench/fast_moto.py -H 127.0.0.1 -p PORT`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import moto.sqs.models as sqs_models
from moto.server import main


def _unix_time(dt: Any = None) -> float:
    if dt is None:
        return time.time()
    return float(dt.timestamp())


def _unix_time_millis(dt: Any = None) -> float:
    return _unix_time(dt) * 1000.0


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    return float(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()


sqs_models.unix_time = _unix_time  # type: ignore[assignment]
sqs_models.unix_time_millis = _unix_time_millis  # type: ignore[assignment]
sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
