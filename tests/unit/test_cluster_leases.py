"""Leases in JetStream KV on one nats-server: one holder at a time, expiry, hand-over; the
mappings' preferred nodes; stream positions in KV, moved only by the lease holder."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hearth.cluster.leases import KvLeases
from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.mappings import KvPositions, LeasedMappings, preferred


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NatsLink, NatsLink]]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    pair = (NatsLink((server.url,), "a"), NatsLink((server.url,), "b"))
    yield pair
    for link in pair:
        link.close()
    server.stop()


@pytest.fixture
def bucket() -> str:
    return f"t{uuid.uuid4().hex[:12]}_leases"


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_one_holder_at_a_time_and_a_release_hands_it_on(
    links: tuple[NatsLink, NatsLink], bucket: str
) -> None:
    a = KvLeases(links[0], "a", bucket=bucket)
    b = KvLeases(links[1], "b", bucket=bucket)
    assert _run(a.take("m")) is True
    assert _run(b.take("m")) is False
    assert a.holds("m") and not b.holds("m")
    assert _run(b.holder("m")) == "a"
    assert _run(a.take("m")) is True  # a renewal
    _run(a.release("m"))
    assert not a.holds("m")
    assert _run(b.take("m")) is True and _run(a.take("m")) is False


def test_a_holder_that_stops_renewing_loses_it_to_another_after_the_ttl(
    links: tuple[NatsLink, NatsLink], bucket: str
) -> None:
    a = KvLeases(links[0], "a", bucket=bucket, ttl=0.6)
    b = KvLeases(links[1], "b", bucket=bucket, ttl=0.6)
    assert _run(a.take("m"))
    a._renewing.cancel()  # as a node killed: nothing renews its lease any more
    assert _run(b.take("m")) is False
    deadline = time.monotonic() + 3
    while not _run(b.take("m")):
        assert time.monotonic() < deadline, "the expired lease was never taken over"
        time.sleep(0.05)
    assert time.monotonic() <= deadline
    # The old holder knows by its own clock that its lease ran out, and cannot renew it.
    assert not a.holds("m")
    lost: list[str] = []
    a.on_lost(lost.append)
    assert _run(a.take("m")) is False
    assert lost == ["m"] and b.holds("m")


def test_renewals_keep_a_lease_past_its_ttl(links: tuple[NatsLink, NatsLink], bucket: str) -> None:
    a = KvLeases(links[0], "a", bucket=bucket, ttl=0.6)
    b = KvLeases(links[1], "b", bucket=bucket, ttl=0.6)
    assert _run(a.take("m"))
    time.sleep(1.5)  # more than twice the ttl: only the renewals keep it
    assert a.holds("m") and _run(b.take("m")) is False


def test_mappings_spread_over_the_nodes_and_a_node_leaving_moves_only_its_own() -> None:
    mappings = [str(uuid.UUID(int=i)) for i in range(300)]
    nodes = ["node-0", "node-1", "node-2"]
    owners = {m: preferred(m, nodes) for m in mappings}
    counts = {n: sum(1 for o in owners.values() if o == n) for n in nodes}
    assert all(60 <= c <= 140 for c in counts.values()), counts
    after = {m: preferred(m, ["node-0", "node-2"]) for m in mappings}
    moved = {m for m in mappings if after[m] != owners[m]}
    assert moved == {m for m in mappings if owners[m] == "node-1"}
    # The same on every node: the order the members are listed in does not matter.
    assert all(preferred(m, list(reversed(nodes))) == owners[m] for m in mappings)


def test_positions_are_shared_and_moved_only_by_the_lease_holder(
    links: tuple[NatsLink, NatsLink], bucket: str
) -> None:
    owner = {"m1": "a"}
    a = KvPositions(links[0], lambda m: owner.get(m) == "a", bucket=bucket)
    b = KvPositions(links[1], lambda m: owner.get(m) == "b", bucket=bucket)
    a.commit("m1", "shardId-000000000000", "495")
    assert b.get("m1", "shardId-000000000000") == "495"
    b.commit("m1", "shardId-000000000000", "999")  # b does not hold m1: nothing moves
    assert a.get("m1", "shardId-000000000000") == "495"
    owner["m1"] = "b"
    b.commit("m1", "shardId-000000000000", "500")
    assert a.get("m1", "shardId-000000000000") == "500"
    # Shard ids and uuids with characters a KV key cannot hold are escaped, not mixed up.
    owner["m.2"] = "a"
    a.commit("m.2", "shard/1", "7")
    assert b.get("m.2", "shard/1") == "7" and b.get("m.2", "shard") is None
    a.forget("m1")
    assert b.get("m1", "shardId-000000000000") is None
    assert b.get("m.2", "shard/1") == "7"


class _Members:
    """What LeasedMappings reads of Membership: the live nodes."""

    def __init__(self, *nodes: str) -> None:
        self.nodes = list(nodes)

    def alive(self) -> list[dict[str, Any]]:
        return [{"node": node} for node in self.nodes]


def test_a_mapping_goes_to_its_preferred_node_and_moves_to_one_that_joins(
    links: tuple[NatsLink, NatsLink], bucket: str
) -> None:
    members = _Members("a", "b")
    a = LeasedMappings(KvLeases(links[0], "a", bucket=bucket), members)  # type: ignore[arg-type]
    c = LeasedMappings(KvLeases(links[1], "c", bucket=bucket), members)  # type: ignore[arg-type]
    mapping = next(
        m
        for m in (str(uuid.UUID(int=i)) for i in range(200))
        if preferred(m, ["a", "b"]) == "a" and preferred(m, ["a", "b", "c"]) == "c"
    )
    assert _run(a.claim(mapping)) is True and a.holds(mapping)
    members.nodes = ["a", "b", "c"]  # c joins, and wins this mapping
    assert c.decides(mapping) and not a.decides(mapping)
    assert _run(c.claim(mapping)) is False  # a's lease has not run out, nor been released
    assert _run(a.claim(mapping)) is False  # a hands it over: its supervisor stops, releases
    _run(a.release(mapping))
    assert _run(c.claim(mapping)) is True and c.holds(mapping) and not a.holds(mapping)
