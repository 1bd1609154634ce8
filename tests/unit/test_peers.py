"""Finding the uid behind a loopback TCP connection (/proc/net/tcp)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hearth.sandbox.peers import tcp_socket_uid

TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:C350 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 1
   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 990004        0 2 1
"""


def test_the_owner_of_a_listed_socket(tmp_path: Path) -> None:
    table = tmp_path / "tcp"
    table.write_text(TABLE)
    if socket.htonl(1) == 1:  # big-endian machines print the address the other way round
        table.write_text(TABLE.replace("0100007F", "7F000001"))
    assert tcp_socket_uid("127.0.0.1", 50000, table) == 990004
    assert tcp_socket_uid("127.0.0.1", 8080, table) is None  # listening, not connected
    assert tcp_socket_uid("127.0.0.1", 1, table) is None
    assert tcp_socket_uid("127.0.0.1", 1, tmp_path / "missing") is None


def test_a_real_connection_is_found_with_our_uid() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        with client:
            assert tcp_socket_uid(*client.getsockname()) == os.getuid()
