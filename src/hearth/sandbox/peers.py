"""Who is on the other end of a loopback TCP connection: the uid that owns the socket.

Sandboxed environments share the host's network by default, so any of them could reach
another environment's Runtime API listener on 127.0.0.1 and take its events. Unix sockets
carry the peer's credentials; TCP does not, but the kernel lists every socket with its
owner's uid in /proc/net/tcp, and each environment runs as a uid of its own.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

PROC_NET_TCP = Path("/proc/net/tcp")


ESTABLISHED = "01"


def tcp_socket_uid(host: str, port: int, table: Path = PROC_NET_TCP) -> int | None:
    """The uid owning the established IPv4 TCP socket whose local address is (host, port).

    Only established sockets count: an earlier connection from the same port may linger in
    TIME_WAIT, listed with uid 0."""
    try:
        packed = socket.inet_aton(host)
        text = table.read_text()
    except OSError:
        return None
    # The kernel prints the address as the native-endian value of the network-order bytes.
    wanted = f"{struct.unpack('=I', packed)[0]:08X}:{port:04X}"
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[1] == wanted and fields[3] == ESTABLISHED:
            return int(fields[7])
    return None
