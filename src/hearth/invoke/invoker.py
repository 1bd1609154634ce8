"""The path of a synchronous invoke: resolve → pick a version → environment → result."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from hearth.api.runtime_api import Invocation
from hearth.arns import LATEST, ArnFormatter, FunctionRef, is_version
from hearth.errors import LambdaError, conflict, not_found
from hearth.invoke.environment import Environment, InitFailed
from hearth.invoke.launch import LaunchedProcess, Launcher
from hearth.invoke.leases import Leases
from hearth.invoke.pool import Pool, PoolKey
from hearth.invoke.runtimes import command_for, family_of, function_environment
from hearth.logs.writer import LogWriter
from hearth.models import FunctionVersion, State
from hearth.sandbox.isolation import PreparedSandbox, Sandboxes
from hearth.store.code import CodeStore
from hearth.store.registry import Registry

_Resolution = tuple[FunctionVersion | None, tuple[tuple[FunctionVersion, float], ...]]
_RESOLVE_CACHE_SIZE = 10_000

# Picks the launcher for a runtime identifier (zygote per Python version, exec otherwise).
LauncherFor = Callable[[str], Awaitable[Launcher]]
# The Python interpreter a runtime runs on (None: not a Python runtime).
InterpreterFor = Callable[[str], str | None]
# Builds the sandboxes, given the directory the invoker keeps its sockets in.
SandboxesFactory = Callable[[str], Sandboxes]
# (function name, runtime family, its variables so far) → variables to set over them.
ExtraEnvironment = Callable[[str, str, Mapping[str, str]], Mapping[str, str]]


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    executed_version: str
    function_error: str | None
    log_tail: str


def trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return f"Root={root};Parent={os.urandom(8).hex()};Sampled=0"


_NO_BOOTSTRAP = json.dumps(
    {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": "RequestId: Error: Couldn't find valid bootstrap(s): "
        "[/var/task/bootstrap /opt/bootstrap]",
    }
).encode()


def _error(message: str) -> bytes:
    return json.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message}).encode()


class Invoker:
    def __init__(
        self,
        registry: Registry,
        code_store: CodeStore,
        arns: ArnFormatter,
        logs: LogWriter,
        launcher_for: LauncherFor,
        keep_alive_seconds: float,
        leases: Leases,
        memory_budget_mb: int,
        *,
        interpreter_for: InterpreterFor = lambda runtime: None,
        sandboxes: SandboxesFactory | None = None,
        extra_environment: ExtraEnvironment | None = None,
    ) -> None:
        self._registry = registry
        self._code = code_store
        self._arns = arns
        self._logs = logs
        self._launcher_for = launcher_for
        self._interpreter_for = interpreter_for
        # AWS services' endpoint, credentials and SDK paths (hearth.services), when set.
        self._extra_environment = extra_environment
        self.leases = leases
        self.pool = Pool(self._start_environment, keep_alive_seconds, memory_budget_mb)
        # Runtime API Unix sockets live here; a short path, since socket paths are limited
        # to about 100 bytes. The sandbox's mount point for new roots lives here too.
        self._socket_dir = tempfile.mkdtemp(prefix="hearth-rt-")
        self._sandboxes = sandboxes(self._socket_dir) if sandboxes is not None else None
        self._sweep_scheduled = False
        # (name, qualifier) → the version it names and an alias's weighted extras. Cleared on
        # every control-plane change, so an update is seen by the very next invoke.
        self._resolved: dict[tuple[str, str], _Resolution] = {}

    def invalidate(self) -> None:
        """Forget cached resolutions and limits: the control plane changed something. Soon
        after, idle environments of versions that are gone (deleted, updated) are retired."""
        self._resolved.clear()
        self.leases.invalidate()
        if not self._sweep_scheduled:
            with contextlib.suppress(RuntimeError):  # no loop: nothing is running anyway
                asyncio.get_running_loop().call_soon(self._retire_gone)
                self._sweep_scheduled = True

    def _retire_gone(self) -> None:
        self._sweep_scheduled = False
        with self._registry.transaction() as tx:

            def still_current(key: PoolKey) -> bool:
                name, number, revision = key
                version = tx.get_version(name, number)
                return version is not None and version.revision_id == revision

            self.pool.retire_gone(still_current)

    def resolve(self, ref: FunctionRef) -> FunctionVersion:
        """The version to run: $LATEST, a number, or an alias's pick by its weights."""
        qualifier = ref.qualifier or LATEST
        cached = self._resolved.get((ref.name, qualifier))
        if cached is None:
            cached = self._lookup(ref.name, qualifier)
            if len(self._resolved) >= _RESOLVE_CACHE_SIZE:
                self._resolved.clear()
            self._resolved[(ref.name, qualifier)] = cached
        target, weights = cached
        if target is None:
            raise not_found(f"Function not found: {self._arns.function(ref.name, ref.qualifier)}")
        version = target
        roll = random.random()
        for extra, weight in weights:
            if roll < weight:
                version = extra
                break
            roll -= weight
        if version.state is not State.ACTIVE:
            raise conflict(
                "The operation cannot be performed at this time. The function is currently in "
                f"the following state: {version.state.value}"
            )
        return version

    def _lookup(self, name: str, qualifier: str) -> _Resolution:
        with self._registry.transaction() as tx:
            if is_version(qualifier):
                return tx.get_version(name, qualifier), ()
            alias = tx.get_alias(name, qualifier)
            if alias is None:
                return None, ()
            weights = tuple(
                (version, weight)
                for number, weight in alias.routing_weights.items()
                if (version := tx.get_version(name, number)) is not None
            )
            return tx.get_version(name, alias.function_version), weights

    async def invoke(
        self,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Run one invocation and return its result (a function error is a result too).
        `request_id`: an async event keeps its id across retries.

        Raises ResourceNotFoundException / ResourceConflictException for what cannot be
        invoked, and TooManyRequestsException (429, with AWS's Reason and Retry-After) when
        a concurrency limit or the memory budget has no room: always before the function
        runs, so the caller may retry the same event later."""
        version = self.resolve(ref)
        invocation = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            payload=payload,
            deadline_ms=int(time.time() * 1000) + version.timeout * 1000,
            invoked_function_arn=self._arns.function(ref.name, ref.qualifier),
            trace_id=trace_id(),
            client_context=client_context,
        )
        # A throttle (TooManyRequestsException) is raised here, before the function runs.
        with self.leases.lease(version.function_name, version.version):
            try:
                lease = await self.pool.acquire(version)
            except InitFailed as failure:
                return InvokeResult(failure.payload, version.version, "Unhandled", failure.log)
            try:
                outcome = await lease.environment.invoke(invocation)
            finally:
                self.pool.release(version, lease.environment)
        return InvokeResult(
            outcome.payload, version.version, outcome.function_error, outcome.log_tail
        )

    async def _start_environment(self, version: FunctionVersion, provisioned: bool) -> Environment:
        log_group = version.log_group or f"/aws/lambda/{version.function_name}"
        environment = Environment(
            function_version=version.version,
            memory_size=version.memory_size,
            timeout_seconds=version.timeout,
            log_sink=partial(self._logs.write, log_group),
            provisioned=provisioned,
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
                else _error(f"Cannot run {argv[0]}")
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

        async def launch(output_fd: int) -> LaunchedProcess:
            if sandbox is None:
                return await launcher.launch(argv, variables, task_root, output_fd)
            try:
                process = await launcher.launch(
                    argv, variables, task_root, output_fd, sandbox=sandbox.plan
                )
            except BaseException:
                sandbox.release()
                raise
            process.accounting = sandbox
            return process

        await environment.start(launch)
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

    async def close(self) -> None:
        await self.pool.close()
        if self._sandboxes is not None:
            self._sandboxes.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
