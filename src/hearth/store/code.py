"""Content-addressed storage for function and layer code zips, and a hostile-input-safe unpacker.

Layout under ``root``::

    blobs/<sha256 hex>.zip   the uploaded zip, byte for byte (read-only)
    trees/<sha256 hex>/      the zip unpacked once, read-only, shared by every version using it
    blobs/.tmp-*, trees/.tmp-*   work in progress; removed when a CodeStore is constructed

A digest is stored (``has``) once both its tree and its blob exist. ``put`` renames the finished
tree into place first and writes the blob last, so the blob is the commit marker: a crash in
between leaves only an orphan tree, which the next ``put`` of that zip reuses and ``digests``
still reports so a garbage collector can delete it.

Uploads are hostile until proven otherwise. The unpacker never trusts the sizes a zip declares
(it counts the bytes it writes), never writes outside its directory (names are checked, files are
created with O_EXCL | O_NOFOLLOW, and symlinks are only created after every file and directory
exists and are then resolved with realpath), and on any failure removes everything it wrote.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import lzma
import os
import re
import secrets
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from hearth.errors import LambdaError, invalid_parameter, request_too_large

MAX_ZIPPED_BYTES = 50 * 1024 * 1024  # 52428800
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # 262144000
# A zip can hold ~1M tiny entries within 50 MB; each costs syscalls and inodes. Past this many we
# report the zip as unusable (with the reason) rather than as too big: its size may be tiny.
MAX_ENTRIES = 100_000

_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
_TMP = ".tmp-"
_HEX = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:(/|$)")  # C:\x and C:/x; "a:b" is an ordinary unix name
_CHUNK = 1 << 20
_MAX_LINK_TARGET = 4095  # PATH_MAX - 1 on Linux
# Everything zipfile and its decompressors raise on a malformed archive. Reads come from memory,
# so an OSError here (bz2 reports bad data as one) is the archive's fault, not the disk's.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    OSError,
)
# Errors from creating a path that mean the zip asked for something impossible, not that the
# disk failed: collisions between entries, names the filesystem refuses. Anything else (ENOSPC,
# EIO, ...) propagates as a server-side failure.
_ENTRY_ERRNOS = frozenset(
    {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.EILSEQ}
)


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

    def put(self, zip_bytes: bytes) -> StoredCode:
        """Validate, unpack (unless already unpacked) and store; idempotent.

        Raises LambdaError on bad input, leaving nothing behind.
        """
        if len(zip_bytes) > self._max_zipped:
            raise request_too_large(f"Zipped size must be smaller than {self._max_zipped} bytes")
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

    def _require(self, sha256_hex: str) -> None:
        if not self.has(sha256_hex):  # also refuses anything that is not a digest, e.g. "../x"
            raise KeyError(sha256_hex)

    def _unpack_into(self, tree: Path, zip_bytes: bytes) -> int:
        work = self._trees / _temp_name()
        work.mkdir(mode=0o700)
        try:
            unzipped = _unpack(zip_bytes, work, self._max_unzipped, self._max_entries)
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


# ---------------------------------------------------------------------------------- unpacking


class _Kind(Enum):
    FILE = "file"
    DIR = "dir"
    LINK = "link"


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # path components below the tree root; never "", "." or ".."
    kind: _Kind
    mode: int  # final permission bits for files


def _unzip_failed(reason: str | None = None) -> LambdaError:
    return invalid_parameter(_UNZIP_FAILED if reason is None else f"{_UNZIP_FAILED} ({reason})")


def _too_big(max_unzipped: int) -> LambdaError:
    return invalid_parameter(f"Unzipped size must be smaller than {max_unzipped} bytes")


def _show(name: str) -> str:
    return repr(name if len(name) <= 120 else name[:120] + "...")


def _unpack(zip_bytes: bytes, dest: Path, max_unzipped: int, max_entries: int) -> int:
    """Unpack into the empty dir ``dest``; return the bytes of regular files written."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except _READ_ERRORS as e:
        raise _unzip_failed() from e
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise _unzip_failed(f"more than {max_entries} entries")
        entries = [_classify(info) for info in infos]  # reject bad names before writing anything
        # Cheap early refusal of honest-but-huge zips; the real defence is counting below.
        if sum(e.info.file_size for e in entries if e.kind is _Kind.FILE) > max_unzipped:
            raise _too_big(max_unzipped)
        written = 0
        seen: set[tuple[str, ...]] = set()
        made: set[tuple[str, ...]] = set()
        links: list[tuple[_Entry, Path, str]] = []
        # Phase 1: directories and regular files. No symlink exists yet, so no write can be
        # redirected through one, and every parent directory is a real directory we made.
        for entry in entries:
            if entry.parts in seen:
                raise _unzip_failed(f"entry {_show(entry.info.filename)} appears more than once")
            seen.add(entry.parts)
            path = dest.joinpath(*entry.parts)
            with _entry_errors(entry):
                if entry.kind is _Kind.DIR:
                    _make_dirs(dest, entry.parts, made)
                    continue
                _make_dirs(dest, entry.parts[:-1], made)
                if entry.kind is _Kind.LINK:
                    links.append((entry, path, _link_target(archive, entry)))
                else:
                    written += _write_file(archive, entry, path, written, max_unzipped)
        # Phase 2: symlinks, then check where each one really leads. Checking after all exist
        # catches chains that look harmless one link at a time (y -> . then x -> y/..).
        for entry, path, target in links:
            with _entry_errors(entry):
                os.symlink(target, path)
        root = os.path.realpath(dest)
        for _, path, _ in links:
            real = os.path.realpath(path)
            if real != root and not real.startswith(root + os.sep):
                rel = _show(str(path.relative_to(dest)))
                raise _unzip_failed(f"symlink {rel} points outside the code directory")
    return written


def _classify(info: zipfile.ZipInfo) -> _Entry:
    name = info.orig_filename  # zipfile's .filename silently cuts the name at a NUL
    if "\0" in name:
        raise _unzip_failed(f"entry {_show(name)} has a NUL byte in its name")
    # Zips made on Windows may use "\" as the separator; treat it as one for checking AND for
    # writing, so what we check is what we write.
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        raise _unzip_failed(f"entry {_show(name)} has an absolute path")
    parts = tuple(p for p in unified.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _unzip_failed(f"entry {_show(name)} would be written outside the code directory")
    if info.flag_bits & 0x1:
        raise _unzip_failed()  # encrypted: AWS says no more than this
    # The high 16 bits hold a unix st_mode when the zip was made on unix; zips made on Windows
    # leave them 0, which we read as a plain 0o644 file.
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    if file_type == stat.S_IFLNK:
        kind = _Kind.LINK
    elif file_type == stat.S_IFDIR or unified.endswith("/"):
        kind = _Kind.DIR
    elif file_type in (0, stat.S_IFREG):
        kind = _Kind.FILE
    else:
        raise _unzip_failed(f"entry {_show(name)} is a device, FIFO or socket")
    if not parts and kind is not _Kind.DIR:
        raise _unzip_failed(f"entry {_show(name)} has no file name")
    return _Entry(info, parts, kind, 0o555 if mode & 0o111 else 0o444)


@contextmanager
def _entry_errors(entry: _Entry) -> Iterator[None]:
    """Turn OSErrors that are the zip's fault (e.g. two entries claiming one path) into the
    AWS unzip error naming the entry."""
    try:
        yield
    except OSError as e:
        if e.errno not in _ENTRY_ERRNOS:
            raise
        name = _show(entry.info.orig_filename)
        if e.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise _unzip_failed(f"entry {name} collides with another entry") from e
        raise _unzip_failed(f"entry {name} cannot be created: {e.strerror}") from e


def _make_dirs(dest: Path, parts: tuple[str, ...], made: set[tuple[str, ...]]) -> None:
    path = str(dest)  # plain strings: pathlib costs O(depth) per join, and zips nest deep
    for depth, part in enumerate(parts, 1):
        path = os.path.join(path, part)
        prefix = parts[:depth]
        if prefix in made:
            continue
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):  # a file entry already took this name
                raise
        made.add(prefix)


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's data, decompressed a bounded chunk at a time (zipfile checks the CRC)."""
    try:
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                yield chunk
    except _READ_ERRORS as e:
        raise _unzip_failed() from e


def _write_file(
    archive: zipfile.ZipFile, entry: _Entry, path: Path, before: int, max_unzipped: int
) -> int:
    """Write one regular file; ``before`` bytes were already written by earlier entries."""
    written = 0
    # O_EXCL: a duplicate entry cannot overwrite; O_NOFOLLOW: never write through a link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(path, flags, 0o600), "wb") as out:
        for chunk in _chunks(archive, entry.info):
            written += len(chunk)
            if before + written > max_unzipped:  # count real bytes, whatever the zip declares
                raise _too_big(max_unzipped)
            out.write(chunk)
        os.fchmod(out.fileno(), entry.mode)
    if written != entry.info.file_size:  # declared more than the data holds
        raise _unzip_failed()
    return written


def _link_target(archive: zipfile.ZipFile, entry: _Entry) -> str:
    target = b""
    for chunk in _chunks(archive, entry.info):
        target += chunk
        if len(target) > _MAX_LINK_TARGET:
            raise _unzip_failed(f"symlink {_show(entry.info.filename)} has too long a target")
    if not target or b"\0" in target:
        raise _unzip_failed(f"symlink {_show(entry.info.filename)} has an invalid target")
    if target.startswith(b"/"):
        raise _unzip_failed(f"symlink {_show(entry.info.filename)} has an absolute target")
    return os.fsdecode(target)


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
