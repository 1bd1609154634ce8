"""Kinesis resharding in the embedded services as Kinesis does it.

moto 5's SplitShard / MergeShards (and UpdateShardCount, made of them) hand the records of
the shards they close to the shards they open, and PutRecord writes to the first shard whose
hash range holds the key, closed or not. On Kinesis a closed shard keeps its records (a
reader finishes it before its children: parents first) and takes no new ones. Here the
closed shards keep what they had, the new shards start empty, and new records go to the open
shard for their key. Installed once, on moto's thread; moto is pinned to a minor version
because these are its internals (`Stream.split_shard`, `merge_shards`, `get_shard_for_key`,
`shards`, `Shard.records`, `is_open`).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_installed: list[bool] = []


def _records_stay(reshard: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(reshard)
    def resharding(self: Any, *args: Any, **kwargs: Any) -> None:
        held = {shard_id: shard.records for shard_id, shard in self.shards.items()}
        reshard(self, *args, **kwargs)
        for shard_id, shard in self.shards.items():
            shard.records = held.get(shard_id, OrderedDict())

    return resharding


def _to_open_shard(find: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(find)
    def open_shard_for_key(self: Any, *args: Any, **kwargs: Any) -> Any:
        every = self.shards
        # The lookup reads `self.shards`: show it the open ones only, for this call.
        self.shards = {shard_id: shard for shard_id, shard in every.items() if shard.is_open}
        try:
            return find(self, *args, **kwargs)
        finally:
            self.shards = every

    return open_shard_for_key


def install_kinesis() -> None:
    if _installed:
        return
    import moto.kinesis.models as kinesis_models  # noqa: PLC0415

    stream: Any = kinesis_models.Stream
    stream.split_shard = _records_stay(stream.split_shard)
    stream.merge_shards = _records_stay(stream.merge_shards)
    stream.get_shard_for_key = _to_open_shard(stream.get_shard_for_key)
    _installed.append(True)
