"""The embedded services' state on disk: moto keeps everything in memory, so Hearth pickles it.

moto has no persistence of its own (its server mode forgets everything at exit; its
`moto_api` "snapshots" are in-memory too), so the backends themselves are pickled: every
`interval` seconds when a request may have changed them, and once at shutdown, into one file
written atomically (temporary file, fsync, rename). A clean stop loses nothing; a `kill -9`
loses what changed since the last snapshot (at most `interval` seconds of writes). The pickle
runs on moto's own thread, between requests, so it is a consistent cut; writing it out and the
fsync run on another thread, so requests wait for the pickle only (a poller's receive behind a
disk flush was most of the embedded SQS's and Kinesis's p99 latency).

A few objects in moto's models do not pickle as they are (SQS's message locks, SSM's
defaultdict of a lambda); `_Pickler` writes those as what they are for (a fresh lock, a
nested defaultdict), which is all moto needs of them after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hearth.services.embedded import EmbeddedServices

logger = logging.getLogger("hearth.services")

# moto's backends that hold what users put into the embedded services.
PERSISTED_BACKENDS = (
    "s3",
    "dynamodb",
    "dynamodbstreams",
    "sns",
    "sqs",
    "kinesis",
    "events",
    "scheduler",
    "iam",
    "sts",
    "secretsmanager",
    "ssm",
    # APIs `hearth up` made must outlive a restart, as the stack's state file does.
    "apigateway",
    "apigatewayv2",
)
_FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _NestedDict:
    """A picklable `lambda: defaultdict(dict)`."""

    def __call__(self) -> defaultdict[Any, dict[Any, Any]]:
        return defaultdict(dict)


def _factory_for(factory: Callable[[], Any]) -> Callable[[], Any] | None:
    """A picklable stand-in for an unpicklable default_factory, judged by what it makes."""
    sample = factory()
    if isinstance(sample, defaultdict) and sample.default_factory is dict:
        return _NestedDict()
    for kind in (dict, list, set, int):
        if type(sample) is kind and not sample:
            return kind
    return None


def _defaultdict_subclass(
    cls: type[defaultdict[Any, Any]], factory: Callable[[], Any] | None, state: dict[str, Any]
) -> defaultdict[Any, Any]:
    """Rebuild a defaultdict subclass without calling its own __init__ (SSM's ParameterDict
    takes arguments defaultdict's pickling does not pass)."""
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    made.__dict__.update(state)
    return made


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:  # noqa: PLR0911 - one return per case
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if isinstance(obj, _LOCK_TYPES[1]) else threading.Lock), ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if not isinstance(obj, defaultdict):
            return NotImplemented
        factory = obj.default_factory
        if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
            factory = _factory_for(factory)
            if factory is None:
                return NotImplemented
        if type(obj) is defaultdict:
            if factory is obj.default_factory:
                return NotImplemented
            return defaultdict, (factory,), None, None, iter(obj.items())
        state = dict(getattr(obj, "__dict__", {}))
        return _defaultdict_subclass, (type(obj), factory, state), None, None, iter(obj.items())


class Snapshots:
    def __init__(
        self,
        path: Path,
        embedded: EmbeddedServices,
        interval_seconds: float,
        backends: Sequence[str] = PERSISTED_BACKENDS,
    ) -> None:
        self._path = path
        self._embedded = embedded
        self._interval = interval_seconds
        self._backends = tuple(backends)
        self._task: asyncio.Task[None] | None = None
        # One file write at a time: a periodic one still flushing when close() writes the last.
        self._write_lock = threading.Lock()
        self.restored: list[str] = []

    def restore(self) -> None:
        """Load the last snapshot into moto's backends, on moto's thread ahead of any request
        (which waits for it; start-up does not). A missing file restores nothing; an unreadable
        one is kept aside (and said in the log)."""

        def restore() -> None:
            try:
                self.restored = self._restore()
            except Exception:
                logger.exception("the embedded services' snapshot could not be restored")
                return
            self._embedded.touched.update(self.restored)
            if self.restored:
                logger.info("embedded services restored: %s", ", ".join(self.restored))

        self._embedded.run_first(restore)

    def _restore(self) -> list[str]:
        if not self._path.exists():
            return []
        try:
            saved = load(self._path.read_bytes())
        except Exception:
            aside = self._path.with_suffix(f".unreadable-{int(time.time())}")
            self._path.replace(aside)
            logger.exception("the embedded services' snapshot could not be read; kept as %s", aside)
            return []
        return apply(saved, self._backends)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                data = await self._embedded.run(self._dump_if_changed)
                if data is not None:
                    await asyncio.to_thread(self._store, data)
            except Exception:
                logger.exception("snapshot of the embedded services failed")

    def _dump_if_changed(self) -> bytes | None:
        return dump(self._embedded, self._backends) if self._embedded.take_changed() else None

    def _dump_last(self) -> bytes | None:
        return dump(self._embedded, self._backends) if self._embedded.touched else None

    def _store(self, data: bytes) -> None:
        with self._write_lock:
            tmp = self._path.with_suffix(".tmp")
            with tmp.open("wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            tmp.replace(self._path)

    async def close(self) -> None:
        """Stop the periodic snapshots and write a last one."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        data = await self._embedded.run(self._dump_last)
        if data is not None:
            await asyncio.to_thread(self._store, data)


def dump(embedded: EmbeddedServices, backends: Sequence[str] = PERSISTED_BACKENDS) -> bytes:
    """The state of the backends in use, pickled (on moto's thread: a consistent cut)."""
    from moto.backends import get_backend  # noqa: PLC0415

    # Only backends in use hold state (and importing the others costs seconds).
    used = [name for name in backends if name in embedded.touched]
    state = {name: dict(get_backend(name)) for name in used}  # type: ignore[call-overload]
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
        {"format": _FORMAT, "written_at": time.time(), "backends": state}
    )
    return buffer.getvalue()


def load(data: bytes) -> dict[str, Any]:
    """A snapshot's content; ValueError (or pickle's own errors) if it is not one."""
    saved = pickle.loads(data)  # noqa: S301 - Hearth's own snapshot (data dir / cluster store)
    if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
        raise ValueError(
            f"snapshot format {saved.get('format') if isinstance(saved, dict) else None!r}"
        )
    return saved


def apply(saved: dict[str, Any], backends: Sequence[str] = PERSISTED_BACKENDS) -> list[str]:
    """Replace moto's backends by a snapshot's (on moto's thread); the names restored."""
    from moto.backends import get_backend  # noqa: PLC0415

    restored = []
    for name, state in saved["backends"].items():
        if name not in backends:
            continue
        live = get_backend(name)
        live.clear()
        live.update(state)
        restored.append(name)
    return restored


def forget(embedded: EmbeddedServices, backends: Sequence[str] = PERSISTED_BACKENDS) -> None:
    """Empty the backends in use (on moto's thread): a node that stops serving the cluster's
    services must not act on a copy of their state (its schedules would fire twice)."""
    from moto.backends import get_backend  # noqa: PLC0415

    for name in backends:
        if name in embedded.touched:
            get_backend(name).clear()  # type: ignore[call-overload]
