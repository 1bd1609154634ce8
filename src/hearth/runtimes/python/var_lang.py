"""Start the Python zygote from ``/var/lang``, as AWS's image has its runtime.

Run by ``hearth.sandbox.zygote`` (sandboxed, as root) as ``python -s -B var_lang.py`` with
``HEARTH_ZYGOTE_VAR_LANG`` = ``{"prefix": ..., "python": "python3.12", "runtimes": ...}`` and
the zygote's own variables. It moves into a mount namespace of its own where the
interpreter's installation prefix is bound at ``/var/lang`` and Hearth's runtime files at
``/var/runtime``, then executes ``/var/lang/bin/python3.X -s -B /var/runtime/python/zygote.py``
there: so ``sys.prefix``, ``sys.executable``, ``sys.path`` and every module's ``__file__``
(stack traces) say ``/var/lang/lib/python3.X/...``, never the host's prefix, in the zygote
and every environment forked from it. A separate script, standard library only and small,
so that the interpreter booted only to move pays for few imports.

The namespace is a slave of Hearth's: Hearth's later mounts (the sandboxes' /tmp disks)
still reach it, and nothing mounted here reaches Hearth's. Where the move fails, the zygote
starts where it is, and its sandboxes show its installation at that same path (a function
still runs; its paths are the host's).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MS_SLAVE = 1 << 19
VAR_LANG = "/var/lang"
VAR_RUNTIME = "/var/runtime"
HERE = os.path.dirname(os.path.abspath(__file__))


def move(spec: dict[str, str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source: str | None, target: str, flags: int) -> None:
        if libc.mount(source and source.encode(), target.encode(), None, flags, None) != 0:
            raise OSError(ctypes.get_errno(), f"mount {source} on {target}")

    for point in (VAR_LANG, VAR_RUNTIME):
        # The mount points, empty, on the host (only this namespace mounts anything there).
        os.makedirs(point, mode=0o755, exist_ok=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    mount(None, "/", MS_REC | MS_SLAVE)
    for source, target in ((spec["prefix"], VAR_LANG), (spec["runtimes"], VAR_RUNTIME)):
        mount(source, target, MS_BIND | MS_REC)
        mount(None, target, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def main() -> None:
    spec = json.loads(os.environ.pop("HEARTH_ZYGOTE_VAR_LANG"))
    try:
        move(spec)
    except OSError as exc:
        print(f"hearth zygote: cannot move to {VAR_LANG}: {exc}", file=sys.stderr)
        zygote = os.path.join(HERE, "zygote.py")
        os.execv(sys.executable, [sys.executable, "-s", "-B", zygote])  # noqa: S606
    python = f"{VAR_LANG}/bin/{spec['python']}"
    # Its libpython is found at /var/lang/lib too, not at a RUNPATH naming the host's prefix.
    os.environ["LD_LIBRARY_PATH"] = f"{VAR_LANG}/lib"
    os.execv(python, [python, "-s", "-B", f"{VAR_RUNTIME}/python/zygote.py"])  # noqa: S606


if __name__ == "__main__":
    main()
