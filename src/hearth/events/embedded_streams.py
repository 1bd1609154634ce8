"""A Kinesis stream of the embedded services, read from moto's models on moto's thread.

The same `StreamReader` as `KinesisReader` (it is one, with the botocore calls replaced):
shards with their parents and whether they are closed, iterators, pages of records in
botocore's GetRecords shape. Through botocore every page is a GetRecords serialized to
HTTP, routed through the gateway and rendered by moto; in-process it is one look into
moto's backend (the next records found by sequence number, not by walking the shard).
Relies on moto 5's Kinesis backend (`describe_stream`, `get_shard_iterator`, `get_records`,
`Stream.get_shard`, `utils.compose_shard_iterator` / `decompose_shard_iterator`;
`Shard.records` keyed by sequence number, `is_open`, `parent`, `adjacent_parent`;
`Record.data` as the base64 text it was sent as, `created_at` in epoch seconds).
"""

from __future__ import annotations

import base64
from typing import Any

from hearth.events.sqs_readers import InProcess
from hearth.events.stream_readers import KinesisReader, Page, Shard


class SourceError(Exception):
    """A moto error, shaped like botocore's ClientError for `is_missing_source`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


class EmbeddedKinesisReader(KinesisReader):
    def __init__(self, services: InProcess, arn: str, role: str) -> None:
        super().__init__(None, _unused, arn, role)
        self._services = services
        _, _, _, _, self._account, _ = arn.split(":", 5)

    def _backend(self) -> Any:
        from moto.kinesis.models import kinesis_backends  # noqa: PLC0415

        return kinesis_backends[self._account][self._region]

    async def _run(self, work: Any) -> Any:
        def guarded() -> Any:
            try:
                return work()
            except Exception as exc:
                code = getattr(exc, "error_type", None)
                if code:
                    raise SourceError(str(code), str(getattr(exc, "message", exc))) from None
                raise

        return await self._services.run(guarded)

    async def shards(self) -> list[Shard]:
        def read() -> list[Shard]:
            stream = self._backend().describe_stream(stream_arn=self._arn, stream_name=None)
            return [
                Shard(
                    shard.shard_id,
                    tuple(p for p in (shard.parent, shard.adjacent_parent) if p),
                    not shard.is_open,
                )
                for shard in sorted(stream.shards.values(), key=lambda s: s.shard_id)
            ]

        result: list[Shard] = await self._run(read)
        return result

    async def iterator(
        self, shard: str, kind: str, sequence: str | None = None, timestamp: float | None = None
    ) -> str:
        def read() -> str:
            return str(
                self._backend().get_shard_iterator(
                    self._arn, None, shard, kind, sequence, timestamp
                )
            )

        result: str = await self._run(read)
        return result

    async def page(self, iterator: str, limit: int) -> Page:
        def read() -> Page:
            from moto.kinesis.utils import (  # noqa: PLC0415
                compose_shard_iterator,
                decompose_shard_iterator,
            )

            backend = self._backend()
            name, shard_id, last = decompose_shard_iterator(iterator)
            shard = backend.describe_stream(stream_arn=self._arn, stream_name=None).get_shard(
                shard_id
            )
            records = _after(shard.records, int(last), limit)
            if records is None:
                next_iterator, records, behind = backend.get_records(self._arn, iterator, limit)
            else:
                end = records[-1].sequence_number if records else int(last)
                next_iterator = compose_shard_iterator(name, shard, end)
                behind = _millis_behind(shard.records, records)
            if not records and not shard.is_open:
                # Read to the end of a closed shard: AWS ends the iterator chain there (moto
                # hands out another), so a split's or merge's children start at once.
                next_iterator = None
            raw = [
                {
                    "Data": base64.b64decode(r.data),
                    "PartitionKey": r.partition_key,
                    "SequenceNumber": str(r.sequence_number),
                    "ApproximateArrivalTimestamp": float(r.created_at),
                }
                for r in records
            ]
            return Page(raw, next_iterator, behind)

        result: Page = await self._run(read)
        return result


def _after(records: dict[int, Any], last: int, limit: int) -> list[Any] | None:
    """Up to `limit` records after sequence number `last`, or None to leave it to moto.

    moto's GetRecords walks the shard from its first record on every call, so draining a
    shard of n records costs O(n^2). A shard's sequence numbers are consecutive (each put is
    the last one + 1), so the next records are found by key; a gap (never made by moto 5)
    hands the read back to moto's own walk."""
    if not records:
        return []
    newest = next(reversed(records))
    taken: list[Any] = []
    at = max(last + 1, next(iter(records)))
    while len(taken) < limit and at <= newest:
        record = records.get(at)
        if record is None:
            return None
        taken.append(record)
        at += 1
    return taken


def _millis_behind(records: dict[int, Any], read: list[Any]) -> int:
    """How far the last record read is behind the shard's newest, as moto computes it."""
    if not read:
        return 0
    return int((records[next(reversed(records))].created_at - read[-1].created_at) * 1000)


async def _unused(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the in-process reader makes no botocore calls")
