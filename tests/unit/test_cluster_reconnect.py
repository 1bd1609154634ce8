"""A node's link and replica across a NATS restart (a real nats-server, stopped and started on
its store): calls fail at once while it is down, nothing sent meanwhile lands later, and the
replica follows the other node's commits again as soon as the link is back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth.arns import FunctionRef
from hearth.cluster.forward import InvokeForwarding
from hearth.cluster.link import NatsLink, NatsUnavailable
from hearth.cluster.local import LocalNats
from hearth.cluster.members import Membership
from hearth.cluster.registry import KvRegistry
from hearth.cluster.rpc import Rpc
from hearth.errors import LambdaError
from tests.unit.test_cluster_forward import THROTTLE, ScriptedNodes
from tests.unit.test_registry_contract import function_record


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalNats]:
    running = LocalNats(tmp_path / "nats").start()
    yield running
    running.stop()


def _until(check: object, timeout: float) -> float:
    """Seconds until `check()` is true; fails after `timeout`."""
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "not within the time allowed"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_restart_fails_calls_at_once_and_the_replica_follows_again(server: LocalNats) -> None:
    links = [NatsLink((server.url,), name) for name in ("a", "b")]
    try:
        namespace = f"t{uuid.uuid4().hex[:12]}"
        a, b = (
            KvRegistry(link, name, namespace=namespace)
            for link, name in zip(links, "ab", strict=True)
        )
        with a.transaction() as tx:
            tx.put_function(function_record("before"))
        _until(lambda: "before" in b._replica.state.functions, 5)

        server.stop()
        _until(lambda: not links[0].connected, 5)
        started = time.monotonic()
        with pytest.raises(NatsUnavailable) as raised, a.transaction() as tx:
            tx.put_function(function_record("during"))
        assert time.monotonic() - started < 1  # no waiting for a NATS that is not there
        assert raised.value.status == 503 and raised.value.code == "ServiceException"
        assert "cannot reach NATS" in raised.value.message

        server.start()  # the same port and store
        _until(lambda: all(link.connected for link in links), 10)
        with a.transaction() as tx:
            assert tx.get_function("before") is not None  # the store kept it
            assert tx.get_function("during") is None  # the refused write never landed
            tx.put_function(function_record("after"))
        # The other node's replica follows at once, not after its watch's heartbeats lapse.
        assert _until(lambda: "after" in b._replica.state.functions, 3) < 3
        with b.transaction() as tx:
            assert tx.get_function("after") is not None
            tx.put_function(function_record("from b"))
        _until(lambda: "from b" in a._replica.state.functions, 3)
    finally:
        for link in links:
            link.close()


def test_members_see_each_other_again_after_a_restart(server: LocalNats) -> None:
    links = [NatsLink((server.url,), name) for name in ("a", "b")]
    namespace = f"m{uuid.uuid4().hex[:12]}"
    members = [
        Membership(link, name, namespace=namespace) for link, name in zip(links, "ab", strict=True)
    ]
    try:
        _until(lambda: len(members[0].alive()) == 2, 5)
        server.stop()
        server.start()
        _until(lambda: all(link.connected for link in links), 10)
        time.sleep(2.5)
        # Each hears the other's heartbeats again (a second apart), not the stale records of
        # a watch whose consumer is gone.
        for member in members:
            seen = member.alive()
            assert [r["node"] for r in seen] == ["a", "b"]
            assert all(r["last_seen_seconds"] < 2 for r in seen), seen
    finally:
        for member in members:
            member.close()
        for link in links:
            link.close()


def test_a_lease_lost_with_the_link_does_not_hold_up_the_next_write(server: LocalNats) -> None:
    links = [NatsLink((server.url,), name) for name in ("a", "b")]
    try:
        namespace = f"t{uuid.uuid4().hex[:12]}"
        a, b = (
            KvRegistry(link, name, namespace=namespace)
            for link, name in zip(links, "ab", strict=True)
        )
        # NATS goes while a holds the registry's lease: neither its commit nor its release
        # reaches NATS, and the lease (10 s) outlives the restart.
        with pytest.raises(NatsUnavailable), a.transaction() as tx:
            tx.put_function(function_record("cut short"))
            server.stop()
            _until(lambda: not links[0].connected, 5)
        server.start()
        _until(lambda: all(link.connected for link in links), 10)
        started = time.monotonic()
        with b.transaction() as tx:
            assert tx.get_function("cut short") is None
            tx.put_function(function_record("next"))
        assert time.monotonic() - started < 5  # a deleted its lost lease on reconnecting
    finally:
        for link in links:
            link.close()


class _LinkDown(ScriptedNodes):
    """Every node's call fails as the link does: refused up front, or dropped mid-call."""

    async def call(self, node: str, topic: str, message: Any, timeout: float) -> Any:
        self.asked.append(node)
        raise NatsUnavailable("down", may_have_taken_effect=self.script[node])


@pytest.mark.parametrize("mid_call", [False, True])
def test_a_call_the_node_would_throttle_with_the_link_down(mid_call: bool) -> None:
    nodes = _LinkDown({"a": mid_call})
    forwarding = InvokeForwarding(nodes, None, None)  # type: ignore[arg-type]
    with pytest.raises(LambdaError) as raised:
        asyncio.run(
            forwarding.invoke(
                FunctionRef("f"),
                b"{}",
                client_context=None,
                request_id=None,
                trace_header=None,
                timeout_seconds=3,
                throttle=THROTTLE,
            )
        )
    if mid_call:  # it may have run elsewhere: said so, not a throttle
        assert raised.value.status == 503 and raised.value.code == "ServiceException"
    else:  # it went nowhere: this node's own throttle, as when no node has room
        assert raised.value is THROTTLE


def test_a_read_of_every_nodes_part_answers_with_its_own_while_nats_is_down(
    server: LocalNats,
) -> None:
    links = [NatsLink((server.url,), f"rpc-{n}") for n in "ab"]
    members = [Membership(link, f"node-{n}") for link, n in zip(links, "ab", strict=True)]
    rpcs = [Rpc(link, member) for link, member in zip(links, members, strict=True)]
    try:

        async def name(head: bytes, body: bytes) -> tuple[bytes, bytes]:
            return b"{}", b"node-b"

        rpcs[1].serve("name", name)
        _until(lambda: rpcs[0].others() == ["node-b"], 5)
        assert rpcs[0].gather_now("name", (b"{}", b""), timeout=5) == [(b"{}", b"node-b")]
        server.stop()
        _until(lambda: not links[0].connected, 5)
        started = time.monotonic()
        assert rpcs[0].gather_now("name", (b"{}", b""), timeout=5) == []  # the Logs API's own
        assert time.monotonic() - started < 1
    finally:
        for rpc, member, link in zip(rpcs, members, links, strict=True):
            rpc.close()
            member.close()
            link.close()
