"""Two nodes' KvRegistry on one nats-server: commits are atomic and serialized across
nodes, and each node's replica follows the other's commits."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.registry import KvRegistry
from tests.unit.test_registry_contract import (
    Boom,
    function_record,
    function_version,
    increment_counter,
    run_threads,
)


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NatsLink, NatsLink]]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    pair = (NatsLink((server.url,), "a"), NatsLink((server.url,), "b"))
    yield pair
    for link in pair:
        link.close()
    server.stop()


@pytest.fixture
def nodes(links: tuple[NatsLink, NatsLink]) -> tuple[KvRegistry, KvRegistry]:
    namespace = f"t{uuid.uuid4().hex[:12]}"
    return KvRegistry(links[0], "a", namespace=namespace), KvRegistry(
        links[1], "b", namespace=namespace
    )


def test_increments_on_two_nodes_at_once_lose_nothing(
    nodes: tuple[KvRegistry, KvRegistry],
) -> None:
    a, b = nodes
    with a.transaction() as tx:
        tx.put_function(function_record("counter"))
    run_threads(4, lambda: increment_counter(a, 3))  # racing the thread below, on node b
    other = threading.Thread(target=increment_counter, args=(b, 12))
    other.start()
    other.join()
    with b.transaction() as tx:
        counter = tx.get_function("counter")
        assert counter is not None and counter.last_version_number == 24


def test_a_commit_reaches_the_other_nodes_replica_and_listener(
    nodes: tuple[KvRegistry, KvRegistry],
) -> None:
    a, b = nodes
    heard = threading.Event()
    b.set_listener(heard.set)
    started = time.monotonic()
    with a.transaction() as tx:
        tx.put_function(function_record("f"))
        tx.put_version(function_version("f"))
    assert heard.wait(5)
    with b.local().transaction() as reads:
        # Both records of the commit, never one without the other.
        assert reads.get_function("f") is not None
        assert reads.get_version("f", "$LATEST") is not None
    assert time.monotonic() - started < 2


def test_a_block_that_raises_commits_nothing_anywhere(
    nodes: tuple[KvRegistry, KvRegistry],
) -> None:
    a, b = nodes
    with pytest.raises(Boom), a.transaction() as tx:
        tx.put_function(function_record("never"))
        raise Boom
    with b.transaction() as tx:  # caught up with every commit first
        assert tx.get_function("never") is None
