"""Content-addressed storage for function and layer code zips (the unpacker is hearth.store.unzip).

Layout under ``root``::

    blobs/<sha256 hex>.zip   the uploaded zip, byte for byte (read-only)
    trees/<sha256 hex>/      the zip unpacked once, read-only, shared by every version using it
    blobs/.tmp-*, trees/.tmp-*   work in progress; removed when a CodeStore is constructed

A digest is stored (``has``) once both its tree and its blob exist. ``put`` renames the finished
tree into place first and writes the blob last, so the blob is the commit marker: a crash in
between leaves only an orphan tree, which the next ``put`` of that zip reuses and ``digests``
still reports so a garbage collector can delete it.

A zip is unpacked (by hearth.store.unzip, which trusts nothing in it) into a temporary directory
of the store's own; on any failure everything written there is removed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hearth.errors import request_too_large
from hearth.store.unzip import unpack

MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # 52428800
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # 262144000
# A zip can hold ~1M tiny entries within 50 MB; each costs syscalls and inodes. Past this many we
# report the zip as unusable (with the reason) rather than as too big: its size may be tiny.
MAX_ENTRIES = 100_000

_TMP = ".tmp-"
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StoredCode:
    sha256_hex: str  # hex SHA-256 of the zip bytes (the storage key)
    sha256_b64: str  # base64 of the raw SHA-256 digest (AWS's CodeSha256)
    size: int  # zip size in bytes (AWS's CodeSize)
    unzipped_size: int  # total bytes of regular files after unpacking


class CodeStore:
    """Zips kept content-addressed by SHA-256 under root/blobs/<hex>.zip, each unpacked once
    into a read-only tree root/trees/<hex>/ that every version with that code shares.

    Safe for concurrent ``put``s from many threads (each works in its own temp dir and the
    first rename wins). ``delete`` racing a ``put`` of the same digest is the caller's to
    prevent. One process owns ``root``: construction removes every leftover temp file.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_zipped: int = MAX_ZIPPED_BYTES,
        max_unzipped: int = MAX_UNZIPPED_BYTES,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._blobs = root / "blobs"
        self._trees = root / "trees"
        self._max_zipped = max_zipped
        self._max_unzipped = max_unzipped
        self._max_entries = max_entries
        for parent in (self._blobs, self._trees):
            parent.mkdir(parents=True, exist_ok=True)
            for entry in os.scandir(parent):
                if entry.name.startswith(_TMP):
                    _remove(Path(entry.path))

    def put(self, zip_bytes: bytes, max_zipped: int | None = None) -> StoredCode:
        """Validate, unpack (unless already unpacked) and store; idempotent.

        `max_zipped` overrides the store's zipped-size limit (code read from S3 has none of
        its own, only the unzipped one). Raises LambdaError on bad input, leaving nothing behind.
        """
        limit = self._max_zipped if max_zipped is None else max_zipped
        if len(zip_bytes) > limit:
            raise request_too_large(f"Zipped size must be smaller than {limit} bytes")
        digest = hashlib.sha256(zip_bytes).digest()
        hex_ = digest.hex()
        tree = self._trees / hex_
        unzipped = None if tree.is_dir() else self._unpack_into(tree, zip_bytes)
        blob = self._blobs / f"{hex_}.zip"
        if not blob.is_file():
            _write_atomically(blob, zip_bytes)
        return StoredCode(
            sha256_hex=hex_,
            sha256_b64=base64.b64encode(digest).decode("ascii"),
            size=len(zip_bytes),
            unzipped_size=_tree_size(tree) if unzipped is None else unzipped,
        )

    def get_zip_path(self, sha256_hex: str) -> Path:
        self._require(sha256_hex)
        return self._blobs / f"{sha256_hex}.zip"

    def tree(self, sha256_hex: str) -> Path:
        self._require(sha256_hex)
        return self._trees / sha256_hex

    def has(self, sha256_hex: str) -> bool:
        return (
            _HEX.fullmatch(sha256_hex) is not None
            and (self._blobs / f"{sha256_hex}.zip").is_file()
            and (self._trees / sha256_hex).is_dir()
        )

    def stat(self, sha256_hex: str) -> StoredCode:
        self._require(sha256_hex)
        try:
            size = (self._blobs / f"{sha256_hex}.zip").stat().st_size
            unzipped = _tree_size(self._trees / sha256_hex)
        except FileNotFoundError:  # deleted since _require looked
            raise KeyError(sha256_hex) from None
        b64 = base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
        return StoredCode(sha256_hex, b64, size, unzipped)

    def delete(self, sha256_hex: str) -> None:
        """Remove blob and tree; no error if absent."""
        if _HEX.fullmatch(sha256_hex) is None:
            return
        (self._blobs / f"{sha256_hex}.zip").unlink(missing_ok=True)
        # Rename first so the tree vanishes atomically: a crash mid-removal leaves a .tmp-*
        # dir for the next construction to clean, never a half-deleted tree under its digest.
        doomed = self._trees / _temp_name()
        try:
            (self._trees / sha256_hex).rename(doomed)
        except FileNotFoundError:
            return
        _remove(doomed)

    def digests(self) -> set[str]:
        """Every digest occupying space, including orphan trees whose blob never got written."""
        blobs = {name.removesuffix(".zip") for name in os.listdir(self._blobs)}
        found = blobs | set(os.listdir(self._trees))
        return {name for name in found if _HEX.fullmatch(name)}

    def sweep_shared(self, in_use: set[str]) -> int:
        """Delete the copies kept beyond this store (a cluster's shared object store) that
        `in_use` does not name; how many went. One machine keeps none: nothing to do.

        Call it inside the registry transaction `in_use` was read in: in a cluster that
        holds the registry's lease, which every commit naming new code takes too."""
        return 0

    def _require(self, sha256_hex: str) -> None:
        if not self.has(sha256_hex):  # also refuses anything that is not a digest, e.g. "../x"
            raise KeyError(sha256_hex)

    def _unpack_into(self, tree: Path, zip_bytes: bytes) -> int:
        work = self._trees / _temp_name()
        work.mkdir(mode=0o700)
        try:
            unzipped = unpack(zip_bytes, work, self._max_unzipped, self._max_entries)
            _seal(work)
            try:
                work.rename(tree)
            except OSError:
                if not tree.is_dir():
                    raise
                _remove(work)  # a concurrent put of the same zip got there first
        except BaseException:
            if work.exists():
                _remove(work)
            raise
        _fsync_dir(self._trees)
        return unzipped


# ------------------------------------------------------------------------------- filesystem


def _walk(top: Path) -> Iterator[os.DirEntry[str]]:
    """Every entry under ``top``, parents before children, never following symlinks.

    Iterative, so a zip nesting dirs a thousand deep cannot exhaust the recursion limit, and
    each directory is listed in full before its entries are yielded, so callers may unlink.
    """
    pending = [str(top)]
    while pending:
        with os.scandir(pending.pop()) as listing:
            entries = list(listing)
        for entry in entries:
            yield entry
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)


def _tree_size(tree: Path) -> int:
    return sum(
        e.stat(follow_symlinks=False).st_size
        for e in _walk(tree)
        if e.is_file(follow_symlinks=False)
    )


def _seal(tree: Path) -> None:
    """Make every directory read-only (files got their final mode when written). World-readable
    on purpose: functions run as an unprivileged user that must read (never write) their code."""
    for entry in _walk(tree):
        if entry.is_dir(follow_symlinks=False):
            os.chmod(entry.path, 0o555)  # noqa: S103 - read-only, readable by the sandbox user
    tree.chmod(0o555)


def _remove(path: Path) -> None:
    """Delete a file or a (possibly sealed) tree."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    # Not shutil.rmtree: it recurses per level (and needs writable dirs). Unlinking children
    # needs write permission on their directory; _walk reaches a dir before its contents.
    path.chmod(0o700)
    dirs = [str(path)]
    for entry in _walk(path):
        if entry.is_dir(follow_symlinks=False):
            os.chmod(entry.path, 0o700)
            dirs.append(entry.path)
        else:
            os.unlink(entry.path)
    for directory in reversed(dirs):  # children were found after their parents
        os.rmdir(directory)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(_temp_name())
    try:
        with open(temp, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), 0o444)
        os.replace(temp, path)  # a concurrent put of the same zip writes identical bytes
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _temp_name() -> str:
    # Longer than a 64-char digest: a tree built near PATH_MAX under its temp name stays
    # reachable after the rename. Random: a symlink in a zip cannot aim at it by guessing.
    return f"{_TMP}{secrets.token_hex(32)}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
