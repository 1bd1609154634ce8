"""Which isolation `hearth serve` runs with: the sandbox where the host allows it, else plain
processes, and the line that says so at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from hearth.sandbox.capabilities import (
    REQUIRED_CONTROLLERS,
    REQUIRED_NAMESPACES,
    HostCapabilities,
    isolation_reasons,
)
from hearth.sandbox.cgroups import CgroupLayout, Cgroups
from hearth.sandbox.isolation import Isolation


class SandboxUnavailable(Exception):
    """`--isolation sandbox` was asked for on a host that cannot do it."""


@dataclass(frozen=True)
class IsolationChoice:
    """The isolation `hearth serve` runs with, and the line that says so at start-up."""

    sandboxed: bool
    cgroups: CgroupLayout | None
    description: str


def try_cgroups(layout: CgroupLayout) -> str | None:
    """Create, limit and remove a throwaway cgroup: None if that works, else why not (a
    writable hierarchy can still refuse, say a v2 tree whose controllers are not enabled)."""
    try:
        cgroups = Cgroups(layout, owner_pid=os.getpid())
        try:
            cgroups.create("probe", 128).remove()
        finally:
            cgroups.close()
    except OSError as exc:
        return f"cannot set limits: {exc}"
    return None


def choose_isolation(
    requested: Isolation,
    caps: HostCapabilities,
    trial: Callable[[CgroupLayout], str | None] = try_cgroups,
) -> IsolationChoice:
    """Sandbox when asked or (auto) when the host allows it; otherwise plain processes.

    The sandbox needs Linux, root (mounts, cgroups, a uid per environment) and the pid,
    mount, ipc and uts namespaces; cgroup limits are added when the controllers are there.
    """
    blockers = []
    if caps.os_name != "linux":
        blockers.append(f"{caps.os_name} is not Linux")
    elif not caps.is_root:
        blockers.append("Hearth is not running as root (the sandbox mounts and changes uid)")
    else:
        missing = sorted(REQUIRED_NAMESPACES - caps.namespaces)
        if missing:
            blockers.append(f"cannot create {', '.join(missing)} namespaces")
    if requested is Isolation.PROCESS or blockers:
        if requested is Isolation.SANDBOX:
            raise SandboxUnavailable("; ".join(blockers))
        why = "; ".join(blockers) if blockers else "--isolation process"
        return IsolationChoice(
            sandboxed=False,
            cgroups=None,
            description=(
                "processes+rlimits: NOT ISOLATED. Functions run as plain processes that can "
                f"see each other and the host ({why})"
            ),
        )
    layout = CgroupLayout.from_capabilities(caps)
    refused = trial(layout) if layout is not None else None
    if refused is not None:
        layout = None
    if layout is not None:
        versions = sorted({1 if name in layout.v1 else 2 for name in REQUIRED_CONTROLLERS})
        limits = "cgroup " + "+".join(f"v{v}" for v in versions) + " memory/pids/cpu limits"
    else:
        why = refused or "; ".join(isolation_reasons(caps))
        limits = f"NO cgroup limits ({why})"
    return IsolationChoice(
        sandboxed=True,
        cgroups=layout,
        description=(
            f"sandbox: pid/mount/ipc/uts namespaces, read-only /var/task and /opt, private /tmp, "
            f"a uid per environment, no capabilities, {limits}"
        ),
    )
