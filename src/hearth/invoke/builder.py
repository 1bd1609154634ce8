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

from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.environment import Environment
from hearth.invoke.launch import LaunchedProcess, Launcher
from hearth.invoke.payloads import error_payload
from hearth.invoke.runtimes import command_for, family_of, function_environment
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
# (function name, runtime family, its variables so far) → variables to set over them.
ExtraEnvironment = Callable[[str, str, Mapping[str, str]], Mapping[str, str]]

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
    ) -> None:
        self._code = code_store
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

    async def start(self, version: FunctionVersion, provisioned: bool) -> Environment:
        """A new environment of `version`, initialised and IDLE. Raises InitFailed when the
        runtime cannot initialise (the error AWS would return), LambdaError ServiceException
        when the version's code is missing from the code store."""
        if self._sandboxes is not None:
            # Before anything is opened: a wait here leaves nothing to clean up.
            await self._sandboxes.stock_tmp(version.ephemeral_storage)
        log_group = version.log_group or f"/aws/lambda/{version.function_name}"
        environment = Environment(
            function_version=version.version,
            memory_size=version.memory_size,
            timeout_seconds=version.timeout,
            log_sink=partial(self._logs.write, log_group),
            provisioned=provisioned,
            system_log=SystemLog(
                version.log_format, version.application_log_level, version.system_log_level
            ),
        )
        await environment.open(self._socket_dir)
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
        sandbox = self._prepare_sandbox(environment, version, code_tree, layer_trees, argv)
        # Where the function sees its code, layers, runtime files and Runtime API.
        task_root, layer_roots, runtime_dir = code_tree, layer_trees, None
        runtime_api, runtime_socket = environment.runtime_api, environment.runtime_socket
        if sandbox is not None:
            environment.runtime_uid = sandbox.uid
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
        if self._extra_environment is not None:
            family = family_of(version.runtime).name
            variables.update(self._extra_environment(version.function_name, family, variables))
        if family_of(version.runtime).uses_zygote:
            variables["HEARTH_RUNTIME_API_SOCKET"] = runtime_socket
        try:
            launcher = await self._launcher_for(version.runtime)
        except BaseException:
            if sandbox is not None:
                sandbox.release()
            raise
        await environment.start(partial(_launch, launcher, argv, variables, task_root, sandbox))
        return environment

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
        )

    def close(self) -> None:
        """After every environment it built is destroyed (the pool is closed)."""
        if self._sandboxes is not None:
            self._sandboxes.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


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
