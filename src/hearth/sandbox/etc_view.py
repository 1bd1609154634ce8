"""The /etc a sandbox shows: what runtimes read of the host's, staged once, as one mount.

Bound entry by entry, each of /etc/hosts, /etc/ssl, ... would be a mount of its own, which
/proc/self/mountinfo lists with its host path (and a link's target: /usr/share/zoneinfo/...
for /etc/localtime). Copied into a directory of Hearth's once, they are one read-only overlay
at /etc, named to the kernel as /proc/self/fd/N like the code's. Its top layer is the
sandbox's own (its /etc/passwd and /etc/group), so the copies are shared by every sandbox.

The copies follow the host: when an entry changes (resolv.conf after a network change), the
next sandbox gets a new copy, in a new directory; sandboxes already running keep theirs (a
mounted overlay's layers must not change under it), and an old copy is removed once the
last sandbox showing it is gone (`acquire` / `release`).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path

logger = logging.getLogger("hearth.sandbox")

# How often, at most, the host's entries are looked at for changes (a few stat calls).
_CHECK_SECONDS = 1.0


class EtcView:
    """Staged copies of `entries` of the host's /etc under `work_dir`."""

    def __init__(self, work_dir: str, entries: tuple[str, ...], host_etc: Path = Path("/etc")):
        self._work = Path(work_dir)
        self._entries = entries
        self._host = host_etc
        self._generation = 0
        self._stamp: tuple[float, ...] = ()
        self._checked = 0.0
        self._current = ""
        self._users: Counter[str] = Counter()  # live sandboxes per copy
        # Where each sandbox mounts its own top layer (in its own mount namespace, outside
        # its new root, so it never sees this path).
        self.scratch = str(self._work / "etc-own")
        os.makedirs(self.scratch, mode=0o755, exist_ok=True)

    def acquire(self) -> str:
        """The copies a new sandbox shows; `release` it when that sandbox is gone."""
        path = self.current()
        self._users[path] += 1
        return path

    def release(self, path: str) -> None:
        self._users[path] -= 1
        if self._users[path] <= 0:
            del self._users[path]
            if path != self._current:
                shutil.rmtree(path, ignore_errors=True)

    def current(self) -> str:
        """The directory of copies to show now (restaged first when the host's changed)."""
        now = time.monotonic()
        if self._current and now - self._checked < _CHECK_SECONDS:
            return self._current
        self._checked = now
        stamp = self._stamp_now()
        if stamp != self._stamp or not self._current:
            self._generation += 1
            target = self._work / f"etc-{self._generation}"
            try:
                self._stage(target)
            except OSError:
                shutil.rmtree(target, ignore_errors=True)
                if not self._current:
                    raise
                # Not worth failing a cold start: the copies of the last change stay shown.
                logger.warning("could not copy the host's /etc entries again", exc_info=True)
                return self._current
            old, self._current, self._stamp = self._current, str(target), stamp
            if old and not self._users[old]:
                del self._users[old]
                shutil.rmtree(old, ignore_errors=True)
        return self._current

    def _stamp_now(self) -> tuple[float, ...]:
        stamps = []
        for name in self._entries:
            try:
                stamps.append(os.stat(self._host / name).st_mtime)
            except OSError:
                stamps.append(-1.0)
        return tuple(stamps)

    def _stage(self, target: Path) -> None:
        target.mkdir(mode=0o755)
        for name in self._entries:
            source = self._host / name
            if not source.exists():  # a broken link is left out
                continue
            if source.is_dir():
                # Links inside (/etc/ssl/certs → /usr/share/ca-certificates) stay links: the
                # sandbox shows /usr.
                shutil.copytree(source, target / name, symlinks=True)
            else:
                # A link (/etc/localtime, /etc/resolv.conf → /run/...) is copied as what it
                # leads to: the sandbox has no host /run to resolve it in.
                shutil.copy2(source, target / name)
