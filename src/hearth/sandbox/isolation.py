"""What a sandboxed environment sees, decided on the host: the plan that the child carries out.

`Sandboxes.prepare` returns a `PreparedSandbox`: the JSON plan for
``hearth/runtimes/python/sandbox_entry.py`` (mounts, cgroups, uid, network), the paths as the
function sees them (``/var/task``, ``/opt``, ``/var/runtime``), and the cgroup through which
Hearth reads the environment's peak memory and learns of an OOM kill.

The view, like AWS's: the host's system directories read-only (``/usr`` and the
``/bin``-style links to it, and of ``/etc`` only what runtimes read: see ``ETC_ENTRIES``);
the interpreter the runtime needs, read-only at its own path;
the function's code read-only at ``/var/task``; its layers merged read-only at ``/opt``;
Hearth's runtime clients read-only at ``/var/runtime``; for Node.js, a read-only
``/node_modules`` of symlinks to its ``NODE_PATH`` packages; a private ``/tmp`` of EphemeralStorage
size; the environment's Runtime API socket. Nothing else: not Hearth's data dir, not other
functions' code, not home directories.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Settings' enums, importable from here too, beside the sandbox's other names.
from hearth.config import Isolation as Isolation  # noqa: PLC0414
from hearth.config import Network as Network  # noqa: PLC0414
from hearth.sandbox.cgroups import Cgroups, EnvironmentCgroup
from hearth.sandbox.etc_view import EtcView
from hearth.sandbox.mount_namespace import own_tmpfs, unmount
from hearth.sandbox.tmp_disks import TmpDisk, TmpDisks
from hearth.sandbox.uid_blocks import UidBlock, claim_block

logger = logging.getLogger("hearth.sandbox")

TASK_ROOT = "/var/task"
LAYERS_ROOT = "/opt"
RUNTIME_DIR = "/var/runtime"
# Where the runtime's own installation is (AWS's image: /var/lang/bin/python3.12, node).
VAR_LANG = "/var/lang"
RUNTIME_SOCKET = "/run/hearth/runtime.sock"
# Node.js's ES module resolution ignores NODE_PATH but walks every parent folder of the
# importing file, ending at /node_modules. There a sandbox has a symlink per package of its
# NODE_PATH folders (the first folder with a name wins, as NODE_PATH's order does), so
# `import "pkg"` finds a layer's or the SDK's packages without a resolve hook: on Node 20 a
# hook runs in a loader thread of its own, whose V8 heap costs every environment ~10 MB
# (issue #18). Symlinks, not a merged mount: Node resolves them to their real paths, so a
# package is one module whether found here, through NODE_PATH or from a sibling package.
NODE_MODULES = "/node_modules"
# An empty directory in a standby's skeleton: the second layer of its code's overlay.
EMPTY_DIR = "/run/hearth/empty"
# Where a sandbox with no network sees the host's relay to Hearth's own port (the embedded
# services); inside, a relay on AWS_ENDPOINT_URL's loopback address forwards to it.
SERVICES_SOCKET = "/run/hearth/services.sock"
# AWS's runtime clients find the Runtime API here when the network is private (as on AWS).
PRIVATE_RUNTIME_API_PORT = 9001
HOST_RUNTIMES_DIR = Path(__file__).resolve().parent.parent / "runtimes"
# Top-level host directories shown read-only (or re-created as the same symlinks).
SYSTEM_DIRECTORIES = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr")
# What of the host's /etc a sandbox shows, each read-only at the same path: what dynamic
# linking, name resolution, TLS, time zones and MIME types read. Not the rest: the host's
# users, its services' configuration, API keys some packages leave there.
ETC_ENTRIES = (
    "alternatives",  # Debian's links for /usr/bin/node, java, ...
    "ca-certificates",
    "ca-certificates.conf",
    "crypto-policies",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "pki",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
# Environments run as uid/gid FIRST_UID + block + slot: one uid per live environment, so the
# kernel's per-uid process count (RLIMIT_NPROC 1024) is per environment, as on AWS; each
# server on a host holds a block of its own (sandbox/uid_blocks.py).
FIRST_UID = 990_000
UID_SLOTS = 10_000


# A function's own choice of network, in its environment variables (documented in README).
NETWORK_VARIABLE = "HEARTH_NETWORK"


@dataclass(frozen=True)
class SandboxSettings:
    network: Network = Network.HOST
    # Extra host paths shown read-only at the same path (a custom runtime's toolchain, say).
    expose: tuple[str, ...] = ()
    # The AWS SDK for JavaScript's packages: (host folder, where a sandbox sees it), the last
    # folder of a Node.js NODE_PATH.
    sdk_node_modules: tuple[str, str] | None = None


@dataclass
class ServiceReach:
    """How a sandbox with no network reaches a loopback TCP service of the host (Hearth's own
    port): `socket_path` is the host's Unix socket forwarding to it, `target` the address the
    function dials (AWS_ENDPOINT_URL's), None until Hearth listens."""

    socket_path: str
    target: tuple[str, int] | None = None


@dataclass
class PreparedSandbox:
    """One environment's sandbox, before and while it runs."""

    plan: dict[str, Any]
    task_root: str
    layer_roots: list[str]
    runtime_dir: str
    runtime_socket: str
    private_network: bool
    cgroup: EnvironmentCgroup | None
    uid: int
    # Where the uid goes back once the environment is gone (None: it has gone back).
    _uids: UidPool | None = field(repr=False, default=None)
    # The environment's disk-backed /tmp and where it goes back (None: a tmpfs, or gone back).
    _tmp: tuple[TmpDisk, TmpDisks] | None = field(repr=False, default=None)
    # The copies of the host's /etc it shows, released with it (None: released).
    _etc: tuple[str, EtcView] | None = field(repr=False, default=None)

    def runtime_api_inside(self, host_address: str) -> str:
        """AWS_LAMBDA_RUNTIME_API as the function must use it."""
        if self.private_network:
            return f"127.0.0.1:{PRIVATE_RUNTIME_API_PORT}"
        return host_address

    # ResourceAccounting (hearth.invoke.launch) -----------------------------------------
    def max_memory_bytes(self) -> int | None:
        return self.cgroup.max_memory_bytes() if self.cgroup is not None else None

    def out_of_memory(self) -> bool:
        return self.cgroup.out_of_memory() if self.cgroup is not None else False

    def init_done(self) -> None:
        if self.cgroup is not None:
            self.cgroup.limit_cpu()

    def release(self) -> None:
        """Once the environment's processes are gone: remove its cgroup, free its uid."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self._uids is not None:
            self._uids.give_back(self.uid)
            self._uids = None
        if self._tmp is not None:
            disk, disks = self._tmp
            self._tmp = None
            disks.give_back(disk)
        _release_etc(self)


# Where a SnapStart template's sandbox shows the directory of its environments' sockets.
TEMPLATE_SOCKETS = "/run/hearth/envs"


def share_socket_directory(prepared: PreparedSandbox) -> str:
    """Make a sandbox prepared with a directory as its ``socket_path`` show that directory
    (a SnapStart template's: each environment forked from it gets a socket there) at
    TEMPLATE_SOCKETS rather than one socket at RUNTIME_SOCKET; returns TEMPLATE_SOCKETS."""
    for step in prepared.plan["layout"]:
        if step[0] == "bind_rw" and step[2] == RUNTIME_SOCKET:
            step[2] = TEMPLATE_SOCKETS
    if prepared.plan.get("relay"):
        prepared.plan["relay"] = None  # the relay serves one socket; Hearth's client needs none
    prepared.runtime_socket = TEMPLATE_SOCKETS
    return TEMPLATE_SOCKETS


@dataclass
class StandbySandbox:
    """The sandbox of a runtime started ahead of need (see Sandboxes.prepare_standby)."""

    plan: dict[str, Any]
    uid: int
    network: Network
    _uids: UidPool | None = field(repr=False, default=None)
    _etc: tuple[str, EtcView] | None = field(repr=False, default=None)

    def release(self) -> None:
        """For a standby never assigned, once its processes are gone: free its uid."""
        if self._uids is not None:
            self._uids.give_back(self.uid)
            self._uids = None
        _release_etc(self)


def _release_etc(sandbox: PreparedSandbox | StandbySandbox) -> None:
    if sandbox._etc is not None:
        path, view = sandbox._etc
        sandbox._etc = None
        view.release(path)


class UidPool:
    """Hands out one uid per live environment; a returned uid is reused as late as possible."""

    def __init__(self, first: int = FIRST_UID, size: int = UID_SLOTS) -> None:
        self._first = first
        self._free = collections.deque(range(size))

    def take(self) -> int:
        if not self._free:
            raise RuntimeError("no sandbox uid is free")
        return self._first + self._free.popleft()

    def give_back(self, uid: int) -> None:
        self._free.append(uid - self._first)


def system_layout(host_root: Path = Path("/")) -> list[list[Any]]:
    """The host's system directories as layout steps: read-only trees (overlays whose
    mountinfo names no host path), or the same symlinks. /etc is `EtcView`'s."""
    steps: list[list[Any]] = []
    for name in SYSTEM_DIRECTORIES:
        path = host_root / name
        if path.is_symlink():
            steps.append(["symlink", os.readlink(path), f"/{name}"])
        elif path.is_dir():
            steps.append(["tree", str(path), f"/{name}"])
    return steps


def _covered(path: str, steps: list[list[Any]]) -> bool:
    """Whether path is already visible at its own path through a bind or tree in steps."""
    return any(
        (step[0] == "bind" or (step[0] == "tree" and step[1] == step[2]))
        and (path == step[2] or path.startswith(step[2].rstrip("/") + "/"))
        for step in steps
    )


def _target(step: list[Any]) -> str:
    """Where a layout step puts something inside the sandbox."""
    if step[0] == "etc":
        return "/etc"
    return str(step[1] if step[0] in ("dir", "tmpfs", "file", "interpreter", "links") else step[2])


# AWS's user (recorded: `whoami` says sbx_user1051), mapped to the environment's own uid.
SANDBOX_USER = "sbx_user1051"
# AWS's image starts runtimes through this script (root's, 0755, recorded); Hearth's
# environments are started by Hearth, so the script is for a function that looks for it.
ENTRYPOINT = """#!/bin/sh
# Hearth: the environment was started by Hearth; this mirrors AWS's entry point.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
exec "${LAMBDA_RUNTIME_DIR:-/var/runtime}/bootstrap"
"""


def identity_files(uid: int) -> list[list[Any]]:
    """/etc/passwd and /etc/group naming the environment's uid as AWS's sandbox user, and
    /lambda-entrypoint.sh: written into the sandbox's skeleton (nothing of the host's)."""
    return [["file", f"/etc/{name}", content, mode] for name, content, mode in _own_etc(uid)] + [
        ["file", "/lambda-entrypoint.sh", ENTRYPOINT, "755"]
    ]


def _own_etc(uid: int) -> list[list[str]]:
    passwd = (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        f"{SANDBOX_USER}:x:{uid}:{uid}::/home/{SANDBOX_USER}:/sbin/nologin\n"
    )
    group = f"root:x:0:\n{SANDBOX_USER}:x:{uid}:\n"
    return [["passwd", passwd, "644"], ["group", group, "644"]]


@dataclass(frozen=True)
class EtcLayers:
    """Where a sandbox's /etc comes from (sandbox/etc_view.py): the staged copies of the
    host's entries, and the mount point of the sandbox's own top layer."""

    staged: str
    scratch: str


def node_module_links(
    layer_trees: Sequence[str], node_major: str, sdk: tuple[str, str] | None
) -> list[list[str]]:
    """[name, target] for each symlink at NODE_MODULES: the packages of AWS's NODE_PATH
    folders (/opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules, the SDK's), the first
    folder with a name winning; a scope (`@aws-sdk`) found in one folder only is one link.
    Listed on the host: layer_trees are the layers merged at /opt, and `sdk` is (host folder,
    inside folder). A folder whose real path leaves its own layer's tree (a symlink in the
    layer's zip, `nodejs -> /root`) is not listed: only the sandbox's view may be shown."""
    folders: list[tuple[str, list[str]]] = [
        (f"{LAYERS_ROOT}/{sub}", _own_folders(layer_trees, sub))
        for sub in (f"nodejs/node{node_major}/node_modules", "nodejs/node_modules")
    ]
    if sdk is not None and os.path.isdir(sdk[0]):
        folders.append((sdk[1], [sdk[0]]))
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for inside, hosts in folders:
        for name in sorted({n for h in hosts for n in os.listdir(h) if not n.startswith(".")}):
            found.setdefault(name, []).append((inside, hosts))
    links: list[list[str]] = []
    for name, where in found.items():
        if not name.startswith("@") or len(where) == 1:
            links.append([name, f"{where[0][0]}/{name}"])
            continue
        seen: set[str] = set()
        for inside, hosts in where:  # a scope in several folders: one link per package
            scoped = {n for h in hosts if os.path.isdir(d := f"{h}/{name}") for n in os.listdir(d)}
            for package in sorted(scoped - seen):
                links.append([f"{name}/{package}", f"{inside}/{name}/{package}"])
            seen |= scoped
    return links


def _link_steps(links: Sequence[Sequence[str]]) -> list[list[Any]]:
    """NODE_MODULES with its symlinks: a read-only tmpfs of their own (sandbox_entry.py)."""
    return [["links", NODE_MODULES, [list(link) for link in links]]] if links else []


def _own_folders(layer_trees: Sequence[str], sub: str) -> list[str]:
    """Each layer's `sub` folder that exists with its real path inside that layer's tree."""
    folders = []
    for tree in layer_trees:
        real = os.path.realpath(f"{tree}/{sub}")
        if os.path.isdir(real) and real.startswith(os.path.realpath(tree) + "/"):
            folders.append(real)
    return folders


def build_plan(
    *,
    root: str,
    system: list[list[Any]],
    code_tree: str | None,
    layer_trees: Sequence[str],
    socket_path: str,
    tmp_bytes: int,
    uid: int,
    tmp_disk: str | None = None,
    network: Network,
    relay: bool,
    hostname: str,
    argv: Sequence[str] | None,
    expose: Sequence[str],
    cgroup_procs: Sequence[str],
    services: ServiceReach | None = None,
    lang: str | None = None,
    etc: EtcLayers | None = None,
    node_modules: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """The plan for one environment (pure: no I/O; see sandbox_entry.py for its format).
    `lang`: what the runtime finds at /var/lang (its installation), as on AWS.
    `node_modules`: the symlinks at NODE_MODULES (node_module_links).

    code_tree None: a standby's plan, for a runtime started before its function is known:
    mount points where the code, layers and Runtime API socket go (`late_plan` fills them),
    no cgroups yet."""
    layout = [list(step) for step in system]
    for path in expose:
        if not _covered(path, layout):
            layout.append(["bind", path, path])
    if etc is not None:
        # One read-only /etc: the sandbox's own passwd and group over the staged copies.
        layout.append(["etc", etc.staged, etc.scratch, _own_etc(uid)])
        layout.append(["file", "/lambda-entrypoint.sh", ENTRYPOINT, "755"])
    else:
        if ["dir", "/etc"] not in layout:
            layout.append(["dir", "/etc"])
        layout += identity_files(uid)
    layout += [
        ["dir", "/var"],
        ["tree", str(HOST_RUNTIMES_DIR), RUNTIME_DIR],
        *_lang_steps(lang),
        ["dir", "/run/hearth"],
        # The sandbox's own /tmp: a disk of its size (sandbox/tmp_disks.py), else memory.
        ["bind_rw", tmp_disk, "/tmp"]  # noqa: S108
        if tmp_disk is not None
        else ["tmpfs", "/tmp", tmp_bytes, "1777"],  # noqa: S108
    ]
    if code_tree is None:
        layout += [["dir", TASK_ROOT], ["dir", LAYERS_ROOT], ["dir", EMPTY_DIR]]
        layout += [["dir", NODE_MODULES], ["file", RUNTIME_SOCKET]]  # standbys are Node's
    else:
        # "tree": read-only like a bind, but /proc/self/mountinfo does not name the host path.
        layout += [["tree", code_tree, TASK_ROOT], ["bind_rw", socket_path, RUNTIME_SOCKET]]
        layout += _link_steps(node_modules)
    if code_tree is None:
        pass  # layers are mounted at assignment too
    elif len(layer_trees) == 1:
        layout.append(["tree", layer_trees[0], LAYERS_ROOT])
    elif layer_trees:
        # overlayfs: the leftmost lower layer wins, and on AWS the last layer listed wins.
        layout.append(["overlay", list(reversed(layer_trees)), LAYERS_ROOT])
    else:
        layout.append(["dir", LAYERS_ROOT])
    # Parents before children: an exposed /tmp/x must be mounted after the tmpfs on /tmp,
    # or the tmpfs would hide it.
    private = network is Network.NONE
    services_relay = None
    if private and services is not None and services.target is not None:
        layout.append(["bind_rw", services.socket_path, SERVICES_SOCKET])
        services_relay = [services.target[0], services.target[1], SERVICES_SOCKET]
    layout.sort(key=lambda step: _target(step).rstrip("/").count("/"))
    return {
        "standby": code_tree is None,
        "root": root,
        "layout": layout,
        "cgroup_procs": list(cgroup_procs),
        "network": private,
        "relay": [PRIVATE_RUNTIME_API_PORT, RUNTIME_SOCKET] if private and relay else None,
        "services_relay": services_relay,
        "hostname": hostname,
        "uid": uid,
        "gid": uid,
        "cwd": TASK_ROOT,
        "argv": list(argv) if argv else None,
    }


def late_plan(
    *,
    code_tree: str,
    layer_trees: Sequence[str],
    socket_path: str,
    tmp_bytes: int,
    hostname: str,
    cgroup_procs: Sequence[str],
    node_modules: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """What a standby's init mounts once its function is known (pure; sandbox_entry.py
    `_apply_late`): the same code, layers, socket, /tmp size and NODE_MODULES `build_plan`
    would give."""
    layout: list[list[Any]] = [
        ["tree", code_tree, TASK_ROOT],
        ["bind_rw", socket_path, RUNTIME_SOCKET],
        ["tmpfs_size", "/tmp", tmp_bytes],  # noqa: S108 - the sandbox's own /tmp
    ]
    if len(layer_trees) == 1:
        layout.append(["tree", layer_trees[0], LAYERS_ROOT])
    elif layer_trees:
        layout.append(["overlay", list(reversed(layer_trees)), LAYERS_ROOT])
    layout += _link_steps(node_modules)
    return {
        "layout": layout,
        "empty": EMPTY_DIR,
        "hostname": hostname,
        "cgroup_procs": list(cgroup_procs),
    }


def inside_argv(
    argv: Sequence[str] | None, code_tree: str | None, lang: str | None = None
) -> list[str] | None:
    """A runtime command with host paths rewritten to where the sandbox shows them."""
    if argv is None:
        return None
    moves = [(f"{HOST_RUNTIMES_DIR}/", RUNTIME_DIR + "/")]
    if code_tree is not None:
        moves.insert(0, (code_tree + "/", TASK_ROOT + "/"))
    if lang is not None and lang != VAR_LANG:
        # The program itself, by its real path (/usr/bin/node may be a link elsewhere).
        argv = [_inside_program(argv[0], lang), *argv[1:]]
    rewritten = []
    for part in argv:
        for host_prefix, inside_prefix in moves:
            if part.startswith(host_prefix):
                rewritten.append(inside_prefix + part[len(host_prefix) :])
                break
        else:
            rewritten.append(part)
    return rewritten


def _lang_steps(lang: str | None) -> list[list[Any]]:
    """The runtime's installation at /var/lang. For Python, the zygote's own: it says
    where it runs from (sandbox_entry's "interpreter" step: /var/lang, shown there, or
    where a zygote that could not move is, shown at that same path)."""
    if lang is None:
        return []
    if lang == VAR_LANG:
        return [["interpreter", VAR_LANG]]
    return [["tree", lang, VAR_LANG]]


def _program_prefix(argv: Sequence[str] | None, code_tree: str | None) -> str | None:
    """The installation prefix of a runtime's program (bin/node → its prefix), shown at
    /var/lang; None for a program of the function's own or of Hearth's runtime files."""
    if not argv:
        return None
    program = argv[0]
    if code_tree is not None and program.startswith(code_tree + "/"):
        return None
    if program.startswith(str(HOST_RUNTIMES_DIR) + "/"):
        return None
    return str(Path(os.path.realpath(program)).parent.parent)


def _inside_program(program: str, lang: str) -> str:
    real = os.path.realpath(program)
    return VAR_LANG + real[len(lang) :] if real.startswith(lang + "/") else program


class Sandboxes:
    """Prepares sandboxes for environments: one per environment, released when it is gone."""

    def __init__(
        self,
        settings: SandboxSettings,
        cgroups: Cgroups | None,
        work_dir: str,
        services: ServiceReach | None = None,
        tmp_disks: TmpDisks | None = None,
    ) -> None:
        self._settings = settings
        self._services = services
        self._tmp_disks = tmp_disks
        self._cgroups = cgroups
        self._work_dir = work_dir
        # Its own tmpfs (where Hearth has its own mount namespace): the Runtime API sockets
        # bound into sandboxes from here are named by no host path in their mountinfo.
        self._own_tmpfs = own_tmpfs(work_dir)
        self._root = os.path.join(work_dir, "root")  # the mount point of every new root
        os.makedirs(self._root, mode=0o700, exist_ok=True)
        self._etc = EtcView(work_dir, ETC_ENTRIES)
        self._system = system_layout()
        self._uid_block: UidBlock = claim_block(FIRST_UID, UID_SLOTS)
        self._uids = UidPool(self._uid_block.first)

    def network_for(self, user_variables: dict[str, str]) -> Network:
        wanted = user_variables.get(NETWORK_VARIABLE)
        if wanted in (Network.NONE.value, Network.HOST.value):
            return Network(wanted)
        return self._settings.network

    def prepare(
        self,
        *,
        environment_id: str,
        memory_mb: int,
        ephemeral_mb: int,
        code_tree: str,
        layer_trees: Sequence[str],
        socket_path: str,
        argv: Sequence[str] | None,
        interpreter: str | None,
        network: Network,
        node_major: str | None = None,
    ) -> PreparedSandbox:
        """`node_major` ("20") for a Node.js function: its NODE_PATH folders are merged at
        NODE_MODULES too."""
        expose = list(self._settings.expose)
        # Python's environments are forked from a zygote that already runs from /var/lang
        # (its view of the interpreter's prefix); another runtime's program (node) gets its
        # installation there, and a custom runtime's own bootstrap needs none.
        lang = VAR_LANG if argv is None and interpreter else _program_prefix(argv, code_tree)
        cgroup = (
            self._cgroups.create(environment_id, memory_mb) if self._cgroups is not None else None
        )
        uid = self._uids.take()
        tmp = self._take_tmp(ephemeral_mb)
        etc = self._etc.acquire()
        # Connecting to a Unix socket takes write permission on it: the environment's own.
        os.chown(socket_path, uid, uid)
        plan = build_plan(
            root=self._root,
            system=self._system,
            code_tree=code_tree,
            layer_trees=layer_trees,
            socket_path=socket_path,
            tmp_bytes=ephemeral_mb * 1024 * 1024,
            tmp_disk=str(tmp[0].mount_point) if tmp is not None else None,
            uid=uid,
            network=network,
            relay=argv is not None,  # Hearth's Python client uses the Unix socket directly
            hostname=f"hearth-{environment_id[:12]}",
            argv=inside_argv(argv, code_tree, lang),
            expose=expose,
            cgroup_procs=cgroup.procs_files if cgroup is not None else (),
            services=self._services,
            lang=lang,
            etc=EtcLayers(etc, self._etc.scratch),
            node_modules=self._node_modules(layer_trees, node_major),
        )
        return PreparedSandbox(
            plan=plan,
            task_root=TASK_ROOT,
            layer_roots=[LAYERS_ROOT] if layer_trees else [],
            runtime_dir=RUNTIME_DIR,
            runtime_socket=RUNTIME_SOCKET,
            private_network=network is Network.NONE,
            cgroup=cgroup,
            uid=uid,
            _uids=self._uids,
            _tmp=tmp,
            _etc=(etc, self._etc),
        )

    def _node_modules(self, layer_trees: Sequence[str], node_major: str | None) -> list[list[str]]:
        if node_major is None:
            return []
        return node_module_links(layer_trees, node_major, self._settings.sdk_node_modules)

    def take_uids(self, count: int) -> list[int]:
        """uids for the environments a SnapStart template forks (one per live child)."""
        return [self._uids.take() for _ in range(count)]

    def give_back_uids(self, uids: list[int]) -> None:
        for uid in uids:
            self._uids.give_back(uid)

    def cgroup_for(self, environment_id: str, memory_mb: int) -> EnvironmentCgroup | None:
        """A cgroup of its own for an environment forked from a SnapStart template."""
        return self._cgroups.create(environment_id, memory_mb) if self._cgroups else None

    def prepare_standby(self, argv: Sequence[str], tmp_bytes: int) -> StandbySandbox:
        """A sandbox for a runtime started before its function is known: the host's network
        setting, a uid of its own, no cgroup and no code until `assign`."""
        expose = list(self._settings.expose)
        lang = _program_prefix(argv, None)
        uid = self._uids.take()
        etc = self._etc.acquire()
        network = self._settings.network
        plan = build_plan(
            root=self._root,
            system=self._system,
            code_tree=None,
            layer_trees=(),
            socket_path="",
            tmp_bytes=tmp_bytes,
            uid=uid,
            network=network,
            relay=False,
            hostname="localhost",
            argv=inside_argv(argv, None, lang),
            expose=expose,
            cgroup_procs=(),
            lang=lang,
            etc=EtcLayers(etc, self._etc.scratch),
        )
        return StandbySandbox(
            plan=plan, uid=uid, network=network, _uids=self._uids, _etc=(etc, self._etc)
        )

    def assign(
        self,
        standby: StandbySandbox,
        *,
        environment_id: str,
        memory_mb: int,
        ephemeral_mb: int,
        code_tree: str,
        layer_trees: Sequence[str],
        socket_path: str,
        node_major: str | None = None,
    ) -> tuple[PreparedSandbox, dict[str, Any]]:
        """Give a standby's sandbox to an environment: its cgroup, and the late plan its
        init carries out (the caller adds the runtime's "assignment"). The standby's uid
        now belongs to the PreparedSandbox."""
        cgroup = (
            self._cgroups.create(environment_id, memory_mb) if self._cgroups is not None else None
        )
        os.chown(socket_path, standby.uid, standby.uid)
        late = late_plan(
            code_tree=code_tree,
            layer_trees=layer_trees,
            socket_path=socket_path,
            tmp_bytes=ephemeral_mb * 1024 * 1024,
            hostname=f"hearth-{environment_id[:12]}",
            cgroup_procs=cgroup.procs_files if cgroup is not None else (),
            node_modules=self._node_modules(layer_trees, node_major),
        )
        uids, standby._uids = standby._uids, None
        etc, standby._etc = standby._etc, None
        prepared = PreparedSandbox(
            plan=standby.plan,
            task_root=TASK_ROOT,
            layer_roots=[LAYERS_ROOT] if layer_trees else [],
            runtime_dir=RUNTIME_DIR,
            runtime_socket=RUNTIME_SOCKET,
            private_network=standby.network is Network.NONE,
            cgroup=cgroup,
            uid=standby.uid,
            _uids=uids,
            _etc=etc,
        )
        return prepared, late

    async def stock_tmp(self, size_mb: int) -> None:
        """Before `prepare`: have a /tmp disk of `size_mb` ready, making one in a thread if
        none is (a burst of cold starts, or a size not asked for yet): `prepare` runs on the
        event loop, where a mkfs and a mount would hold up every other request."""
        disks = self._tmp_disks
        if disks is None or disks.ready(size_mb):
            return
        try:
            await asyncio.to_thread(disks.stock, size_mb)
        except (OSError, subprocess.SubprocessError):
            logger.warning("could not make a /tmp disk of %d MB", size_mb, exc_info=True)

    def _take_tmp(self, size_mb: int) -> tuple[TmpDisk, TmpDisks] | None:
        if self._tmp_disks is None:
            return None
        try:
            return self._tmp_disks.take(size_mb), self._tmp_disks
        except (OSError, subprocess.SubprocessError):
            logger.warning("no /tmp disk of %d MB: this environment's /tmp is memory", size_mb)
            return None

    def close(self) -> None:
        if self._cgroups is not None:
            self._cgroups.close()
        if self._tmp_disks is not None:
            self._tmp_disks.close()
        self._uid_block.release()
        if self._own_tmpfs:
            unmount(self._work_dir)
