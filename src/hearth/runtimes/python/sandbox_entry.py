"""Enter an execution environment's sandbox (Linux, as root): the child side of the isolation.

Loaded by the zygote (standard library only, Python 3.10-3.13). Hearth builds the *plan*
(``hearth.sandbox.isolation``); this file only carries it out, so every decision about what
a function may see is made, and tested, on the host side. The plan is a JSON object::

    {"root": "/tmp/hearth-rt-x/root",          # an empty host directory: the new / is mounted here
     "layout": [["dir", "/var"], ["symlink", "usr/bin", "/bin"],
                ["bind", "/usr", "/usr"],       # read-only, nosuid, nodev
                ["bind_rw", "/host/sock", "/run/hearth/runtime.sock"],
                ["overlay", ["/layer2", "/layer1"], "/opt"],   # read-only union
                ["tree", "/data/code/trees/abc", "/var/task"],  # read-only, path unnamed
                ["file", "/lambda-entrypoint.sh", "#!/bin/sh...", "755"],  # written
                ["interpreter", "/var/lang"],  # the zygote's prefix (sys.base_prefix), there
                ["etc", "/host/staged-etc", "/host/scratch",      # /etc: read-only union of
                 [["passwd", "root:x:0:0:...", "644"], ...]],    # these files over the copies
                ["tmpfs", "/tmp", 536870912, "1777"]],
     "cgroup_procs": [".../memory/hearth-PID/ENV/tasks", ...],  # joined by writing "0"
     "network": false,                          # true: a network namespace with loopback only
     "relay": null | [9001, "/run/hearth/runtime.sock"],   # TCP inside -> Unix socket
     "services_relay": null | ["127.0.0.1", 8080, "/run/hearth/services.sock"],  # the same,
                                                # for AWS_ENDPOINT_URL (Hearth's own port)
     "hostname": "...", "uid": 990001, "gid": 990001, "cwd": "/var/task",
     "argv": null | ["/usr/bin/node", "..."]}  # null: return and run the Python runtime

Two processes per environment, each dying with its parent (PR_SET_PDEATHSIG):

* the **init**, forked by the zygote as pid 1 of a new PID namespace (the zygote unshares
  CLONE_NEWPID for its next child only, `unshare_pid_for_children`): joins the cgroups,
  unshares the other namespaces, mounts the new root and moves into it, forks the runtime,
  reaps orphans, relays the Runtime API if the network is private. When the runtime exits it
  writes the exit status to the zygote's status pipe and exits, which makes the kernel kill
  everything left in the namespace;
* the **runtime** (pid 2): drops to the sandbox uid/gid with no capabilities and
  no_new_privs, then runs the runtime (returns, for Python; execs ``argv`` otherwise).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_MOVE = 8192
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# The first line of each services-relay connection the init makes: whose they are.
SANDBOX_ANNOUNCE = "HEARTH-SANDBOX-UID"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SETUP_FAILED = 127

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(code)} (errno {code})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {source or fstype} on {target}",
    )


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


@functools.cache
def _own_pid_namespace() -> int:
    # The caller's own (active) PID namespace: unshare(CLONE_NEWPID) never changes that one.
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def unshare_pid_for_children() -> None:
    """In the zygote: its next child starts a new PID namespace (the zygote stays put)."""
    _own_pid_namespace()
    _check(_libc.unshare(CLONE_NEWPID), "unshare the PID namespace")


def restore_pid_for_children() -> None:
    """In the zygote, after the fork: later children start in its own PID namespace again."""
    _check(_libc.setns(_own_pid_namespace(), CLONE_NEWPID), "setns back")


def enter(plan: dict[str, Any], status_fd: int) -> None:
    """In the init the zygote forked: set the sandbox up, become its pid 1, and return only
    in the runtime process (pid 2).

    Any failure before the function's code runs ends the process with SETUP_FAILED after
    saying why on stderr (which is the environment's log)."""
    for path in plan.get("cgroup_procs", ()):
        with open(path, "w") as procs:
            procs.write("0")  # "the writing thread": pids here are the namespace's
    # The OOM killer must pick the function's processes, never the init (the runtime sets
    # its own score back before it drops its privileges).
    _set_oom_score(-1000)
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
    if plan.get("network"):
        flags |= CLONE_NEWNET
    _check(_libc.unshare(flags), "unshare")
    _be_init(plan, status_fd)  # returns only in the runtime process


# --- the init (PID 1) ------------------------------------------------------------------------


def _be_init(plan: dict[str, Any], status_w: int) -> None:  # noqa: PLR0912, PLR0915 - ordered set-up
    standby = bool(plan.get("standby"))
    host_root = -1
    listeners: list[tuple[socket.socket, str, bytes]] = []
    try:
        if standby:
            # The host's tree, for the function's code and cgroups named at assignment. Only
            # this init (root, no code of the function's) holds it; the runtime never does.
            host_root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        _build_root(plan)
        socket.sethostname(plan.get("hostname") or "localhost")
        if plan.get("network"):
            _loopback_up()
        # Listening before the runtime starts: its first connection finds the relays there.
        relay, services = plan.get("relay"), plan.get("services_relay")
        if relay:
            listeners.append((_listen("127.0.0.1", int(relay[0])), str(relay[1]), b""))
        if services:
            # The host relay sees this init (root) connect, not the function: it is told
            # whose connections these are (sandbox/host_relay.py trusts this from root only).
            announce = f"{SANDBOX_ANNOUNCE} {plan['uid']}\n".encode()
            listener = _listen(str(services[0]), int(services[1]))
            listeners.append((listener, str(services[2]), announce))
    except BaseException as exc:
        os.write(2, f"hearth sandbox: cannot set up the environment: {exc}\n".encode())
        os._exit(SETUP_FAILED)
    template_uids = plan.get("template_uids")
    # A SnapStart template asks (asked) once it is in its own user namespace; the init,
    # privileged in the host's, writes its uid and gid maps and answers (mapped).
    asked = os.pipe() if template_uids else (-1, -1)
    mapped = os.pipe() if template_uids else (-1, -1)
    # A standby runtime reads its assignment from this pipe once the init has mounted the
    # function's code (the init reads its own from stdin, written by Hearth).
    assign_r, assign_w = os.pipe() if standby else (-1, -1)
    runtime = os.fork()
    if runtime == 0:
        os.close(status_w)
        for listener, _, _ in listeners:
            listener.close()
        try:
            _assignment_as_stdin(host_root, assign_r, assign_w)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            _set_oom_score(0)
            _lower_privileges(plan, asked, mapped)
            os.chdir(plan.get("cwd") or "/")
        except BaseException as exc:
            os.write(2, f"hearth sandbox: cannot drop privileges: {exc}\n".encode())
            os._exit(SETUP_FAILED)
        argv = plan.get("argv")
        if argv:
            try:
                os.execv(argv[0], argv)  # noqa: S606 - the runtime's own command
            except OSError as exc:
                os.write(2, f"hearth sandbox: cannot run {argv[0]}: {exc}\n".encode())
                os._exit(SETUP_FAILED)
        return
    if template_uids:
        _map_template(asked, mapped, runtime, plan)
    if standby:
        os.close(assign_r)
        _await_assignment(host_root, runtime, assign_w)
    for listener, unix_path, announce in listeners:
        _start_relay(listener, unix_path, announce)
    code = _reap_until(runtime)
    os.write(status_w, str(code).encode())
    os._exit(0)


def _assignment_as_stdin(host_root: int, assign_r: int, assign_w: int) -> None:
    """In a standby's runtime: its stdin is the init's assignment pipe, and it keeps no
    descriptor of the host's tree (nor the pipe's other end)."""
    if assign_r < 0:
        return
    os.close(host_root)
    os.close(assign_w)
    os.dup2(assign_r, 0)
    os.close(assign_r)


def _await_assignment(host_root: int, runtime: int, assign_w: int) -> None:
    """In a standby sandbox's init: wait for the function (JSON on stdin: the late plan and
    the runtime's assignment), mount its code, join its cgroups, then hand the runtime its
    assignment. A Hearth that goes away first (EOF) ends the sandbox."""
    chunks = []
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    try:
        late = json.loads(b"".join(chunks))
        _apply_late(late, host_root, runtime)
    except BaseException as exc:
        os.write(2, f"hearth sandbox: cannot set up the environment: {exc}\n".encode())
        os.kill(runtime, signal.SIGKILL)
        os._exit(SETUP_FAILED)
    finally:
        os.close(host_root)
    data = json.dumps(late["assignment"]).encode()
    while data:
        data = data[os.write(assign_w, data) :]
    os.close(assign_w)


def _apply_late(late: dict[str, Any], host_root: int, runtime: int) -> None:
    host = f"/proc/self/fd/{host_root}"
    for path in late.get("cgroup_procs", ()):
        # The runtime has threads by now: on cgroup v1 its whole thread group moves through
        # cgroup.procs (tasks would move one thread); the init is single-threaded. Memory it
        # touched before stays charged where it was (kernels no longer move charges), so the
        # function's limit and peak count what it allocates from assignment on.
        with open(host + path, "w") as procs:
            procs.write("0")
        whole = path[: -len("tasks")] + "cgroup.procs" if path.endswith("/tasks") else path
        with open(host + whole, "w") as procs:
            procs.write(str(runtime))
    for step in late["layout"]:
        kind = step[0]
        if kind == "tree":
            _read_only_union("hearth-tree", [host + step[1], late["empty"]], step[2])
        elif kind == "overlay":
            _read_only_union("hearth-layers", [host + p for p in step[1]], step[2])
        elif kind == "bind_rw":
            _bind(host + step[1], step[2], read_only=False)
        elif kind == "tmpfs_size":
            _mount(None, step[1], None, MS_REMOUNT | MS_NOSUID | MS_NODEV, f"size={step[2]}")
        elif kind == "links":
            _links(step[1], step[2])
        else:
            raise SandboxError(f"unknown late step {kind!r}")
    socket.sethostname(late.get("hostname") or "localhost")


def _make_file(root: str, step: list[Any]) -> None:
    _make_parent(root, step[1])
    if len(step) == 2:  # a mount point bound later (a standby's socket)
        os.close(os.open(root + step[1], os.O_CREAT | os.O_WRONLY, 0o644))
        return
    # A small file of the sandbox's own, root's, in its skeleton.
    fd = os.open(root + step[1], os.O_CREAT | os.O_WRONLY | os.O_EXCL, int(step[3], 8))
    try:
        os.write(fd, step[2].encode())
        os.fchmod(fd, int(step[3], 8))  # not narrowed by the umask
    finally:
        os.close(fd)


def _links(target: str, links: list[list[str]]) -> None:
    """Symlinks [name, inside path] on a read-only tmpfs of their own at target: a page for
    each (a long link's target takes one), so no layer's package count can fill it."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    size = (len(links) + 64) * 4096
    _make_dir(target)
    _mount("hearth-links", target, "tmpfs", flags, f"size={size},mode=0755")
    for name, link in links:
        _make_parent(target, "/" + name)
        os.symlink(link, f"{target}/{name}")
    _mount(None, target, None, MS_REMOUNT | MS_RDONLY | flags)


def _set_oom_score(score: int) -> None:
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write(str(score))


def _reap_until(runtime: int) -> int:
    """As PID 1: reap every orphan, until the runtime itself exits; return its exit code."""
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            return SETUP_FAILED
        if pid == runtime:
            return os.waitstatus_to_exitcode(status)


def _read_only_union(name: str, lower: list[str], target: str) -> None:
    """A read-only overlay of `lower` (leftmost on top) at `target`. Each layer is named to
    the kernel as /proc/self/fd/N, which is what /proc/self/mountinfo then shows: a bind
    mount or a lowerdir path would show the function the host's paths (the data dir's)."""
    fds = [os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) for path in lower]
    try:
        layers = ":".join(f"/proc/self/fd/{fd}" for fd in fds)
        _mount(name, target, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, f"lowerdir={layers}")
    finally:
        for fd in fds:
            os.close(fd)


def _build_root(plan: dict[str, Any]) -> None:
    root = plan["root"]
    # Nothing mounted here may propagate back to the host.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("hearth-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    # An empty directory (root's, 0755), where /proc is mounted later (which leaves the
    # overlays' view of it empty), is the top layer of every union: its mount point then has
    # that owner and mode, as /var/task and /opt have on AWS, whatever the code's own root
    # says; and overlayfs wants two layers at least.
    empty = root + "/proc"
    _make_dir(empty)
    for step in plan["layout"]:
        kind = step[0]
        if kind == "dir":
            os.makedirs(root + step[1], mode=0o755, exist_ok=True)
        elif kind == "symlink":
            _make_parent(root, step[2])
            os.symlink(step[1], root + step[2])
        elif kind in ("bind", "bind_rw"):
            _bind(step[1], root + step[2], read_only=kind == "bind")
        elif kind == "overlay":
            _make_dir(root + step[2])
            _read_only_union("hearth-layers", [empty, *step[1]], root + step[2])
        elif kind in ("tree", "interpreter"):
            # "interpreter": the zygote's installation, at the path it runs from (/var/lang
            # once it has moved there, runtimes/python/var_lang.py; else its host prefix), so
            # the interpreter forked from it finds its standard library where it looks.
            source, target = (step[1], step[2]) if kind == "tree" else (sys.base_prefix,) * 2
            _make_dir(root + target)
            _read_only_union("hearth-tree", [empty, source], root + target)
        elif kind == "etc":
            _make_etc(root + "/etc", empty, step[1], step[2], step[3])
        elif kind == "links":
            _links(root + step[1], step[2])

        elif kind == "file":
            _make_file(root, step)
        elif kind == "tmpfs":
            _make_dir(root + step[1])
            _mount(
                "tmpfs",
                root + step[1],
                "tmpfs",
                MS_NOSUID | MS_NODEV,
                f"size={step[2]},mode={step[3]}",
            )
        else:
            raise SandboxError(f"unknown layout step {kind!r}")
    _make_dev(root)
    _make_dir(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    # Move the new root over "/" and chroot into it, as switch_root does. (pivot_root would
    # leave the host's root to unmount, and that unmount waits for an RCU grace period:
    # milliseconds on a busy machine, on every cold start.) The host's tree stays below,
    # unreachable: the runtime has no capabilities to chroot out, and no descriptor to it.
    _mount(".", "/", None, MS_MOVE)
    os.chroot(".")
    os.chdir("/")
    # The skeleton itself (the mount points) is read-only too.
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _make_etc(target: str, empty: str, staged: str, scratch: str, files: list[list[str]]) -> None:
    """/etc as one read-only union: this sandbox's own files (a tmpfs at `scratch`, outside
    the new root, so nothing shows where it is) over the host's staged copies."""
    _mount("hearth-etc", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for name, content, mode in files:
        fd = os.open(f"{scratch}/{name}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, int(mode, 8))
        try:
            os.write(fd, content.encode())
            os.fchmod(fd, int(mode, 8))  # not narrowed by the umask
        finally:
            os.close(fd)
    _make_dir(target)
    _read_only_union("hearth-etc", [empty, scratch, staged], target)


def _make_dev(root: str) -> None:
    dev = root + "/dev"
    _make_dir(dev)
    _mount("hearth-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=1m,mode=0755")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            _bind("/dev/" + name, f"{dev}/{name}", read_only=False)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{dev}/{name}")
    _mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _bind(source: str, target: str, *, read_only: bool) -> None:
    mode = os.stat(source).st_mode
    if stat.S_ISDIR(mode):
        _make_dir(target)
    else:
        _make_parent("", target)
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    # Not recursive: mounts below the source stay hidden rather than writable.
    _mount(source, target, None, MS_BIND)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID
    if not stat.S_ISCHR(mode):
        # No device nodes through any bind (a /tmp disk, the code) but the devices bound
        # one by one (/dev/null, /dev/urandom...), which nodev would make unopenable.
        flags |= MS_NODEV
    if read_only:
        flags |= MS_RDONLY
    _mount(None, target, None, flags)


def _make_dir(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _make_parent(root: str, path: str) -> None:
    os.makedirs(os.path.dirname(root + path), mode=0o755, exist_ok=True)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


# --- SnapStart: a template in its own user namespace -----------------------------------------
#
# A version's template runs init, then forks environments; each of those needs a /tmp and a
# uid of its own, which takes privilege at fork time. So the template runs as root of a user
# namespace of its own (mapped to its sandbox uid on the host, and to nothing else but its
# children's uids), which gives it capabilities over namespaces it creates, and none over the
# host's or the sandbox's (those belong to the host's user namespace). Each child makes a
# mount namespace, mounts a fresh /tmp, becomes its own uid (which drops every capability)
# and takes the full filter. The template's own filter also refuses chroot: with
# CAP_SYS_CHROOT in its namespace it could otherwise climb out of the sandbox's root.


def _lower_privileges(
    plan: dict[str, Any], asked: tuple[int, int], mapped: tuple[int, int]
) -> None:
    """In the runtime: an environment's privileges, or a SnapStart template's."""
    if not plan.get("template_uids"):
        _drop_privileges(plan)
        return
    os.close(asked[0])
    os.close(mapped[1])
    _enter_template_namespace(asked[1], mapped[0])


def _enter_template_namespace(asked_w: int, mapped_r: int) -> None:
    os.setgroups([])
    _check(_libc.unshare(CLONE_NEWUSER), "unshare the user namespace")
    os.write(asked_w, b"1")
    os.close(asked_w)
    if os.read(mapped_r, 1) != b"1":
        raise SandboxError("the template's uids were not mapped")
    os.close(mapped_r)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    install_seccomp(template=True)


def _map_template(
    asked: tuple[int, int], mapped: tuple[int, int], runtime: int, plan: dict[str, Any]
) -> None:
    """In the init: once the template has its user namespace, map its uids."""
    os.close(asked[1])
    os.close(mapped[0])
    asked_r, mapped_w = asked[0], mapped[1]
    try:
        if os.read(asked_r, 1) == b"1":
            uids = [int(uid) for uid in plan["template_uids"]]
            _write_id_maps(runtime, int(plan["uid"]), uids)
            os.write(mapped_w, b"1")
    except OSError as exc:
        os.write(2, f"hearth sandbox: cannot map the template's uids: {exc}\n".encode())
    os.close(asked_r)
    os.close(mapped_w)


def _write_id_maps(pid: int, uid: int, children: list[int]) -> None:
    """Inside 0 is the template's host uid; each child's uid maps to itself."""
    lines = f"0 {uid} 1\n" + "".join(f"{child} {child} 1\n" for child in children)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as ids:
            ids.write(lines)


def isolate_fork(uid: int, tmp_bytes: int) -> None:
    """In an environment just forked from a template: a mount namespace with an empty /tmp
    of its own, its own uid (no capabilities left), the full seccomp filter."""
    fork_tmp(tmp_bytes)
    fork_identity(uid)


def fork_tmp(tmp_bytes: int) -> None:
    """A mount namespace with an empty /tmp of its own. A template's spare does this before
    it is handed an environment: nothing writes there until it is one."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare the mount namespace")
    fresh = f"size={tmp_bytes},mode=1777"
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, fresh)  # noqa: S108 - its own


def prepare_fork() -> None:
    """In a template's spare, before it is handed an environment: what fork_identity will
    need, built ahead (it is the same for every environment)."""
    _compiled_seccomp(False)


def fork_identity(uid: int) -> None:
    """The environment's own uid (no capabilities left) and the full seccomp filter."""
    os.setgroups([])
    parent = os.getppid()
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # A change of credentials clears the parent-death signal: set it again, and check that
    # the template did not die in between.
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise SandboxError("the template is gone")
    install_seccomp()


# --- the runtime's privileges ----------------------------------------------------------------


def _drop_privileges(plan: dict[str, Any]) -> None:
    # The bounding set first (that needs CAP_SETPCAP, which only root has); setuid to a
    # non-root uid then clears the permitted, effective and ambient sets.
    for cap in range(64):
        try:
            _prctl(PR_CAPBSET_DROP, cap)
        except SandboxError:
            if ctypes.get_errno() == errno.EINVAL:
                break  # past the last capability this kernel knows
            raise
    gid, uid = int(plan["gid"]), int(plan["uid"])
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    install_seccomp()


# --- the seccomp filter ------------------------------------------------------------------------
#
# As Docker's and Firecracker's defaults do, the runtime (and everything it starts: a filter
# survives fork and exec) may not make a user namespace (the one namespace an unprivileged
# process can make, and a large kernel surface), use the kernel keyring (shared across
# the host), trace or read other processes' memory, or reach the syscalls only an
# administrator needs (mounts, modules, kexec, BPF, perf, swap, reboot...). They fail with
# EPERM. clone3 fails with ENOSYS: its flags are behind a pointer a filter cannot read, and
# glibc then falls back to clone, whose flags it can. Other syscall ABIs (i386 via int 0x80,
# x32) are refused outright, or they would be a way around the table.

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
CLONE_NEWUSER = 0x10000000
# name: (x86_64, aarch64)
SYSCALLS = {
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "open_by_handle_at": (304, 265),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "setns": (308, 268),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "acct": (163, 89),
    "quotactl": (179, 60),
    "lookup_dcookie": (212, 18),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
}
CLONE = (56, 220)
UNSHARE = (272, 97)
CLONE3 = (435, 435)

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
# Offsets in struct seccomp_data: nr, arch, then the arguments (the low half of the first
# one, on these little-endian machines).
_NR, _ARCH, _ARG0_LOW = 0, 4, 16


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


CHROOT = (161, 51)


def seccomp_program(machine: str, template: bool = False) -> list[tuple[int, int, int, int]]:
    """The filter for this machine, as (code, jt, jf, k) instructions; [] where unknown.
    A SnapStart template's lets mount through (its children mount their /tmp, in mount
    namespaces of their own) and refuses chroot."""
    if machine not in AUDIT_ARCH:
        return []
    column = 0 if machine == "x86_64" else 1
    eperm, enosys = _RET_ERRNO | errno.EPERM, _RET_ERRNO | errno.ENOSYS
    program = [
        (_BPF_LD_W_ABS, 0, 0, _ARCH),
        (_BPF_JEQ_K, 1, 0, AUDIT_ARCH[machine]),
        (_BPF_RET_K, 0, 0, enosys),  # another ABI
        (_BPF_LD_W_ABS, 0, 0, _NR),
    ]
    if machine == "x86_64":
        program += [(_BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), (_BPF_RET_K, 0, 0, enosys)]
    denied = dict(SYSCALLS)
    if template:
        del denied["mount"]
        denied["chroot"] = CHROOT
    for numbers in denied.values():
        program += [(_BPF_JEQ_K, 0, 1, numbers[column]), (_BPF_RET_K, 0, 0, eperm)]
    program += [
        (_BPF_JEQ_K, 0, 1, CLONE3[column]),
        (_BPF_RET_K, 0, 0, enosys),
        (_BPF_JEQ_K, 1, 0, UNSHARE[column]),
        (_BPF_JEQ_K, 0, 3, CLONE[column]),
        (_BPF_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_BPF_JSET_K, 0, 1, CLONE_NEWUSER),
        (_BPF_RET_K, 0, 0, eperm),
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
    ]
    return program


@functools.cache
def _compiled_seccomp(template: bool) -> tuple[Any, Any] | None:
    """The filter as the kernel takes it (and the array it points into, kept alive with it).
    Building it costs ~2 ms of Python: a template's spare builds it while it waits."""
    program = seccomp_program(os.uname().machine, template)
    if not program:
        return None
    filters = (_SockFilter * len(program))(*(_SockFilter(*step) for step in program))
    return _SockFprog(len(program), filters), filters


def install_seccomp(template: bool = False) -> None:
    """Apply the filter to this process (after no_new_privs, which an unprivileged filter
    needs). A machine the table does not know runs without one."""
    compiled = _compiled_seccomp(template)
    if compiled is None:
        return
    fprog = compiled[0]
    _check(
        _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
        "install the seccomp filter",
    )


# --- the Runtime API relay (private network only) --------------------------------------------


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(64)
    return listener


def _start_relay(listener: socket.socket, unix_path: str, announce: bytes = b"") -> None:
    """Serve a loopback TCP port inside the namespace, forwarding each connection to a Unix
    socket the host serves: AWS's runtime clients and SDKs only speak TCP. `announce` is
    sent first on each upstream connection."""

    def accept_forever() -> None:
        while True:
            client, _ = listener.accept()
            threading.Thread(
                target=_pump_pair, args=(client, unix_path, announce), daemon=True
            ).start()

    threading.Thread(target=accept_forever, daemon=True).start()


def _pump_pair(client: socket.socket, unix_path: str, announce: bytes = b"") -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.closing(client), contextlib.closing(upstream):
        try:
            upstream.connect(unix_path)
            upstream.sendall(announce)
        except OSError:
            return
        peers = {client: upstream, upstream: client}
        while True:
            readable, _, _ = select.select(list(peers), [], [])
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
