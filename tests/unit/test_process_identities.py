"""Plain-process environments are told apart by the sockets their process trees hold."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from hearth.invoke.identities import FunctionIdentity
from hearth.invoke.process_identities import ProcessIdentities

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
FUNCTION = FunctionIdentity("f", "arn:aws:iam::123456789012:role/r")


def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def test_a_socket_held_in_an_environments_tree_is_its_functions() -> None:
    identities = ProcessIdentities()
    # A grandchild holds the socket: found through the tree, not only the root process.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code = (
            f"import socket, sys; s = socket.create_connection(('127.0.0.1', {port}));"
            "print(s.getsockname()[1], flush=True); sys.stdin.read()"
        )
        shell = subprocess.Popen(
            ["/bin/sh", "-c", f'"{sys.executable}" -c "{code}"; :'],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert shell.stdout is not None
            shell.stdout.readline()
            accepted, _ = listener.accept()
            with accepted:
                their_inode = _client_inode(shell.pid)
                assert identities.owner_of(their_inode) is None  # not bound yet
                identities.bind(shell.pid, FUNCTION)
                assert identities.owner_of(their_inode) == FUNCTION
                assert identities.owner_of(_inode(accepted)) is None  # ours: not the tree's
                assert identities.owner_of(0) is None
                identities.unbind(shell.pid)
                assert identities.owner_of(their_inode) is None
        finally:
            assert shell.stdin is not None and shell.stdout is not None
            shell.stdin.close()
            shell.wait(5)
            shell.stdout.close()


def _client_inode(root: int) -> int:
    """The one TCP socket somewhere under `root` (the test's client)."""
    pending = [root]
    while pending:
        pid = pending.pop()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                return int(target[len("socket:[") : -1])
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as children:
                pending.extend(int(c) for c in children.read().split())
    raise AssertionError("no socket in the tree")
