"""Building an execution environment for a function version: its code and layers, its
sandbox, its variables, its Runtime API listeners and its process.

The cold path, in one place: the pool asks `EnvironmentBuilder.start` for a new environment
(service.py hands the one to the other), so neither the pool nor the environment calls back
up into the invoker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.environment import Environment
from hearth.invoke.identities import FunctionIdentity, SandboxIdentities
from hearth.invoke.launch import LaunchedProcess, Launcher
from hearth.invoke.payloads import error_payload
from hearth.invoke.process_identities import ProcessIdentities
from hearth.invoke.runtimes import command_for, family_of, function_environment, node_major
from hearth.invoke.standby import (
    Standby,
    StandbyPool,
    start_process_standby,
    start_sandboxed_standby,
)
from hearth.invoke.templates import Templates
from hearth.invoke.types import InitFailed
from hearth.logs.system_log import SystemLog
from hearth.logs.writer import LogWriter
from hearth.models import FunctionVersion
from hearth.sandbox.isolation import PreparedSandbox, Sandboxes
from hearth.store.code import CodeStore

# Picks the launcher for a runtime identifier (zygote per Python version, exec otherwise).
LauncherFor = Callable[[str], Awaitable[Launcher]]
# The Python interpreter a runtime runs on (None: not a Python runtime).
InterpreterFor = Callable[[str], str | None]
# Builds the sandboxes, given the directory the builder keeps its sockets in.
SandboxesFactory = Callable[[str], Sandboxes]
# (function name, role, runtime family, its variables so far) → variables to set over them.
ExtraEnvironment = Callable[[str, str, str, Mapping[str, str]], Awaitable[Mapping[str, str]]]


def _read_at_boot(name: str) -> bool:
    """Whether Node (or its OpenSSL) reads this variable only when it starts."""
    if name.startswith("NODE_"):
        return name != "NODE_PATH"  # NODE_PATH is read again at assignment
    return name in {"OPENSSL_CONF", "SSL_CERT_FILE", "SSL_CERT_DIR", "UV_THREADPOOL_SIZE"}


# Any Node.js identifier: every one runs the same `node` here (see runtimes.command_for).
_NODE = "nodejs20.x"

_NO_BOOTSTRAP = error_payload(
    "Runtime.InvalidEntrypoint",
    "RequestId: Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
)


class EnvironmentBuilder:
    def __init__(
        self,
        code_store: CodeStore,
        arns: ArnFormatter,
        logs: LogWriter,
        launcher_for: LauncherFor,
        *,
        interpreter_for: InterpreterFor = lambda runtime: None,
        sandboxes: SandboxesFactory | None = None,
        extra_environment: ExtraEnvironment | None = None,
        identities: SandboxIdentities | None = None,
        processes: ProcessIdentities | None = None,
        snapstart_latest: bool = False,
        snapstart_spare: bool = True,
        node_standbys: int = 0,
    ) -> None:
        """node_standbys: how many Node.js runtimes to keep started ahead of need
        (hearth.invoke.standby); 0 starts each one when its environment is made."""
        self._code = code_store
        # Where Hearth's API looks up which function a sandbox uid is.
        self._identities = identities
        # Not sandboxed: which function each environment's process is (by its sockets).
        self._processes = processes
        # AWS services' endpoint, credentials and SDK paths (hearth.services), when set.
        self._extra_environment = extra_environment
        self._arns = arns
        self._logs = logs
        self._launcher_for = launcher_for
        self._interpreter_for = interpreter_for
        # Runtime API Unix sockets live here; a short path, since socket paths are limited
        # to about 100 bytes. The sandbox's mount point for new roots lives here too.
        self._socket_dir = tempfile.mkdtemp(prefix="hearth-rt-")
        self._sandboxes = sandboxes(self._socket_dir) if sandboxes is not None else None
        # SnapStart: each version's template, from which its environments are forked.
        self.templates = Templates(
            code_store,
            arns,
            logs,
            launcher_for,
            interpreter_for=interpreter_for,
            sandboxes=self._sandboxes,
            extra_environment=extra_environment,
            socket_dir=self._socket_dir,
            snapstart_latest=snapstart_latest,
            snapstart_spare=snapstart_spare,
            identities=identities,
        )
        self._standbys = StandbyPool(self._start_standby, node_standbys) if node_standbys else None

    async def start(self, version: FunctionVersion, provisioned: bool) -> Environment:
        """A new environment of `version`, initialised and IDLE. Raises InitFailed when the
        runtime cannot initialise (the error AWS would return), LambdaError ServiceException
        when the version's code is missing from the code store."""
        if self.templates.applies(version):
            return await self._start_forked(version, provisioned)
        if self._sandboxes is not None:
            # Before anything is opened: a wait here leaves nothing to clean up.
            await self._sandboxes.stock_tmp(version.ephemeral_storage)
        log_group = _log_group(version)
        environment = self._new_environment(version, provisioned)
        await environment.open(self._socket_dir)
        code_tree, layer_trees, argv = await self._code_of(version, environment)
        standby = self._take_standby(version)
        late: dict[str, Any] = {}
        if standby is not None:
            sandbox, late = self._assign_sandbox(
                standby, environment, version, code_tree, layer_trees
            )
        else:
            sandbox = self._prepare_sandbox(environment, version, code_tree, layer_trees, argv)
        # Where the function sees its code, layers, runtime files and Runtime API.
        task_root, layer_roots, runtime_dir = code_tree, layer_trees, None
        runtime_api, runtime_socket = environment.runtime_api, environment.runtime_socket
        if sandbox is not None:
            environment.runtime_uid = sandbox.uid
            if self._identities is not None:
                self._identities.bind(
                    sandbox.uid, FunctionIdentity(version.function_name, version.role)
                )
            task_root, layer_roots = sandbox.task_root, sandbox.layer_roots
            runtime_dir, runtime_socket = sandbox.runtime_dir, sandbox.runtime_socket
            runtime_api = sandbox.runtime_api_inside(runtime_api)
        variables = function_environment(
            runtime=version.runtime,
            handler=version.handler,
            function_name=version.function_name,
            version=version.version,
            memory_size=version.memory_size,
            region=self._arns.region,
            runtime_api=runtime_api,
            log_group=log_group,
            log_stream=environment.stream,
            log_format=version.log_format,
            application_log_level=version.application_log_level,
            task_root=task_root,
            layer_roots=layer_roots,
            user_variables=version.environment,
            runtime_dir=runtime_dir,
            initialization_type="provisioned-concurrency" if provisioned else "on-demand",
        )
        try:
            variables.update(await self._services_environment(version, variables))
        except BaseException:
            if sandbox is not None:
                sandbox.release()
            await environment.destroy()
            raise
        if family_of(version.runtime).name in ("python", "node"):
            # Hearth's own runtime clients use the Unix socket (faster than loopback TCP).
            variables["HEARTH_RUNTIME_API_SOCKET"] = runtime_socket
        if standby is not None:
            assign = partial(_assign, standby, variables, task_root, sandbox, late)
            await environment.start(self._named(version, assign, sandbox))
            return environment
        try:
            launcher = await self._launcher_for(version.runtime)
        except BaseException:
            if sandbox is not None:
                sandbox.release()
            raise
        await environment.start(
            self._launch_of(version, launcher, argv, variables, task_root, sandbox)
        )
        return environment

    def _launch_of(
        self,
        version: FunctionVersion,
        launcher: Launcher,
        argv: list[str] | None,
        variables: dict[str, str],
        task_root: str,
        sandbox: PreparedSandbox | None,
    ) -> Callable[[int], Awaitable[LaunchedProcess]]:
        launch = partial(_launch, launcher, argv, variables, task_root, sandbox)
        return self._named(version, launch, sandbox)

    def _named(
        self,
        version: FunctionVersion,
        launch: Callable[[int], Awaitable[LaunchedProcess]],
        sandbox: PreparedSandbox | None,
    ) -> Callable[[int], Awaitable[LaunchedProcess]]:
        """Plain processes: `launch`, then the process named as the function's (by pid)."""
        if sandbox is None and self._processes is not None:
            return partial(_bound, launch, self._processes, _identity(version))
        return launch

    def _new_environment(self, version: FunctionVersion, provisioned: bool) -> Environment:
        return Environment(
            function_version=version.version,
            memory_size=version.memory_size,
            timeout_seconds=version.timeout,
            log_sink=partial(self._logs.write, _log_group(version)),
            provisioned=provisioned,
            system_log=SystemLog(
                version.log_format, version.application_log_level, version.system_log_level
            ),
        )

    async def _code_of(
        self, version: FunctionVersion, environment: Environment
    ) -> tuple[str, list[str], list[str] | None]:
        """The version's code and layer trees and the command its runtime runs (None: the
        Python zygote); destroys `environment` and raises when they cannot be used."""
        try:
            code_tree = str(self._code.tree(version.code_sha256_hex))
            layer_trees = [str(self._code.tree(layer.code_sha256_hex)) for layer in version.layers]
        except KeyError as exc:
            await environment.destroy()
            raise LambdaError(
                "ServiceException", 500, "The function's code is missing from the code store."
            ) from exc
        argv = command_for(version.runtime, code_tree)
        if argv is not None and not os.access(argv[0], os.X_OK):
            await environment.destroy()
            raise InitFailed(
                _NO_BOOTSTRAP
                if family_of(version.runtime).name == "provided"
                else error_payload("Runtime.InvalidEntrypoint", f"Cannot run {argv[0]}")
            )
        return code_tree, layer_trees, argv

    async def _services_environment(
        self, version: FunctionVersion, variables: dict[str, str]
    ) -> Mapping[str, str]:
        """The AWS services' endpoint, the role's credentials and SDK paths (none unset)."""
        if self._extra_environment is None:
            return {}
        family = family_of(version.runtime).name
        return await self._extra_environment(version.function_name, version.role, family, variables)

    # Standby Node.js runtimes -------------------------------------------------------------
    def prewarm(self, runtimes: set[str]) -> None:
        """Start the standbys now when these runtimes (the registry's) include Node.js, so
        the first Node.js cold start after a restart already finds one."""
        if self._standbys is not None and any(family_of(r).name == "node" for r in runtimes):
            self._standbys.fill_soon()

    def _take_standby(self, version: FunctionVersion) -> Standby | None:
        if self._standbys is None or family_of(version.runtime).name != "node":
            return None
        # Variables Node reads only as it boots (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, ...):
        # a standby booted without them, so such a function boots its own runtime.
        if any(_read_at_boot(name) for name in version.environment):
            return None
        # Standbys have the host's default network; a function that asks for another one
        # starts its runtime the ordinary way.
        if self._sandboxes is not None and self._sandboxes.network_for(
            version.environment
        ) is not self._sandboxes.network_for({}):
            return None
        return self._standbys.take()

    async def _start_standby(self) -> Standby:
        argv = command_for(_NODE, "")
        assert argv is not None
        if self._sandboxes is None:
            return await start_process_standby(argv)
        launcher = await self._launcher_for(_NODE)
        return await start_sandboxed_standby(argv, launcher, self._sandboxes)

    def _assign_sandbox(
        self,
        standby: Standby,
        environment: Environment,
        version: FunctionVersion,
        code_tree: str,
        layer_trees: list[str],
    ) -> tuple[PreparedSandbox | None, dict[str, Any]]:
        if self._sandboxes is None or standby.sandbox is None:
            return None, {}
        return self._sandboxes.assign(
            standby.sandbox,
            environment_id=environment.id,
            memory_mb=version.memory_size,
            ephemeral_mb=version.ephemeral_storage,
            code_tree=code_tree,
            layer_trees=layer_trees,
            socket_path=environment.runtime_socket,
            node_major=node_major(version.runtime),
        )

    def _prepare_sandbox(
        self,
        environment: Environment,
        version: FunctionVersion,
        code_tree: str,
        layer_trees: list[str],
        argv: list[str] | None,
    ) -> PreparedSandbox | None:
        if self._sandboxes is None:
            return None
        return self._sandboxes.prepare(
            environment_id=environment.id,
            memory_mb=version.memory_size,
            ephemeral_mb=version.ephemeral_storage,
            code_tree=code_tree,
            layer_trees=layer_trees,
            socket_path=environment.runtime_socket,
            argv=argv,
            interpreter=self._interpreter_for(version.runtime),
            network=self._sandboxes.network_for(version.environment),
            node_major=node_major(version.runtime),
        )

    async def _start_forked(self, version: FunctionVersion, provisioned: bool) -> Environment:
        """A new environment of `version`, forked from its template."""
        template = await self.templates.get(version)
        environment = self._new_environment(version, provisioned)
        environment.restored = True
        await environment.open(template.socket_dir)
        try:
            uid = template.take_uid()
        except RuntimeError as exc:
            await environment.destroy()
            raise LambdaError("ServiceException", 500, str(exc)) from exc
        if uid is not None:
            os.chown(environment.runtime_socket, uid, uid)
            environment.runtime_uid = uid
            if self._identities is not None:  # Hearth's API tells this function by its uid
                self._identities.bind(uid, FunctionIdentity(version.function_name, version.role))
        inside_socket = os.path.join(
            template.inside_socket_dir, os.path.basename(environment.runtime_socket)
        )
        variables = {
            "AWS_LAMBDA_LOG_STREAM_NAME": environment.stream,
            "AWS_LAMBDA_RUNTIME_API": template.runtime_api_inside(environment.runtime_api),
            "HEARTH_RUNTIME_API_SOCKET": inside_socket,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        }
        cgroup = (
            self._sandboxes.cgroup_for(environment.id, version.memory_size)
            if self._sandboxes is not None
            else None
        )

        async def launch(output_fd: int) -> LaunchedProcess:
            try:
                return await template.spawn(variables, cgroup, uid, output_fd)
            except BaseException:
                if cgroup is not None:
                    cgroup.remove()
                raise

        await environment.start(launch)
        return environment

    def close(self) -> None:
        """After every environment it built is destroyed (the pool is closed)."""
        if self._standbys is not None:
            self._standbys.close_now()
        if self._sandboxes is not None:
            self._sandboxes.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def _log_group(version: FunctionVersion) -> str:
    return version.log_group or f"/aws/lambda/{version.function_name}"


async def _launch(
    launcher: Launcher,
    argv: Sequence[str] | None,
    variables: dict[str, str],
    task_root: str,
    sandbox: PreparedSandbox | None,
    output_fd: int,
) -> LaunchedProcess:
    """Start the environment's process (in its sandbox, when it has one): what
    Environment.start calls once its output pipe exists."""
    if sandbox is None:
        return await launcher.launch(argv, variables, task_root, output_fd)
    try:
        process = await launcher.launch(argv, variables, task_root, output_fd, sandbox=sandbox.plan)
    except BaseException:
        sandbox.release()
        raise
    process.accounting = sandbox
    return process


def _identity(version: FunctionVersion) -> FunctionIdentity:
    return FunctionIdentity(version.function_name, version.role)


async def _bound(
    launch: Callable[[int], Awaitable[LaunchedProcess]],
    processes: ProcessIdentities,
    identity: FunctionIdentity,
    output_fd: int,
) -> LaunchedProcess:
    """Launch, and name the process as the function's as soon as its pid is known (its
    init's requests are the function's too: a runtime connects only once it has booted,
    well after the fork this awaits), until it exits (pids are reused)."""
    process = await launch(output_fd)
    processes.bind(process.pid, identity)
    process.exited.add_done_callback(lambda _: processes.unbind(process.pid))
    return process


async def _assign(
    standby: Standby,
    variables: dict[str, str],
    task_root: str,
    sandbox: PreparedSandbox | None,
    late: dict[str, Any],
    output_fd: int,
) -> LaunchedProcess:
    """Give a standby runtime its function (what Environment.start calls instead of a
    launch; the standby writes to a pipe of its own, not output_fd)."""
    assignment: dict[str, Any] = {"env": variables, "cwd": task_root}
    process = standby.assign({**late, "assignment": assignment} if sandbox else assignment)
    process.accounting = sandbox
    return process
