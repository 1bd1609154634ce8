"""Who is on the other end of a loopback TCP connection: the uid that owns the socket.

Sandboxed environments share the host's network by default, so any of them could reach
another environment's Runtime API listener on 127.0.0.1 and take its events. Unix sockets
carry the peer's credentials; TCP does not, but the kernel knows each socket's owner, and
each environment runs as a uid of its own.

The kernel is asked about the one socket (NETLINK_SOCK_DIAG, an exact lookup by its four
addresses, tens of microseconds), not by reading /proc/net/tcp: that lists every socket on
the host, took 11 ms with 2,500 of them, and ran on the server's event loop for every
connection, so a runtime churning connections slowed every other function.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_NLMSGHDR = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad, states; then inet_diag_sockid.
_REQUEST = struct.Struct("=BBBxI")
_PORTS = struct.Struct("!HH")
_TAIL = struct.Struct("=III")  # interface, cookie (INET_DIAG_NOCOOKIE: any)
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF
# In inet_diag_msg: family, state, timer, retrans (4), the sockid (48), expires, rqueue,
# wqueue (12), then uid.
_UID_OFFSET = _NLMSGHDR.size + 4 + 48 + 12
_UID = struct.Struct("=II")  # uid, inode
_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class TcpPeer:
    """The socket at the other end. `uid` is only meaningful when `owned`: a socket its
    process closed already (orphaned, or a TIME_WAIT / FIN_WAIT2 mini-socket) has no inode,
    and the kernel reports uid 0 for the latter, which is not who sent what it wrote.
    `inode` names the socket among its holder's fds (`socket:[inode]`), 0 when not owned."""

    uid: int
    owned: bool
    inode: int = 0


def tcp_peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the TCP socket at `peer` connected to `local`, or None when the
    kernel knows no such socket (it closed already) or cannot be asked."""
    found = tcp_peer(peer, local)
    return found.uid if found is not None and found.owned else None


def is_local_address(host: str) -> bool:
    """Loopback: a peer whose socket, if it is on this host, the kernel can be asked about."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def tcp_peer(peer: tuple[str, int], local: tuple[str, int]) -> TcpPeer | None:
    """The TCP socket at `peer` connected to `local` (IPv4 or IPv6), or None when the kernel
    knows no such socket or cannot be asked."""
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET
    try:
        source = _packed(family, peer[0])
        dest = _packed(family, local[0])
    except OSError:
        return None
    body = (
        _REQUEST.pack(family, socket.IPPROTO_TCP, 0, _ALL_STATES)
        + _PORTS.pack(peer[1], local[1])
        + source
        + dest
        + _TAIL.pack(0, _NO_COOKIE, _NO_COOKIE)
    )
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as diag:
            diag.settimeout(_TIMEOUT_SECONDS)
            diag.send(header + body)
            answer = diag.recv(8192)
    except (OSError, AttributeError):  # AttributeError: no AF_NETLINK (not Linux)
        return None
    if len(answer) < _UID_OFFSET + _UID.size:
        return None
    _, kind, _, _, _ = _NLMSGHDR.unpack_from(answer)
    if kind != SOCK_DIAG_BY_FAMILY:
        return None  # NLMSG_ERROR: no such socket
    uid, inode = _UID.unpack_from(answer, _UID_OFFSET)
    return TcpPeer(int(uid), owned=inode != 0, inode=int(inode))


def _packed(family: int, host: str) -> bytes:
    if family == socket.AF_INET:
        return socket.inet_aton(host).ljust(16, b"\0")
    return socket.inet_pton(socket.AF_INET6, host)
