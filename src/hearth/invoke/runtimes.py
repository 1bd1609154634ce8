"""What each runtime identifier runs, and the environment variables a function sees."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RUNTIMES_DIR = Path(__file__).resolve().parent.parent / "runtimes"
NODE_BOOTSTRAP = RUNTIMES_DIR / "node" / "bootstrap.mjs"


@dataclass(frozen=True)
class RuntimeFamily:
    name: str  # "python" | "node" | "provided"

    @property
    def uses_zygote(self) -> bool:
        return self.name == "python"


def family_of(runtime: str) -> RuntimeFamily:
    if runtime.startswith("python"):
        return RuntimeFamily("python")
    if runtime.startswith("nodejs"):
        return RuntimeFamily("node")
    return RuntimeFamily("provided")


def node_major(runtime: str) -> str | None:
    """A Node.js runtime's major version ("nodejs20.x" -> "20"); None for other runtimes."""
    if family_of(runtime).name != "node":
        return None
    return runtime.removeprefix("nodejs").split(".")[0]


def command_for(runtime: str, task_root: str) -> list[str] | None:
    """The command a non-zygote runtime execs; None for Python (forked from its zygote)."""
    family = family_of(runtime)
    if family.name == "node":
        return [shutil.which("node") or "node", str(NODE_BOOTSTRAP)]
    if family.name == "provided":
        return [os.path.join(task_root, "bootstrap")]
    return None


def layer_paths(runtime: str, layer_roots: Sequence[str]) -> dict[str, list[str]]:
    """Where AWS puts layer content on the search paths, for layers unpacked at layer_roots."""
    family = family_of(runtime)
    if family.name == "python":
        version = runtime.removeprefix("python")
        return {
            "python": [
                p
                for root in layer_roots
                for p in (f"{root}/python", f"{root}/python/lib/python{version}/site-packages")
            ]
        }
    if family.name == "node":
        # AWS's NODE_PATH order: the versioned folder (nodejs20.x -> nodejs/node20) first.
        major = node_major(runtime)
        return {
            "node": [
                p
                for root in layer_roots
                for p in (
                    f"{root}/nodejs/node{major}/node_modules",
                    f"{root}/nodejs/node_modules",
                )
            ]
        }
    return {}


SANDBOX_TASK_ROOT = "/var/task"
AWS_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
AWS_LD_LIBRARY_PATH = (
    "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
)


XRAY_DAEMON_HOST = "169.254.100.1"
XRAY_DAEMON_PORT = 2000


def function_environment(
    *,
    runtime: str,
    handler: str,
    function_name: str,
    version: str,
    memory_size: int,
    region: str,
    runtime_api: str,
    log_group: str,
    log_stream: str,
    task_root: str,
    layer_roots: Sequence[str],
    user_variables: dict[str, str],
    initialization_type: str = "on-demand",
    runtime_dir: str | None = None,
    log_format: str = "Text",
    application_log_level: str | None = None,
) -> dict[str, str]:
    """The process environment: the user's variables, then AWS's reserved ones on top."""
    family = family_of(runtime)
    paths = layer_paths(runtime, layer_roots)
    if task_root == SANDBOX_TASK_ROOT:
        # In a sandbox the paths are AWS's own: its exact PATH and LD_LIBRARY_PATH (recorded).
        search_path, library_path = AWS_PATH, AWS_LD_LIBRARY_PATH
    else:
        search_path = "/usr/local/bin:/usr/bin:/bin:" + ":".join(f"{r}/bin" for r in layer_roots)
        library_path = ":".join(f"{r}/lib" for r in layer_roots)
    env = {
        "PATH": search_path,
        "LANG": "en_US.UTF-8",
        "LC_CTYPE": "C.UTF-8",
        "TZ": ":UTC",
        "LD_LIBRARY_PATH": library_path,
        # What AWS's runtimes inherit from the shell that starts them (recorded).
        "PWD": task_root,
        "SHLVL": "0",
        **user_variables,
        "_HANDLER": handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": runtime_dir or str(RUNTIMES_DIR),
        # Placeholder credentials: functions that build AWS clients find some, as on AWS.
        "AWS_ACCESS_KEY_ID": "hearth",
        "AWS_SECRET_ACCESS_KEY": "hearth",
        "AWS_SESSION_TOKEN": "hearth",
        # AWS's X-Ray daemon address (recorded): no daemon answers there, so a traced SDK's
        # segments go nowhere, as on AWS with tracing PassThrough; it logs, not raises.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": f"{XRAY_DAEMON_HOST}:{XRAY_DAEMON_PORT}",
        "_AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON_HOST,
        "_AWS_XRAY_DAEMON_PORT": str(XRAY_DAEMON_PORT),
    }
    # Advanced logging controls reach the runtime as on AWS: in JSON format, the format and
    # the application level (a Text function gets neither, as AWS's recorded environments
    # show, and a user's own AWS_LAMBDA_LOG_LEVEL stays).
    if log_format == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = application_log_level or "INFO"
    if family.name == "python":
        env["PYTHONPATH"] = ":".join([task_root, *paths["python"]])
        env["PYTHONUNBUFFERED"] = "1"
    elif family.name == "node":
        env["NODE_PATH"] = ":".join(paths["node"])
    if family.name == "provided":
        env.pop("AWS_EXECUTION_ENV")  # AWS sets none for custom runtimes
    return env
