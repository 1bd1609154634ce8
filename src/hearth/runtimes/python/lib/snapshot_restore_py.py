"""AWS's SnapStart runtime hooks for Python, as the managed python3.12+ runtimes provide them.

The same public surface as AWS's ``snapshot-restore-py`` package on PyPI (which the managed
runtime ships, so functions import it without bundling it): ``register_before_snapshot`` and
``register_after_restore``, usable as plain calls or as decorators, and the two getters the
runtime reads the registries with. Each entry is ``(function, args, kwargs)``; hooks run in
the order they were registered. A function that bundles the PyPI package gets that one
instead (this directory is the last entry of ``sys.path``), and the runtime reads it through
the same getters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_after_restore", "register_before_snapshot"]

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_before_snapshot_registry: list[Hook] = []
_after_restore_registry: list[Hook] = []


def register_before_snapshot(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` once init is done, before the snapshot (Hearth: the
    version's template) is taken. Returns ``func``, so it works as a decorator."""
    _before_snapshot_registry.append((func, args, kwargs))
    return func


def register_after_restore(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` in every environment restored from the snapshot (Hearth:
    forked from the template), before its first invocation. Returns ``func``."""
    _after_restore_registry.append((func, args, kwargs))
    return func


def get_before_snapshot() -> list[Hook]:
    return _before_snapshot_registry


def get_after_restore() -> list[Hook]:
    return _after_restore_registry
