"""cgroup limits for execution environments: memory, processes and CPU, on v1 and v2.

Each environment gets one cgroup per controller (v1) or one cgroup (v2) under a directory of
this server's own (``hearth-<pid>``), created before the environment's process exists and
joined by the process itself (``cgroup.procs``) before it unshares its namespaces, so
everything the function starts is inside.

Limits, as on AWS:
* memory: MemorySize, with no swap; exceeding it gets the environment OOM-killed, which
  `EnvironmentCgroup.out_of_memory` then reports;
* processes: 1024 (a fork bomb stops there);
* CPU: in proportion to memory, 1769 MB = one vCPU (cfs quota / ``cpu.max``), plus a
  proportional share (weight) for when the machine is busy. The quota is applied once init
  is over (`limit_cpu`): AWS too lets init run faster than the steady state.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hearth.sandbox.capabilities import REQUIRED_CONTROLLERS, HostCapabilities

MAX_PROCESSES = 1024
MB_PER_VCPU = 1769
CFS_PERIOD_US = 100_000
_REMOVE_ATTEMPTS = 50


@dataclass(frozen=True)
class CgroupLayout:
    """Where each controller lives: its v1 hierarchy's mount, or the v2 mount."""

    v1: dict[str, Path]
    v2: Path | None

    @classmethod
    def from_capabilities(cls, caps: HostCapabilities) -> CgroupLayout | None:
        """The layout for the sandbox's controllers, or None if any of them is missing."""
        v1: dict[str, Path] = {}
        v2: Path | None = None
        for name in REQUIRED_CONTROLLERS:
            where = caps.controller(name)
            if where is None:
                return None
            version, mount = where.split(":", 1)
            if version == "v1":
                v1[name] = Path(mount)
            else:
                v2 = Path(mount)
        if not caps.cgroups_writable:
            return None
        return cls(v1, v2)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _write_if_present(path: Path, value: str) -> None:
    # Optional files (memsw needs swap accounting, memory.peak needs Linux 5.19, ...).
    with contextlib.suppress(FileNotFoundError, PermissionError, OSError):
        _write(path, value)


def _read_counter(path: Path, key: str) -> int:
    """The value of ``key`` in a flat-keyed file such as memory.events; 0 when absent."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    match = re.search(rf"^{re.escape(key)} (\d+)$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class EnvironmentCgroup:
    """The cgroup(s) of one environment. Create with `Cgroups.create`."""

    def __init__(
        self,
        layout: CgroupLayout,
        relative: str,
        memory_mb: int,
        leftovers: list[Path] | None = None,
    ) -> None:
        self._memory_mb = memory_mb
        # Where directories the kernel still holds go, to be removed later (see `remove`).
        self._leftovers = leftovers if leftovers is not None else []
        self._peak_fd = -1
        self.v1_dirs = {name: mount / relative for name, mount in layout.v1.items()}
        self.v2_dir = layout.v2 / relative if layout.v2 is not None else None

    @property
    def directories(self) -> list[Path]:
        dirs = list(dict.fromkeys(self.v1_dirs.values()))
        if self.v2_dir is not None and any(
            name not in self.v1_dirs for name in REQUIRED_CONTROLLERS
        ):
            dirs.append(self.v2_dir)
        return dirs

    @property
    def procs_files(self) -> list[str]:
        """The files the environment's first process writes its pid to.

        On v1, ``tasks`` rather than ``cgroup.procs``: the process is single-threaded, so
        moving its one thread moves it, and a thread move skips the kernel's global
        threadgroup lock, whose RCU grace period made some cold starts 10-15 ms slower."""
        files = [str(directory / "tasks") for directory in self.v1_dirs.values()]
        if self.v2_dir is not None and self.v2_dir in self.directories:
            files.append(str(self.v2_dir / "cgroup.procs"))
        return list(dict.fromkeys(files))

    def _dir(self, controller: str) -> tuple[Path, bool]:
        """(directory, is_v1) for a controller."""
        if controller in self.v1_dirs:
            return self.v1_dirs[controller], True
        assert self.v2_dir is not None
        return self.v2_dir, False

    def apply_limits(self) -> None:
        limit = self._memory_mb * 1024 * 1024
        memory, v1 = self._dir("memory")
        if v1:
            _write(memory / "memory.limit_in_bytes", str(limit))
            _write_if_present(memory / "memory.memsw.limit_in_bytes", str(limit))
            _write_if_present(memory / "memory.swappiness", "0")
        else:
            _write(memory / "memory.max", str(limit))
            _write_if_present(memory / "memory.swap.max", "0")
        pids, _ = self._dir("pids")
        _write(pids / "pids.max", str(MAX_PROCESSES))
        cpu, v1 = self._dir("cpu")
        if v1:
            _write(cpu / "cpu.shares", str(max(2, 1024 * self._memory_mb // MB_PER_VCPU)))
        else:
            _write(
                cpu / "cpu.weight", str(max(1, min(10_000, 100 * self._memory_mb // MB_PER_VCPU)))
            )

    def limit_cpu(self) -> None:
        """Cap CPU at MemorySize / 1769 vCPUs (called when init is over)."""
        quota = max(1000, CFS_PERIOD_US * self._memory_mb // MB_PER_VCPU)
        cpu, v1 = self._dir("cpu")
        with contextlib.suppress(OSError):
            if v1:
                _write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(cpu / "cpu.cfs_quota_us", str(quota))
            else:
                _write(cpu / "cpu.max", f"{quota} {CFS_PERIOD_US}")

    def max_memory_bytes(self) -> int | None:
        """The environment's peak memory use so far (None if the kernel does not say).

        Read on every invoke (for REPORT), so the file stays open: a pread costs a fraction
        of an open, read and close."""
        try:
            if self._peak_fd < 0:
                memory, v1 = self._dir("memory")
                name = "memory.max_usage_in_bytes" if v1 else "memory.peak"
                self._peak_fd = os.open(memory / name, os.O_RDONLY | os.O_CLOEXEC)
            return int(os.pread(self._peak_fd, 64, 0))
        except (OSError, ValueError):
            return None

    def out_of_memory(self) -> bool:
        """Whether the kernel OOM-killed a process of this environment."""
        memory, v1 = self._dir("memory")
        if v1:
            return _read_counter(memory / "memory.oom_control", "oom_kill") > 0
        return _read_counter(memory / "memory.events", "oom_kill") > 0

    def remove(self) -> None:
        """Remove the cgroup(s) once the environment's processes are gone. Never waits: a
        directory the kernel still holds (its last process is still exiting) is left for
        `Cgroups` to remove later."""
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1
        for directory in self.directories:
            if not _remove_dir(directory, attempts=1):
                self._leftovers.append(directory)


def _remove_dir(directory: Path, attempts: int = _REMOVE_ATTEMPTS) -> bool:
    """rmdir, retrying briefly while busy; whether the directory is gone."""
    for attempt in range(attempts):
        try:
            os.rmdir(directory)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if attempt < attempts - 1:
                time.sleep(0.002)
    return False


class Cgroups:
    """Creates environments' cgroups under ``hearth-<server pid>`` in each hierarchy, and
    sweeps what a previous server that died without cleaning up left behind."""

    def __init__(self, layout: CgroupLayout, owner_pid: int | None = None) -> None:
        self._layout = layout
        self._base = f"hearth-{owner_pid or os.getpid()}"
        self._roots = list(dict.fromkeys([*layout.v1.values(), *self._v2_roots()]))
        self._leftovers: list[Path] = []
        self._sweep_stale()
        for root in self._roots:
            (root / self._base).mkdir(exist_ok=True)
        if layout.v2 is not None:
            self._enable_v2_controllers()

    def _v2_roots(self) -> Iterable[Path]:
        return [self._layout.v2] if self._layout.v2 is not None else []

    def _enable_v2_controllers(self) -> None:
        assert self._layout.v2 is not None
        wanted = [n for n in REQUIRED_CONTROLLERS if n not in self._layout.v1]
        control = " ".join(f"+{name}" for name in wanted)
        _write_if_present(self._layout.v2 / "cgroup.subtree_control", control)
        _write_if_present(self._layout.v2 / self._base / "cgroup.subtree_control", control)

    def create(self, environment_id: str, memory_mb: int) -> EnvironmentCgroup:
        # Directories that were still busy when their environment went are free by now.
        self._leftovers[:] = [d for d in self._leftovers if not _remove_dir(d, attempts=1)]
        relative = f"{self._base}/{environment_id}"
        cgroup = EnvironmentCgroup(self._layout, relative, memory_mb, self._leftovers)
        for directory in cgroup.directories:
            directory.mkdir()
        try:
            cgroup.apply_limits()
        except OSError:
            cgroup.remove()
            raise
        return cgroup

    def close(self) -> None:
        for root in self._roots:
            directory = root / self._base
            for child in directory.glob("*"):
                if child.is_dir():
                    _remove_dir(child)
            _remove_dir(directory)

    def _sweep_stale(self) -> None:
        for root in self._roots:
            for directory in root.glob("hearth-*"):
                pid = directory.name.removeprefix("hearth-")
                if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                    continue
                for child in directory.glob("*"):
                    if child.is_dir():
                        _remove_dir(child)
                _remove_dir(directory)
