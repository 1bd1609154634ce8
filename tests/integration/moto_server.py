"""moto's server for the integration tests, with a clock the tests can set back for new
stream records: Kinesis records and DynamoDB stream records made while the file named by
HEARTH_TEST_MOTO_CLOCK holds N get an arrival time N seconds in the past (how a test
gets records older than MaximumRecordAgeInSeconds, whose minimum is 60 s, without waiting).
And Kinesis resharding keeps records where Kinesis keeps them: moto 5 moves a split
shard's records into its children, copies merged shards' records into the new shard, and
writes new records to the first shard whose hash range holds the key, closed or not. Here a
closed shard keeps its records (read before its children's, as on Kinesis) and new records
go to an open shard. Everything else is moto's server unchanged. Run as `python moto_server.py -H HOST -p PORT`.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import moto.dynamodb.models.table as table_models
import moto.kinesis.models as kinesis_models
from moto.core.utils import utcnow
from moto.server import main

CLOCK = os.environ.get("HEARTH_TEST_MOTO_CLOCK", "")


def _set_back() -> datetime:
    try:
        back = float(Path(CLOCK).read_text()) if CLOCK else 0.0
    except (OSError, ValueError):
        back = 0.0
    return utcnow() - timedelta(seconds=back)


def _open_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    open_shards = {k: v for k, v in self.shards.items() if v.is_open}
    every, self.shards = self.shards, open_shards
    try:
        return _shard_for_key(self, partition_key, explicit_hash_key)
    finally:
        self.shards = every


def _new_shards_start_empty(reshard: Any) -> Any:
    def resharding(self: Any, *args: Any) -> None:
        before = {k: v.records for k, v in self.shards.items()}
        reshard(self, *args)
        for shard_id, shard in self.shards.items():
            shard.records = before.get(shard_id, OrderedDict())

    return resharding


kinesis_models.Stream.split_shard = _new_shards_start_empty(  # type: ignore[method-assign]
    kinesis_models.Stream.split_shard
)
kinesis_models.Stream.merge_shards = _new_shards_start_empty(  # type: ignore[method-assign]
    kinesis_models.Stream.merge_shards
)
_shard_for_key = kinesis_models.Stream.get_shard_for_key
kinesis_models.Stream.get_shard_for_key = _open_shard_for_key  # type: ignore[method-assign]
kinesis_models.utcnow = _set_back  # type: ignore[attr-defined]
table_models.utcnow = _set_back  # type: ignore[attr-defined]

if __name__ == "__main__":
    main(sys.argv[1:])
