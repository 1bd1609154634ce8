"""The hostile-zip unpacker: a Lambda code zip into an empty directory, or AWS's error.

Uploads are hostile until proven otherwise. The unpacker never trusts the sizes a zip declares
(it counts the bytes it writes), never writes outside its directory (names are checked, files are
created with O_EXCL | O_NOFOLLOW, and symlinks are only created after every file and directory
exists and are then resolved with realpath). On failure the caller removes the directory (see
hearth.store.code, which unpacks into a temporary directory of its own).
"""

from __future__ import annotations

import errno
import io
import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from hearth.errors import LambdaError, invalid_parameter

_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
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


def unpack(zip_bytes: bytes, dest: Path, max_unzipped: int, max_entries: int) -> int:
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
