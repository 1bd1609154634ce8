"""The cluster's code store on a real nats-server: code one node stores, another prefetches
(when a commit names it) and then holds as its own."""

from __future__ import annotations

import time
from pathlib import Path

from hearth.cluster.code import ClusterCodeStore
from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from tests.integration.conftest import make_zip


def test_code_stored_on_one_node_is_prefetched_by_another(tmp_path: Path) -> None:
    server = LocalNats(tmp_path / "nats").start()
    links = [NatsLink((server.url,), f"code-{n}") for n in range(2)]
    try:
        first = ClusterCodeStore(tmp_path / "a", links[0])
        second = ClusterCodeStore(tmp_path / "b", links[1])
        digest = first.put(make_zip()).sha256_hex
        assert not second.has(digest)
        second.prefetch({digest, "not-a-digest", "0" * 64})  # the unknown ones are skipped
        deadline = time.monotonic() + 10
        while not second.has(digest):
            assert time.monotonic() < deadline, "never prefetched"
            time.sleep(0.02)
    finally:
        for link in links:
            link.close()
        server.stop()
