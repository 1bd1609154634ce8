"""The host probe, and the isolation level it leads to."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

from hearth.sandbox.capabilities import (
    NAMESPACE_FLAGS,
    NAMESPACES_AND_CGROUPS,
    NAMESPACES_ONLY,
    PROCESSES,
    HostCapabilities,
    isolation_level,
    isolation_reasons,
    probe,
)

FULL = HostCapabilities(
    os_name="linux",
    is_root=True,
    unprivileged_userns_clone=None,
    max_user_namespaces=1000,
    user_namespaces=True,
    namespaces=frozenset(NAMESPACE_FLAGS),
    cgroup_v1=(("cpu", "/sys/fs/cgroup/cpu"), ("memory", "/sys/fs/cgroup/memory")),
    cgroup_v2_mount="/sys/fs/cgroup/unified",
    cgroup_v2_controllers=frozenset({"pids"}),
    cgroups_writable=True,
    no_new_privs=True,
    seccomp=True,
)


def test_probe_returns_consistent_types() -> None:
    caps = probe()
    assert isinstance(caps.is_root, bool)
    assert isinstance(caps.user_namespaces, bool)
    assert caps.namespaces <= frozenset(NAMESPACE_FLAGS)
    assert all(isinstance(c, str) and m.startswith("/") for c, m in caps.cgroup_v1)
    assert caps.cgroup_v2_mount is None or caps.cgroup_v2_mount.startswith("/")
    assert set(caps.cgroup_versions) <= {1, 2}
    assert isolation_level(caps) in (NAMESPACES_AND_CGROUPS, NAMESPACES_ONLY, PROCESSES)
    assert (isolation_level(caps) == NAMESPACES_AND_CGROUPS) == (not isolation_reasons(caps))
    if sys.platform.startswith("linux"):
        assert caps.os_name == "linux"
        assert caps.cgroup_versions, "every Linux this runs on mounts some cgroup"
    hash(caps)  # frozen and hashable: safe to share


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux namespaces")
def test_probe_leaves_this_process_alone() -> None:
    """Every attempt happens in a forked child: this process keeps its own namespaces."""
    kinds = ("pid", "mnt", "ipc", "uts", "net", "user")
    before = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in kinds}
    probe()
    assert {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in kinds} == before


def test_controller_prefers_v1_then_v2() -> None:
    assert FULL.controller("memory") == "v1:/sys/fs/cgroup/memory"
    assert FULL.controller("pids") == "v2:/sys/fs/cgroup/unified"
    assert FULL.controller("hugetlb") is None


@pytest.mark.parametrize(
    ("changes", "level", "reason"),
    [
        ({}, NAMESPACES_AND_CGROUPS, None),
        ({"os_name": "darwin"}, PROCESSES, "darwin is not Linux"),
        (
            {"is_root": False, "user_namespaces": False, "namespaces": frozenset()},
            PROCESSES,
            "not root and no user namespaces",
        ),
        ({"is_root": False}, NAMESPACES_AND_CGROUPS, None),  # user namespaces are enough
        ({"namespaces": frozenset({"net", "uts"})}, PROCESSES, "cannot create ipc, mount, pid"),
        ({"namespaces": frozenset({"pid", "mount", "ipc", "uts"})}, NAMESPACES_AND_CGROUPS, None),
        ({"cgroup_v1": (("cpu", "/c"),)}, NAMESPACES_ONLY, "no cgroup memory controller"),
        (
            {"cgroup_v1": (), "cgroup_v2_mount": None, "cgroup_v2_controllers": frozenset()},
            NAMESPACES_ONLY,
            "no cgroup cpu controller",
        ),
        (
            {
                "cgroup_v1": (),
                "cgroup_v2_controllers": frozenset({"cpu", "memory", "pids"}),
            },
            NAMESPACES_AND_CGROUPS,
            None,
        ),
        ({"cgroups_writable": False}, NAMESPACES_ONLY, "cgroups are not writable"),
    ],
)
def test_isolation_level(changes: dict[str, object], level: str, reason: str | None) -> None:
    caps = dataclasses.replace(FULL, **changes)  # type: ignore[arg-type]
    assert isolation_level(caps) == level
    reasons = isolation_reasons(caps)
    if reason is None:
        assert reasons == []
    else:
        assert any(reason in r for r in reasons), reasons
