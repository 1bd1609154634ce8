"""Request/reply between nodes on a real nats-server (its default 1 MB max_payload): bodies
far larger than that both ways, nobody listening, a node that never answers, and the
chunking's pure parts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.members import Membership
from hearth.cluster.rpc import MAX_PARTS, PART, NodeLost, Rpc, part_of, split


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rpc, Rpc]]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    links = [NatsLink((server.url,), f"rpc-{n}") for n in "ab"]
    members = [Membership(link, f"node-{n}") for link, n in zip(links, "ab", strict=True)]
    rpcs = (Rpc(links[0], members[0]), Rpc(links[1], members[1]))
    yield rpcs
    for rpc, member, link in zip(rpcs, members, links, strict=True):
        rpc.close()
        member.close()
        link.close()
    server.stop()


def test_bodies_of_six_mb_go_both_ways_in_parts(nodes: tuple[Rpc, Rpc]) -> None:
    a, b = nodes

    async def echo(head: bytes, body: bytes) -> tuple[bytes, bytes]:
        return head + b"!", body[::-1]

    b.serve("echo", echo)
    body = bytes(range(256)) * (6 * 1024 * 4)  # 6 MB, every byte value
    reply = asyncio.run(a.call("node-b", "echo", (b'{"h": 1}', body), timeout=10))
    assert reply == (b'{"h": 1}!', body[::-1])
    assert asyncio.run(a.call("node-b", "echo", (b"{}", b""), timeout=10)) == (b"{}!", b"")


def test_nobody_listening_is_none_at_once(nodes: tuple[Rpc, Rpc]) -> None:
    a, _ = nodes
    assert asyncio.run(a.call("node-b", "nothing-here", (b"{}", b"x"), timeout=10)) is None
    assert asyncio.run(a.call("node-gone", "echo", (b"{}", b"x"), timeout=10)) is None


def test_a_node_that_never_answers_is_lost_at_the_timeout(nodes: tuple[Rpc, Rpc]) -> None:
    a, b = nodes

    async def never(head: bytes, body: bytes) -> tuple[bytes, bytes]:
        await asyncio.sleep(3600)
        raise AssertionError

    b.serve("never", never)
    with pytest.raises(NodeLost) as lost:
        asyncio.run(a.call("node-b", "never", (b"{}", b""), timeout=0.5))
    assert lost.value.node == "node-b" and "did not answer within 0.5 s" in str(lost.value)


def test_gather_asks_every_other_node(nodes: tuple[Rpc, Rpc]) -> None:
    a, b = nodes

    async def name(head: bytes, body: bytes) -> tuple[bytes, bytes]:
        return b"{}", b.node.encode()

    b.serve("name", name)
    assert a.others() == ["node-b"]
    assert a.gather_now("name", (b"{}", b""), timeout=5) == [(b"{}", b"node-b")]


def test_split_and_part_headers() -> None:
    assert split((b"h", b"abcde"), 2) == [b"h", b"ab", b"cd", b"e"]
    assert split((b"h", b""), 2) == [b"h"]

    def msg(value: str | None) -> SimpleNamespace:
        return SimpleNamespace(headers=None if value is None else {PART: value})

    assert part_of(msg("0/1")) == (0, 1)  # type: ignore[arg-type]
    assert part_of(msg(f"3/{MAX_PARTS}")) == (3, MAX_PARTS)  # type: ignore[arg-type]
    for hostile in (None, "", "1/1", "-1/2", "a/b", f"0/{MAX_PARTS + 1}", "0/0", "1"):
        assert part_of(msg(hostile)) is None  # type: ignore[arg-type]
