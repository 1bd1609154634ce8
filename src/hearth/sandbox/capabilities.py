"""What this host lets Hearth do to isolate an execution environment.

`probe()` looks, it changes nothing: each namespace and prctl is tried in a short-lived forked
child, so the server itself never enters a namespace or gives up a privilege. `isolation_level`
turns the answer into the level Hearth would use, with the reasons in plain words.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# From <linux/sched.h>; os.unshare only exists from Python 3.12.
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = {
    "pid": CLONE_NEWPID,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "net": CLONE_NEWNET,
}
# The namespaces the sandbox cannot do without (net is only used when a function asks for none).
REQUIRED_NAMESPACES = frozenset({"pid", "mount", "ipc", "uts"})
# The cgroup controllers the sandbox limits with: MemorySize, a pids limit, CPU share.
REQUIRED_CONTROLLERS = ("memory", "pids", "cpu")
PR_SET_NO_NEW_PRIVS = 38

NAMESPACES_AND_CGROUPS = "namespaces+cgroups"
NAMESPACES_ONLY = "namespaces"
PROCESSES = "processes+rlimits"


@dataclass(frozen=True)
class HostCapabilities:
    os_name: str
    is_root: bool
    # None: the sysctl does not exist on this kernel (then it does not restrict anything).
    unprivileged_userns_clone: int | None
    max_user_namespaces: int | None
    user_namespaces: bool
    namespaces: frozenset[str]  # the kinds a child could create (see NAMESPACE_FLAGS)
    cgroup_v1: tuple[tuple[str, str], ...]  # (controller, mount point), sorted
    cgroup_v2_mount: str | None
    cgroup_v2_controllers: frozenset[str]
    cgroups_writable: bool
    no_new_privs: bool
    seccomp: bool

    @property
    def cgroup_versions(self) -> tuple[int, ...]:
        return tuple(
            v for v, on in ((1, bool(self.cgroup_v1)), (2, bool(self.cgroup_v2_mount))) if on
        )

    def controller(self, name: str) -> str | None:
        """Where `name` is usable: "v1:<mount>" or "v2:<mount>", v1 first as the kernel does
        (a controller bound to a v1 hierarchy cannot be enabled in v2 at the same time)."""
        for controller, mount in self.cgroup_v1:
            if controller == name:
                return f"v1:{mount}"
        if self.cgroup_v2_mount and name in self.cgroup_v2_controllers:
            return f"v2:{self.cgroup_v2_mount}"
        return None


def probe() -> HostCapabilities:
    linux = sys.platform.startswith("linux")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not linux:
        return HostCapabilities(
            os_name=sys.platform,
            is_root=is_root,
            unprivileged_userns_clone=None,
            max_user_namespaces=None,
            user_namespaces=False,
            namespaces=frozenset(),
            cgroup_v1=(),
            cgroup_v2_mount=None,
            cgroup_v2_controllers=frozenset(),
            cgroups_writable=False,
            no_new_privs=False,
            seccomp=False,
        )
    user_namespaces = _in_child(functools.partial(_unshare, CLONE_NEWUSER))
    # Without root, the other namespaces can only be created inside a new user namespace.
    extra = 0 if is_root or not user_namespaces else CLONE_NEWUSER
    namespaces = frozenset(
        kind
        for kind, flag in NAMESPACE_FLAGS.items()
        if _in_child(functools.partial(_unshare, flag | extra))
    )
    known = _known_controllers(Path("/proc/cgroups"))
    v1, v2_mount = _cgroup_mounts(Path("/proc/self/mountinfo"), known)
    v2_controllers: frozenset[str] = frozenset()
    if v2_mount:
        v2_controllers = frozenset(_read(Path(v2_mount) / "cgroup.controllers").split())
    mounts = [m for _, m in v1] + ([v2_mount] if v2_mount else [])
    return HostCapabilities(
        os_name="linux",
        is_root=is_root,
        unprivileged_userns_clone=_read_int(Path("/proc/sys/kernel/unprivileged_userns_clone")),
        max_user_namespaces=_read_int(Path("/proc/sys/user/max_user_namespaces")),
        user_namespaces=user_namespaces,
        namespaces=namespaces,
        cgroup_v1=tuple(sorted(v1)),
        cgroup_v2_mount=v2_mount,
        cgroup_v2_controllers=v2_controllers,
        cgroups_writable=bool(mounts) and all(os.access(m, os.W_OK) for m in mounts),
        no_new_privs=_in_child(_set_no_new_privs),
        seccomp=any(
            line.startswith("Seccomp:") for line in _read(Path("/proc/self/status")).splitlines()
        ),
    )


def isolation_level(caps: HostCapabilities) -> str:
    """The level Hearth would use here (see `isolation_reasons` for why it is not higher)."""
    return _assess(caps)[0]


def isolation_reasons(caps: HostCapabilities) -> list[str]:
    """In plain words, why the level is not namespaces+cgroups (empty when it is)."""
    return _assess(caps)[1]


def _assess(caps: HostCapabilities) -> tuple[str, list[str]]:
    reasons: list[str] = []
    if caps.os_name != "linux":
        return PROCESSES, [f"{caps.os_name} is not Linux"]
    if not caps.is_root and not caps.user_namespaces:
        reasons.append("not root and no user namespaces")
    missing = sorted(REQUIRED_NAMESPACES - caps.namespaces)
    if missing and not reasons:
        reasons.append(f"cannot create {', '.join(missing)} namespaces")
    if reasons:
        return PROCESSES, reasons
    cgroup_reasons = [
        f"no cgroup {name} controller"
        for name in REQUIRED_CONTROLLERS
        if caps.controller(name) is None
    ]
    if not cgroup_reasons and not caps.cgroups_writable:
        cgroup_reasons.append("cgroups are not writable by this user")
    if cgroup_reasons:
        return NAMESPACES_ONLY, cgroup_reasons
    return NAMESPACES_AND_CGROUPS, []


# helpers ------------------------------------------------------------------------------


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _set_no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _in_child(attempt: Callable[[], None]) -> bool:
    """Run `attempt` in a forked child that exits at once; True if it raised nothing.

    Forked, so whatever it changes (namespaces, prctl flags) dies with the child.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            attempt()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _known_controllers(proc_cgroups: Path) -> frozenset[str]:
    """The controllers this kernel has (first column of /proc/cgroups)."""
    return frozenset(
        line.split()[0]
        for line in _read(proc_cgroups).splitlines()
        if line.strip() and not line.startswith("#")
    )


def _cgroup_mounts(
    mountinfo: Path, known: frozenset[str]
) -> tuple[list[tuple[str, str]], str | None]:
    """v1 (controller, mount point) pairs and the v2 mount point, from mountinfo."""
    v1: list[tuple[str, str]] = []
    v2: str | None = None
    for line in _read(mountinfo).splitlines():
        before, sep, after = line.partition(" - ")
        if not sep:
            continue
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point, fstype, options = fields[4], tail[0], tail[2]
        if fstype == "cgroup2" and v2 is None:
            v2 = mount_point
        elif fstype == "cgroup":
            for option in options.split(","):
                # Mount flags (rw, xattr) and named hierarchies (name=systemd) are not.
                if option in known:
                    v1.append((option, mount_point))
    return v1, v2


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
