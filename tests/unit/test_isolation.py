"""The host side of the sandbox: the isolation choice, the plan, uids and cgroup files.

The plan is pure data, so what a function may see is decided (and tested) here; the
sandboxed processes themselves are tested in tests/integration/test_sandbox_attacks.py.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from hearth.sandbox.cgroups import CgroupLayout, Cgroups
from hearth.sandbox.choice import SandboxUnavailable, choose_isolation
from hearth.sandbox.etc_view import EtcView
from hearth.sandbox.host_relay import loopback_target
from hearth.sandbox.isolation import (
    FIRST_UID,
    HOST_RUNTIMES_DIR,
    EtcLayers,
    Isolation,
    Network,
    ServiceReach,
    UidPool,
    _own_etc,
    build_plan,
    inside_argv,
    late_plan,
    node_module_links,
    system_layout,
)
from tests.unit.test_capabilities import FULL

# A capable host whose three controllers are all on cgroup v1.
HOST = dataclasses.replace(
    FULL,
    cgroup_v1=(
        ("cpu", "/sys/fs/cgroup/cpu"),
        ("memory", "/sys/fs/cgroup/memory"),
        ("pids", "/sys/fs/cgroup/pids"),
    ),
    cgroup_v2_controllers=frozenset(),
)


# --- choosing -------------------------------------------------------------------------------


def accept(layout: CgroupLayout) -> None:
    """Stands in for the real trial, which would touch this machine's cgroups."""


def test_a_hierarchy_that_refuses_limits_means_no_cgroups() -> None:
    choice = choose_isolation(Isolation.AUTO, HOST, lambda layout: "cannot set limits: EINVAL")
    assert choice.sandboxed and choice.cgroups is None
    assert "NO cgroup limits (cannot set limits: EINVAL)" in choice.description


def test_auto_sandboxes_a_capable_host_with_cgroup_limits() -> None:
    choice = choose_isolation(Isolation.AUTO, HOST, accept)
    assert choice.sandboxed and choice.cgroups is not None
    assert choice.cgroups.v1["memory"] == Path("/sys/fs/cgroup/memory")
    assert "cgroup v1 memory/pids/cpu limits" in choice.description


def test_mixed_v1_and_v2_controllers() -> None:
    caps = dataclasses.replace(
        HOST,
        cgroup_v1=(("memory", "/sys/fs/cgroup/memory"),),
        cgroup_v2_controllers=frozenset({"cpu", "pids"}),
    )
    choice = choose_isolation(Isolation.AUTO, caps, accept)
    assert choice.cgroups is not None
    assert choice.cgroups.v2 == Path("/sys/fs/cgroup/unified")
    assert "cgroup v1+v2" in choice.description


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"os_name": "darwin"}, "darwin is not Linux"),
        ({"is_root": False}, "not running as root"),
        ({"namespaces": frozenset({"net"})}, "cannot create ipc, mount, pid, uts namespaces"),
    ],
)
def test_hosts_that_cannot_sandbox_fall_back_loudly(changes: dict[str, Any], why: str) -> None:
    caps = dataclasses.replace(HOST, **changes)
    choice = choose_isolation(Isolation.AUTO, caps, accept)
    assert not choice.sandboxed
    assert choice.description.startswith("processes+rlimits: NOT ISOLATED")
    assert why in choice.description
    with pytest.raises(SandboxUnavailable, match=why):
        choose_isolation(Isolation.SANDBOX, caps, accept)


def test_no_cgroups_still_sandboxes_and_says_what_is_missing() -> None:
    caps = dataclasses.replace(HOST, cgroups_writable=False)
    choice = choose_isolation(Isolation.AUTO, caps, accept)
    assert choice.sandboxed and choice.cgroups is None
    assert "NO cgroup limits (cgroups are not writable by this user)" in choice.description


def test_process_isolation_on_request() -> None:
    choice = choose_isolation(Isolation.PROCESS, HOST, accept)
    assert not choice.sandboxed
    assert "(--isolation process)" in choice.description


# --- the plan -------------------------------------------------------------------------------


def plan(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "root": "/run/x/root",
        "system": [["bind", "/usr", "/usr"], ["symlink", "usr/bin", "/bin"]],
        "code_tree": "/data/code/trees/abc",
        "layer_trees": [],
        "socket_path": "/run/x/env.sock",
        "tmp_bytes": 512 << 20,
        "uid": FIRST_UID,
        "network": Network.HOST,
        "relay": False,
        "hostname": "h",
        "argv": None,
        "expose": [],
        "cgroup_procs": ["/sys/fs/cgroup/memory/hearth-1/e/tasks"],
    }
    arguments.update(overrides)
    return build_plan(**arguments)


def targets(result: dict[str, Any]) -> dict[str, list[Any]]:
    def target(step: list[Any]) -> str:
        if step[0] == "etc":
            return "/etc"
        return str(step[1] if step[0] in ("tmpfs", "file") else step[-1])

    return {target(step): step for step in result["layout"]}


def test_the_plan_shows_code_runtime_and_tmp_like_aws() -> None:
    result = plan()
    steps = targets(result)
    assert steps["/var/task"] == ["tree", "/data/code/trees/abc", "/var/task"]
    assert steps["/var/runtime"] == ["tree", str(HOST_RUNTIMES_DIR), "/var/runtime"]
    assert steps["/tmp"] == ["tmpfs", "/tmp", 512 << 20, "1777"]
    assert steps["/run/hearth/runtime.sock"][0] == "bind_rw"  # the only writable bind
    assert steps["/opt"] == ["dir", "/opt"]
    assert result["cwd"] == "/var/task" and result["uid"] == result["gid"] == FIRST_UID
    assert result["network"] is False and result["relay"] is None
    # Nothing of the data dir but the function's own tree.
    assert [s for s in result["layout"] if "/data" in str(s)] == [steps["/var/task"]]


def test_layers_merge_at_opt_with_the_last_layer_on_top() -> None:
    assert targets(plan(layer_trees=["/l/one"]))["/opt"] == ["tree", "/l/one", "/opt"]
    merged = targets(plan(layer_trees=["/l/one", "/l/two", "/l/three"]))["/opt"]
    assert merged == ["overlay", ["/l/three", "/l/two", "/l/one"], "/opt"]


def test_exposed_paths_are_read_only_and_not_repeated() -> None:
    result = plan(expose=["/usr/local/lib/python3.12", "/root/.pyenv/versions/3.12.1"])
    binds = [s for s in result["layout"] if s[0] == "bind"]
    assert ["bind", "/root/.pyenv/versions/3.12.1", "/root/.pyenv/versions/3.12.1"] in binds
    assert not any(s[1] == "/usr/local/lib/python3.12" for s in binds)  # /usr shows it


def test_a_private_network_relays_the_services_endpoint() -> None:
    reach = ServiceReach("/tmp/hearth-services-x/services.sock", ("127.0.0.1", 8080))
    result = plan(network=Network.NONE, services=reach)
    assert result["services_relay"] == ["127.0.0.1", 8080, "/run/hearth/services.sock"]
    assert targets(result)["/run/hearth/services.sock"] == [
        "bind_rw",
        "/tmp/hearth-services-x/services.sock",
        "/run/hearth/services.sock",
    ]
    # The host network needs no relay; before Hearth listens there is nothing to relay to.
    assert plan(network=Network.HOST, services=reach)["services_relay"] is None
    waiting = ServiceReach("/tmp/hearth-services-x/services.sock")
    assert plan(network=Network.NONE, services=waiting)["services_relay"] is None
    assert "/run/hearth/services.sock" not in targets(plan(network=Network.NONE))


def test_only_loopback_http_endpoints_are_relayed() -> None:
    assert loopback_target("http://127.0.0.1:4566") == ("127.0.0.1", 4566)
    assert loopback_target("http://localhost:8080/") == ("127.0.0.1", 8080)
    assert loopback_target("http://[::1]:9000") == ("::1", 9000)
    assert loopback_target("https://127.0.0.1:443") is None
    assert loopback_target("http://s3.example.com") is None
    assert loopback_target(None) is None


def test_a_private_network_relays_the_runtime_api_for_tcp_clients() -> None:
    result = plan(network=Network.NONE, relay=True, argv=["/usr/bin/node", "/x.mjs"])
    assert result["network"] is True
    assert result["relay"] == [9001, "/run/hearth/runtime.sock"]
    assert plan(network=Network.NONE, relay=False)["relay"] is None


def test_commands_are_rewritten_to_inside_paths() -> None:
    code = "/data/code/trees/abc"
    assert inside_argv([f"{code}/bootstrap"], code) == ["/var/task/bootstrap"]
    node = ["/usr/bin/node", f"{HOST_RUNTIMES_DIR}/node/bootstrap.mjs"]
    assert inside_argv(node, code) == ["/usr/bin/node", "/var/runtime/node/bootstrap.mjs"]
    assert inside_argv(None, code) is None


def test_system_layout_copies_symlinks_and_shows_directories_as_trees(tmp_path: Path) -> None:
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "bin").symlink_to("usr/bin")
    (tmp_path / "home").mkdir()  # never shown
    # Trees (overlays named /proc/self/fd/N), not binds, whose mountinfo names host paths.
    assert system_layout(tmp_path) == [
        ["symlink", "usr/bin", "/bin"],
        ["tree", str(tmp_path / "usr"), "/usr"],
    ]


def test_etc_is_one_union_of_the_sandboxs_own_files_over_staged_copies(tmp_path: Path) -> None:
    host = tmp_path / "etc"
    (host / "ssl" / "certs").mkdir(parents=True)
    (host / "ssl" / "certs" / "ca.pem").symlink_to("/usr/share/ca/ca.pem")
    (host / "hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "zone").write_text("UTC")
    (host / "localtime").symlink_to(tmp_path / "zone")
    (host / "timezone").symlink_to("/nowhere")  # broken: left out
    (host / "shadow").write_text("secret")  # never shown
    work = tmp_path / "work"
    work.mkdir()
    view = EtcView(str(work), ("hosts", "localtime", "ssl", "timezone"), host_etc=host)
    staged = Path(view.acquire())  # a sandbox shows these copies
    assert sorted(p.name for p in staged.iterdir()) == ["hosts", "localtime", "ssl"]
    assert (staged / "localtime").read_text() == "UTC"  # a link copied as what it leads to
    assert os.readlink(staged / "ssl" / "certs" / "ca.pem") == "/usr/share/ca/ca.pem"
    assert view.current() == str(staged)  # unchanged: the same copies
    (host / "hosts").write_text("10.0.0.1 db\n")
    os.utime(host / "hosts", (1, 1))
    view._checked = 0.0  # past the check interval
    again = Path(view.current())
    assert again != staged and (again / "hosts").read_text() == "10.0.0.1 db\n"
    assert (staged / "hosts").read_text() == "127.0.0.1 localhost\n"  # a running one's stays
    view.release(str(staged))  # its last sandbox gone: the old copies go
    assert not staged.exists() and again.is_dir()
    view.release(view.acquire())  # the current copies stay, shown or not
    assert again.is_dir()

    result = plan(etc=EtcLayers(str(again), view.scratch))
    etc = [step for step in result["layout"] if step[0] == "etc"]
    assert etc == [["etc", str(again), view.scratch, _own_etc(FIRST_UID)]]
    assert f"sbx_user1051:x:{FIRST_UID}:{FIRST_UID}:" in etc[0][3][0][1]
    assert not any(str(step[1]).startswith("/etc/") for step in result["layout"])
    assert targets(result)["/lambda-entrypoint.sh"][0] == "file"


def test_a_runtimes_program_is_shown_under_var_lang() -> None:
    node = ["/usr/bin/node", f"{HOST_RUNTIMES_DIR}/node/bootstrap.mjs"]
    real = os.path.realpath("/usr/bin/node")
    prefix = str(Path(real).parent.parent)
    inside = inside_argv(node, None, prefix)
    assert inside == [f"/var/lang/bin/{Path(real).name}", "/var/runtime/node/bootstrap.mjs"]
    result = plan(argv=node, lang=prefix)
    assert targets(result)["/var/lang"] == ["tree", prefix, "/var/lang"]


def test_uids_are_unique_among_live_environments() -> None:
    pool = UidPool(first=1000, size=3)
    taken = [pool.take(), pool.take(), pool.take()]
    assert sorted(taken) == [1000, 1001, 1002]
    with pytest.raises(RuntimeError):
        pool.take()
    pool.give_back(1001)
    assert pool.take() == 1001


# --- cgroup files (a directory standing in for cgroupfs) ---------------------------------


def fake_v1(root: Path) -> CgroupLayout:
    mounts = {name: root / name for name in ("memory", "pids", "cpu")}
    for mount in mounts.values():
        mount.mkdir()
    return CgroupLayout(v1=mounts, v2=None)


def test_v1_limits_follow_memory_size(tmp_path: Path) -> None:
    cgroups = Cgroups(fake_v1(tmp_path), owner_pid=4242)
    env = cgroups.create("env1", 1769)
    memory = tmp_path / "memory" / "hearth-4242" / "env1"
    assert (memory / "memory.limit_in_bytes").read_text() == str(1769 << 20)
    assert (tmp_path / "pids" / "hearth-4242" / "env1" / "pids.max").read_text() == "1024"
    cpu = tmp_path / "cpu" / "hearth-4242" / "env1"
    assert (cpu / "cpu.shares").read_text() == "1024"
    assert not (cpu / "cpu.cfs_quota_us").exists()  # not during init
    env.limit_cpu()
    assert (cpu / "cpu.cfs_quota_us").read_text() == "100000"  # 1769 MB = one vCPU
    assert env.procs_files == [
        str(tmp_path / c / "hearth-4242" / "env1" / "tasks") for c in ("memory", "pids", "cpu")
    ]


def test_v1_oom_and_peak_are_read_from_the_memory_controller(tmp_path: Path) -> None:
    env = Cgroups(fake_v1(tmp_path), owner_pid=1).create("e", 128)
    memory = tmp_path / "memory" / "hearth-1" / "e"
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    (memory / "memory.max_usage_in_bytes").write_text(str(50 << 20))
    assert not env.out_of_memory()
    assert env.max_memory_bytes() == 50 << 20
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert env.out_of_memory()


def test_v2_limits_use_the_unified_files(tmp_path: Path) -> None:
    env = Cgroups(CgroupLayout(v1={}, v2=tmp_path), owner_pid=7).create("e", 128)
    directory = tmp_path / "hearth-7" / "e"
    assert (directory / "memory.max").read_text() == str(128 << 20)
    assert (directory / "memory.swap.max").read_text() == "0"
    assert (directory / "pids.max").read_text() == "1024"
    assert (tmp_path / "hearth-7" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    env.limit_cpu()
    assert (directory / "cpu.max").read_text() == f"{100000 * 128 // 1769} 100000"
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert env.out_of_memory()
    assert env.procs_files == [str(directory / "cgroup.procs")]


def test_a_dead_servers_cgroups_are_swept(tmp_path: Path) -> None:
    layout = fake_v1(tmp_path)
    stale = tmp_path / "memory" / "hearth-999999999" / "old-env"
    stale.mkdir(parents=True)
    Cgroups(layout, owner_pid=5)
    assert not stale.parent.exists()


def test_a_busy_cgroup_is_removed_later_without_waiting(tmp_path: Path) -> None:
    cgroups = Cgroups(fake_v1(tmp_path), owner_pid=3)
    env = cgroups.create("busy", 128)
    memory = tmp_path / "memory" / "hearth-3" / "busy"
    for directory in (tmp_path / c / "hearth-3" / "busy" for c in ("pids", "cpu")):
        for leftover in directory.iterdir():
            leftover.unlink()
    # memory still holds its files here, as the kernel holds a cgroup whose last process
    # is still exiting: rmdir fails, and remove() returns at once.
    env.remove()
    assert memory.exists() and not (tmp_path / "pids" / "hearth-3" / "busy").exists()
    for leftover in memory.iterdir():
        leftover.unlink()
    cgroups.create("next", 128)
    assert not memory.exists()


def test_mounts_come_after_the_mounts_they_sit_on() -> None:
    # A checkout under /tmp, exposed: its bind must come after /tmp's tmpfs, not be hidden.
    result = plan(expose=["/tmp/checkout/.venv"])
    order = [s[1] if s[0] in ("dir", "tmpfs") else s[2] for s in result["layout"]]
    assert order.index("/tmp") < order.index("/tmp/checkout/.venv")
    assert order.index("/var") < order.index("/var/task")


def test_a_standby_plan_has_mount_points_and_no_function() -> None:
    result = plan(code_tree=None, cgroup_procs=(), argv=["/usr/bin/node", "/rt/bootstrap.mjs"])
    assert result["standby"] is True
    steps = {tuple(step[:2]) for step in result["layout"]}
    assert {("dir", "/var/task"), ("dir", "/opt"), ("file", "/run/hearth/runtime.sock")} <= steps
    assert not any("/data/code" in str(step) for step in result["layout"])
    assert result["cgroup_procs"] == []
    assert plan()["standby"] is False


def test_the_late_plan_mounts_what_build_plan_would() -> None:
    late = late_plan(
        code_tree="/data/code/trees/abc",
        layer_trees=["/l1", "/l2"],
        socket_path="/run/x/env.sock",
        tmp_bytes=1024 << 20,
        hostname="hearth-abc",
        cgroup_procs=["/sys/fs/cgroup/memory/hearth-1/e/tasks"],
    )
    assert late["layout"] == [
        ["tree", "/data/code/trees/abc", "/var/task"],
        ["bind_rw", "/run/x/env.sock", "/run/hearth/runtime.sock"],
        ["tmpfs_size", "/tmp", 1024 << 20],
        ["overlay", ["/l2", "/l1"], "/opt"],  # the last layer listed wins, as on AWS
    ]
    assert (late["hostname"], late["empty"]) == ("hearth-abc", "/run/hearth/empty")
    assert late["cgroup_procs"] == ["/sys/fs/cgroup/memory/hearth-1/e/tasks"]


# --- ES module resolution without a hook (issue #18) ----------------------------------------


def _packages(folder: Path, *names: str) -> str:
    for name in names:
        (folder / name).mkdir(parents=True)
    return str(folder)


def test_node_module_links_follow_aws_node_path_order(tmp_path: Path) -> None:
    # NODE_PATH: /opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:<the SDK's>, where
    # /opt is the layers merged; the first folder with a package wins.
    one, two = tmp_path / "l1", tmp_path / "l2"
    _packages(one / "nodejs/node_modules", "greet", "shared", ".bin", "@me/a")
    _packages(two / "nodejs/node20/node_modules", "shared", "@aws-sdk/client-s3")
    sdk = _packages(tmp_path / "sdk", "@aws-sdk/client-s3", "@aws-sdk/client-sqs", "@smithy/x")
    links = node_module_links([str(one), str(two)], "20", (sdk, "/var/runtime/sdk"))
    assert sorted(links) == [
        ["@aws-sdk/client-s3", "/opt/nodejs/node20/node_modules/@aws-sdk/client-s3"],
        ["@aws-sdk/client-sqs", "/var/runtime/sdk/@aws-sdk/client-sqs"],  # a scope merged
        ["@me", "/opt/nodejs/node_modules/@me"],  # a scope in one folder: one link
        ["@smithy", "/var/runtime/sdk/@smithy"],
        ["greet", "/opt/nodejs/node_modules/greet"],
        ["shared", "/opt/nodejs/node20/node_modules/shared"],
    ]
    assert node_module_links([], "22", None) == []
    assert node_module_links([], "20", (str(tmp_path / "none"), "/x")) == []


def test_only_folders_inside_their_own_layer_are_listed(tmp_path: Path) -> None:
    """Listed on the host: a layer's symlink must not make it list a host folder."""
    secret = _packages(tmp_path / "secret", "host-only")
    hostile = tmp_path / "hostile"
    (hostile / "nodejs").mkdir(parents=True)
    (hostile / "nodejs/node_modules").symlink_to(secret)
    (hostile / "nodejs/node20").symlink_to("/etc")
    inner = tmp_path / "inner"
    _packages(inner / "lib/node_modules", "fine")
    (inner / "nodejs").mkdir()
    (inner / "nodejs/node_modules").symlink_to("../lib/node_modules")  # within the layer
    links = node_module_links([str(hostile), str(inner)], "20", None)
    assert links == [["fine", "/opt/nodejs/node_modules/fine"]]


def test_node_modules_links_sit_where_esm_resolution_ends() -> None:
    links = [["greet", "/opt/nodejs/node_modules/greet"], ["@s/p", "/var/runtime/x/@s/p"]]
    assert not any(step[0] == "links" for step in plan()["layout"])
    built = plan(node_modules=links)["layout"]
    assert ["links", "/node_modules", links] in built
    standby = plan(code_tree=None, cgroup_procs=(), node_modules=links)
    assert ["dir", "/node_modules"] in standby["layout"]  # a mount point; the late plan fills it
    assert not any(step[0] == "links" for step in standby["layout"])
    late = late_plan(
        code_tree="/c",
        layer_trees=[],
        socket_path="/s",
        tmp_bytes=1,
        hostname="h",
        cgroup_procs=(),
        node_modules=links,
    )
    assert late["layout"][-1] == ["links", "/node_modules", links]
    assert all(
        step[0] != "links"
        for step in late_plan(
            code_tree="/c",
            layer_trees=[],
            socket_path="/s",
            tmp_bytes=1,
            hostname="h",
            cgroup_procs=(),
        )["layout"]
    )
