"""The layering written in `hearth/__init__.py`, checked: every import of every module under
src/hearth (read with ast, nothing is imported) points the allowed way, and no two folders
import each other, directly or round a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import hearth

SRC = Path(hearth.__file__).parent

KERNEL = {"config", "errors", "arns", "models"}
ROOT = {"cli", "service", "__main__", "__init__"}
# What each layer may import besides itself. A folder not named here (a new one) is held to
# the cycle check only; give it a line here once its place is decided.
ALLOWED: Mapping[str, set[str]] = {
    "api": {"control", "invoke", "events", "logs", "metrics", "store", "sandbox", "kernel"},
    "control": {"store", "kernel"},
    "invoke": {"sandbox", "logs", "store", "kernel"},
    "events": {"store", "logs", "kernel"},
    # HTTP in (function URLs, API Gateway, streamed invokes): an edge in front of the API's.
    "http": {"api", "invoke", "store", "logs", "kernel"},
    "store": {"kernel"},
    "sandbox": {"kernel"},
    "logs": {"kernel"},
    "metrics": {"kernel"},
    "console": {"api", "kernel"},
    "kernel": {"kernel"},
    "runtimes": set(),
}
# The engine's records are the one module of invoke/ that these layers may use.
SHARED_TYPES = "hearth.invoke.types"
MAY_USE_SHARED_TYPES = {"control", "events"}


def layer_of(module: str) -> str:
    """`hearth.api.http` → "api"; `hearth.errors` → "kernel"; `hearth.cli` → "root"."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    top = parts[1]
    if top in ROOT:  # cli/ is a folder (server and client commands) and still the root
        return "root"
    if (SRC / top).is_dir():
        return top
    return "kernel" if top in KERNEL else "root"


def module_name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The hearth modules a file imports, at any depth (TYPE_CHECKING and local ones too)."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "hearth":  # `from hearth import errors` names modules
                found.update(
                    f"hearth.{a.name}" if (SRC / f"{a.name}.py").exists() else "hearth"
                    for a in node.names
                )
            else:
                found.add(base)
    return {name for name in found if name == "hearth" or name.startswith("hearth.")}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(SRC.rglob("*.py"))}


def forbidden(graph: Mapping[str, Iterable[str]]) -> list[str]:
    problems = []
    for module, imported in graph.items():
        source = layer_of(module)
        if source == "root" or source not in ALLOWED:
            continue
        for target in imported:
            to = layer_of(target)
            if to == source or to in ALLOWED[source]:
                continue
            if target == SHARED_TYPES and source in MAY_USE_SHARED_TYPES:
                continue
            problems.append(f"{module} ({source}) imports {target} ({to})")
    return sorted(problems)


def folder_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every cycle among layers (the kernel and root excluded), each as the path round it."""
    edges: dict[str, set[str]] = {}
    for module, imported in graph.items():
        source = layer_of(module)
        for target in imported:
            to = layer_of(target)
            if to != source and "root" not in (source, to) and "kernel" not in (source, to):
                edges.setdefault(source, set()).add(to)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its least node
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    return cycles


def test_no_import_points_the_wrong_way() -> None:
    assert forbidden(import_graph()) == []


def test_no_cycle_between_folders() -> None:
    assert folder_cycles(import_graph()) == []


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "hearth.invoke.types" in graph["hearth.invoke.invoker"]
    assert "hearth.store.registry" in graph["hearth.store.sqlite"]


def test_the_checks_catch_what_they_are_for() -> None:
    looped = {
        "hearth.invoke.pool": {"hearth.api.http"},
        "hearth.api.http": {"hearth.invoke.pool"},
        "hearth.events.dispatcher": {"hearth.invoke.invoker", "hearth.invoke.types"},
    }
    assert folder_cycles(looped) == [["api", "invoke", "api"]]
    assert forbidden(looped) == [
        "hearth.events.dispatcher (events) imports hearth.invoke.invoker (invoke)",
        "hearth.invoke.pool (invoke) imports hearth.api.http (api)",
    ]
