"""SnapStart's templates: one per version (and revision), built when first needed or at publish.

`Templates.get` returns a version's template, building it (running the function's init in a
sandbox prepared like any environment's, see `hearth.invoke.snapstart`) when there is none or
the one there was died. Builds are shared: concurrent cold starts wait for the same one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke import snapstart
from hearth.invoke.environment import log_stream_name
from hearth.invoke.identities import FunctionIdentity, SandboxIdentities
from hearth.invoke.launchers import ZygoteLauncher
from hearth.invoke.runtimes import family_of, function_environment
from hearth.invoke.snapstart import LaunchedServer, Template
from hearth.invoke.types import InitFailed
from hearth.logs.writer import LogWriter
from hearth.models import FunctionVersion
from hearth.sandbox.isolation import PreparedSandbox, Sandboxes, share_socket_directory
from hearth.sandbox.zygote import TemplateInitError, Zygote
from hearth.store.code import CodeStore

if TYPE_CHECKING:  # the builder's callable types (it imports this module)
    from hearth.invoke.builder import ExtraEnvironment, InterpreterFor, LauncherFor


class Templates:
    def __init__(
        self,
        code_store: CodeStore,
        arns: ArnFormatter,
        logs: LogWriter,
        launcher_for: LauncherFor,
        *,
        interpreter_for: InterpreterFor,
        sandboxes: Sandboxes | None,
        extra_environment: ExtraEnvironment | None,
        socket_dir: str,
        snapstart_latest: bool,
        identities: SandboxIdentities | None = None,
    ) -> None:
        self._code = code_store
        # Where Hearth's API looks up which function a sandbox uid is: a template's own
        # (its init's requests; its forks' through a --network none relay) is its function's.
        self._identities = identities
        self._arns = arns
        self._logs = logs
        self._launcher_for = launcher_for
        self._interpreter_for = interpreter_for
        self._sandboxes = sandboxes
        self._extra_environment = extra_environment
        self._socket_dir = socket_dir
        self._snapstart_latest = snapstart_latest
        # (function, version) → (revision, the task building or that built its template).
        self._held: dict[tuple[str, str], tuple[str, asyncio.Task[Template]]] = {}

    def applies(self, version: FunctionVersion) -> bool:
        latest_too = self._snapstart_latest or (
            version.environment.get(snapstart.LATEST_VARIABLE, "").lower() == "on"
        )
        return snapstart.applies(version, latest_too)

    async def get(self, version: FunctionVersion) -> Template:
        """The version's template, built (its init run) if there is none or it died.
        Raises InitFailed when the init fails, as an environment's start does."""
        key = (version.function_name, version.version)
        held = self._held.get(key)
        if held is not None:
            revision, task = held
            reuse = revision == version.revision_id and (
                not task.done() or (task.exception() is None and task.result().alive)
            )
            if reuse:
                return await asyncio.shield(task)
            self._held.pop(key, None)
            asyncio.get_running_loop().create_task(_close_template(task))
        task = asyncio.get_running_loop().create_task(self._build(version))
        self._held[key] = (version.revision_id, task)
        try:
            return await asyncio.shield(task)
        except BaseException:
            if self._held.get(key, (None, None))[1] is task:
                self._held.pop(key, None)
            raise

    async def forget(self, keep: set[tuple[str, str, str]]) -> None:
        """Close the templates of versions not in `keep` ((function, version, revision))."""
        for key, (revision, task) in list(self._held.items()):
            if (*key, revision) not in keep:
                self._held.pop(key, None)
                await _close_template(task)

    async def close(self) -> None:
        await self.forget(set())

    async def _variables(
        self,
        version: FunctionVersion,
        stream: str,
        task_root: str,
        layer_roots: list[str],
        runtime_dir: str | None,
    ) -> dict[str, str]:
        """The template's variables: an environment's, less what each fork sets itself."""
        log_group = version.log_group or f"/aws/lambda/{version.function_name}"
        variables = function_environment(
            runtime=version.runtime,
            handler=version.handler,
            function_name=version.function_name,
            version=version.version,
            memory_size=version.memory_size,
            region=self._arns.region,
            runtime_api="127.0.0.1:9001",  # each environment gets its own after the fork
            log_group=log_group,
            log_stream=stream,
            log_format=version.log_format,
            application_log_level=version.application_log_level,
            task_root=task_root,
            layer_roots=layer_roots,
            user_variables=version.environment,
            runtime_dir=runtime_dir,
            initialization_type="snap-start",
        )
        if self._extra_environment is not None:
            family = family_of(version.runtime).name
            variables.update(
                await self._extra_environment(
                    version.function_name, version.role, family, variables
                )
            )
        return variables

    def _sandbox(
        self, version: FunctionVersion, code_tree: str, layer_trees: list[str], directory: str
    ) -> PreparedSandbox | None:
        """The template's sandbox: an environment's, showing `directory` (where its
        children's Runtime API sockets go) and mapping the uids of its children."""
        if self._sandboxes is None:
            return None
        sandbox = self._sandboxes.prepare(
            environment_id=uuid.uuid4().hex,
            memory_mb=version.memory_size,
            ephemeral_mb=version.ephemeral_storage,
            code_tree=code_tree,
            layer_trees=layer_trees,
            socket_path=directory,
            argv=None,
            interpreter=self._interpreter_for(version.runtime),
            network=self._sandboxes.network_for(version.environment),
        )
        share_socket_directory(sandbox)
        sandbox.plan["template_uids"] = self._sandboxes.take_uids(snapstart.MAX_CHILDREN)
        return sandbox

    def _trees(self, version: FunctionVersion) -> tuple[str, list[str]]:
        try:
            code_tree = str(self._code.tree(version.code_sha256_hex))
            layer_trees = [str(self._code.tree(layer.code_sha256_hex)) for layer in version.layers]
        except KeyError as exc:
            raise LambdaError(
                "ServiceException", 500, "The function's code is missing from the code store."
            ) from exc
        return code_tree, layer_trees

    async def _build(self, version: FunctionVersion) -> Template:
        log_group = version.log_group or f"/aws/lambda/{version.function_name}"
        stream = log_stream_name(version.version)
        code_tree, layer_trees = self._trees(version)
        directory = tempfile.mkdtemp(prefix="t-", dir=self._socket_dir)
        os.chmod(directory, 0o755)  # noqa: S103 - the template uid must reach its sockets
        sandbox = self._sandbox(version, code_tree, layer_trees, directory)
        if sandbox is not None and self._identities is not None:
            self._identities.bind(
                sandbox.uid, FunctionIdentity(version.function_name, version.role)
            )
        child_uids: list[int] = list(sandbox.plan["template_uids"]) if sandbox else []
        task_root, layer_roots, runtime_dir = code_tree, layer_trees, None
        inside_dir = directory
        if sandbox is not None:
            task_root, layer_roots = sandbox.task_root, sandbox.layer_roots
            runtime_dir, inside_dir = sandbox.runtime_dir, sandbox.runtime_socket
        sandboxes = self._sandboxes

        def release() -> None:
            """Once the template and its children are gone: its sandbox, uids, sockets."""
            if sandbox is not None:
                sandbox.release()
            if sandboxes is not None:
                sandboxes.give_back_uids(child_uids)
            shutil.rmtree(directory, ignore_errors=True)

        variables = await self._variables(version, stream, task_root, layer_roots, runtime_dir)
        variables["HEARTH_TEMPLATE_FD"] = "4"  # TEMPLATE_FD in hearth/runtimes/python/zygote.py
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        read_fd, write_fd = os.pipe()
        _log_lines(read_fd, lambda line: self._logs.write(log_group, stream, _now_ms(), line))
        try:
            launcher = await self._launcher_for(version.runtime)
            if not isinstance(launcher, ZygoteLauncher):
                raise LambdaError("ServiceException", 500, "SnapStart needs a Python zygote.")
            plan = sandbox.plan if sandbox is not None else None
            process = await launcher.launch(
                None, variables, task_root, write_fd, sandbox=plan, template_fd=theirs.fileno()
            )
        except BaseException:
            ours.close()
            release()
            raise
        finally:
            os.close(write_fd)
            theirs.close()
        label = f"the SnapStart template of {version.function_name}:{version.version}"
        try:
            server = await Zygote.attach(
                label, LaunchedServer(process), ours, max(10.0, float(version.timeout))
            )
        except BaseException as exc:
            # It never became ready: kill it, free what it held once it is gone.
            process.kill()
            process.exited.add_done_callback(lambda _: release())
            if isinstance(exc, TemplateInitError):
                raise InitFailed(json.dumps(exc.error).encode()) from None
            raise

        return Template(
            revision_id=version.revision_id,
            server=server,
            process=process,
            socket_dir=directory,
            inside_socket_dir=inside_dir,
            uid=sandbox.uid if sandbox is not None else None,
            runtime_api_inside=(
                sandbox.runtime_api_inside if sandbox is not None else (lambda address: address)
            ),
            sandboxed=sandbox is not None,
            release=release,
            free_uids=list(child_uids),
            tmp_bytes=version.ephemeral_storage * 1024 * 1024,
        )


async def _close_template(task: asyncio.Task[Template]) -> None:
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        template = await task
        await template.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _log_lines(fd: int, write: Callable[[str], None]) -> None:
    """Forward what a template prints during its init to its log stream, line by line."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    pending = bytearray()

    def readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            loop.remove_reader(fd)
            os.close(fd)
            if pending:
                write(pending.decode(errors="replace").replace("\r", "\n"))
            return
        pending.extend(chunk)
        *lines, rest = bytes(pending).split(b"\n")
        pending[:] = rest
        for line in lines:
            write(line.decode(errors="replace").replace("\r", "\n"))

    loop.add_reader(fd, readable)
