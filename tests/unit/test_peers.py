"""Finding the uid behind a loopback TCP connection (NETLINK_SOCK_DIAG)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from hearth.sandbox.peers import tcp_peer_uid

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="sock_diag is Linux's")


def test_a_real_connection_is_found_with_its_owners_uid() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        with client:
            accepted, peer = server.accept()
            with accepted:
                assert tcp_peer_uid(peer, server.getsockname()) == os.getuid()


@pytest.mark.skipif(os.geteuid() != 0, reason="a connection of another uid needs root")
def test_another_uids_connection_reports_that_uid() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(10)
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                # a socket belongs to the uid that made it; connect() by number, as after setuid
                # the idna codec cannot be imported
                "import os, socket, time; os.setuid(54321); s = socket.socket(); "
                f"s.connect(('127.0.0.1', {port})); time.sleep(5)",
            ]
        )
        try:
            accepted, peer = server.accept()
            with accepted:
                assert tcp_peer_uid(peer, server.getsockname()) == 54321
        finally:
            child.kill()
            child.wait()


def test_no_such_connection_and_not_ipv4() -> None:
    assert tcp_peer_uid(("127.0.0.1", 1), ("127.0.0.1", 2)) is None
    assert tcp_peer_uid(("::1", 1), ("::1", 2)) is None


def test_a_lookup_costs_well_under_a_millisecond() -> None:
    """The old /proc/net/tcp scan cost 11 ms with 2,500 sockets, on the event loop."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        with client:
            accepted, peer = server.accept()
            with accepted:
                started = time.perf_counter()
                for _ in range(200):
                    tcp_peer_uid(peer, server.getsockname())
                each_ms = (time.perf_counter() - started) * 1000 / 200
    assert each_ms < 1.0, each_ms
