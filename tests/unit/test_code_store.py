"""CodeStore: content addressing, read-only trees, and every hostile zip we could think of."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import struct
import threading
import time
import warnings
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hearth.errors import LambdaError
from hearth.store.code import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    CodeStore,
    StoredCode,
)

FILE = stat.S_IFREG | 0o644
EXE = stat.S_IFREG | 0o755
DIR = stat.S_IFDIR | 0o755
LINK = stat.S_IFLNK | 0o777
FIFO = stat.S_IFIFO | 0o644
WINDOWS = None  # no unix mode at all, as zips made on Windows have

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."

Spec = tuple[str, bytes, int | None]


def make_zip(entries: Sequence[Spec], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some tests want duplicate names on purpose
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name)
                info.compress_type = compression
                if mode is None:
                    info.create_system = 0
                    info.external_attr = 0x20  # MS-DOS "archive" attribute, no unix bits
                else:
                    info.external_attr = (mode << 16) | (0x10 if stat.S_ISDIR(mode) else 0)
                zf.writestr(info, data)
    return buf.getvalue()


def central_directory(data: bytes) -> int:
    eocd = data.rfind(b"PK\x05\x06")
    return int(struct.unpack_from("<I", data, eocd + 16)[0])


def patch_single_entry(
    data: bytes, *, flag_bits: int = 0, method: int = -1, size: int = -1
) -> bytes:
    """Rewrite fields of the first entry's local header (at 0) and central record."""
    buf = bytearray(data)
    local, central = 0, central_directory(data)
    if flag_bits:
        for offset in (local + 6, central + 8):
            struct.pack_into(
                "<H", buf, offset, struct.unpack_from("<H", buf, offset)[0] | flag_bits
            )
    if method >= 0:
        struct.pack_into("<H", buf, local + 8, method)
        struct.pack_into("<H", buf, central + 10, method)
    if size >= 0:
        struct.pack_into("<I", buf, local + 22, size)
        struct.pack_into("<I", buf, central + 24, size)
    return bytes(buf)


def assert_nothing_left(root: Path) -> None:
    assert sorted(os.listdir(root / "blobs")) == []
    assert sorted(os.listdir(root / "trees")) == []


def reject(root: Path, data: bytes, **limits: int) -> LambdaError:
    store = CodeStore(root, **limits)
    with pytest.raises(LambdaError) as caught:
        store.put(data)
    assert_nothing_left(root)
    assert store.digests() == set()
    return caught.value


def assert_unzip_failed(error: LambdaError, reason: str | None = None) -> None:
    assert (error.code, error.status) == ("InvalidParameterValueException", 400)
    if reason is None:
        assert error.message == UNZIP_FAILED
    else:
        assert error.message.startswith(UNZIP_FAILED + " (")
        assert reason in error.message


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# ---------------------------------------------------------------------------------- happy path


def test_put_stores_blob_and_read_only_tree(tmp_path: Path) -> None:
    data = make_zip(
        [
            ("index.py", b"print('hi')\n", FILE),
            ("bin/tool", b"#!/bin/sh\necho\n", EXE),
            ("lib/pkg/", b"", DIR),
            ("lib/pkg/mod.py", b"x = 1\n", FILE),
            ("from-windows.txt", b"crlf\r\n", WINDOWS),
            ("odd:name", b"colon", FILE),
        ]
    )
    store = CodeStore(tmp_path)
    stored = store.put(data)

    digest = hashlib.sha256(data).digest()
    assert stored == StoredCode(
        sha256_hex=digest.hex(),
        sha256_b64=base64.b64encode(digest).decode(),
        size=len(data),
        unzipped_size=12 + 15 + 6 + 6 + 5,
    )
    assert store.has(digest.hex())
    assert store.stat(digest.hex()) == stored
    assert store.digests() == {digest.hex()}
    assert store.get_zip_path(digest.hex()).read_bytes() == data
    assert mode_of(store.get_zip_path(digest.hex())) == 0o444

    tree = store.tree(digest.hex())
    assert tree == tmp_path / "trees" / digest.hex()
    assert (tree / "index.py").read_bytes() == b"print('hi')\n"
    assert (tree / "lib/pkg/mod.py").read_bytes() == b"x = 1\n"
    assert (tree / "odd:name").read_bytes() == b"colon"
    assert {p.relative_to(tree).as_posix() for p in tree.rglob("*")} == {
        "index.py",
        "bin",
        "bin/tool",
        "lib",
        "lib/pkg",
        "lib/pkg/mod.py",
        "from-windows.txt",
        "odd:name",
    }
    assert mode_of(tree / "index.py") == 0o444
    assert mode_of(tree / "from-windows.txt") == 0o444
    assert mode_of(tree / "bin/tool") == 0o555  # the exec bit survives
    for directory in (tree, tree / "bin", tree / "lib", tree / "lib/pkg"):
        assert mode_of(directory) == 0o555


def test_any_exec_bit_makes_file_executable(tmp_path: Path) -> None:
    data = make_zip([("a", b"", stat.S_IFREG | 0o610), ("b", b"", stat.S_IFREG | 0o601)])
    store = CodeStore(tmp_path)
    tree = store.tree(store.put(data).sha256_hex)
    assert mode_of(tree / "a") == mode_of(tree / "b") == 0o555


def test_same_zip_twice_is_idempotent(tmp_path: Path) -> None:
    data = make_zip([("a.py", b"a", FILE)])
    store = CodeStore(tmp_path)
    first = store.put(data)
    inode = store.tree(first.sha256_hex).stat().st_ino
    assert store.put(data) == first
    assert store.tree(first.sha256_hex).stat().st_ino == inode  # not unpacked again
    assert len(os.listdir(tmp_path / "blobs")) == len(os.listdir(tmp_path / "trees")) == 1


def test_different_zips_get_separate_trees(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    one = store.put(make_zip([("one.py", b"1", FILE)]))
    two = store.put(make_zip([("two.py", b"22", FILE)]))
    assert one.sha256_hex != two.sha256_hex
    assert store.digests() == {one.sha256_hex, two.sha256_hex}
    assert os.listdir(store.tree(one.sha256_hex)) == ["one.py"]
    assert os.listdir(store.tree(two.sha256_hex)) == ["two.py"]
    assert (one.unzipped_size, two.unzipped_size) == (1, 2)


def test_empty_zip_is_valid(tmp_path: Path) -> None:
    data = make_zip([])
    stored = CodeStore(tmp_path).put(data)
    assert (stored.size, stored.unzipped_size) == (22, 0)
    assert os.listdir(CodeStore(tmp_path).tree(stored.sha256_hex)) == []


def test_dirs_listed_after_their_files_and_backslash_separators(tmp_path: Path) -> None:
    data = make_zip(
        [
            ("a/b/c.txt", b"c", FILE),
            ("a/", b"", DIR),
            ("./a/./d.txt", b"d", FILE),
            ("w\\x", b"x", FILE),
        ]
    )
    store = CodeStore(tmp_path)
    tree = store.tree(store.put(data).sha256_hex)
    assert (tree / "a/b/c.txt").read_bytes() == b"c"
    assert (tree / "a/d.txt").read_bytes() == b"d"
    assert (tree / "w/x").read_bytes() == b"x"  # a Windows separator is a separator


def test_deep_nesting_is_stored_and_deleted(tmp_path: Path) -> None:
    data = make_zip([("d/" * 1500 + "f", b"deep", FILE)])  # deeper than the recursion limit
    store = CodeStore(tmp_path)
    stored = store.put(data)
    assert store.stat(stored.sha256_hex).unzipped_size == 4
    store.delete(stored.sha256_hex)
    assert_nothing_left(tmp_path)


def test_symlinks_inside_the_tree_are_kept(tmp_path: Path) -> None:
    data = make_zip(
        [
            ("sub/file.txt", b"hello", FILE),
            ("link", b"sub/file.txt", LINK),
            ("dirlink", b"sub", LINK),
            ("sub/up", b"..", LINK),
            ("self", b".", LINK),
            ("dangling", b"nowhere", LINK),
        ]
    )
    store = CodeStore(tmp_path)
    stored = store.put(data)
    tree = store.tree(stored.sha256_hex)
    assert os.readlink(tree / "link") == "sub/file.txt"
    assert (tree / "link").read_bytes() == b"hello"
    assert (tree / "dirlink/file.txt").read_bytes() == b"hello"
    assert (tree / "sub/up/link").read_bytes() == b"hello"
    assert os.readlink(tree / "dangling") == "nowhere"
    assert stored.unzipped_size == 5  # link targets are not file bytes


def test_unzipped_size_at_the_limit_is_allowed(tmp_path: Path) -> None:
    stored = CodeStore(tmp_path, max_unzipped=1000).put(make_zip([("f", bytes(1000), FILE)]))
    assert stored.unzipped_size == 1000


def test_zipped_size_at_the_limit_is_allowed(tmp_path: Path) -> None:
    data = make_zip([("f", b"x", FILE)])
    assert CodeStore(tmp_path, max_zipped=len(data)).put(data).size == len(data)


# ---------------------------------------------------------------------------------- store API


def test_delete_removes_blob_and_tree(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    hex_ = store.put(make_zip([("a/b", b"b", EXE), ("l", b"a", LINK)])).sha256_hex
    store.delete(hex_)
    assert not store.has(hex_)
    assert store.digests() == set()
    assert_nothing_left(tmp_path)
    for lookup in (store.get_zip_path, store.tree, store.stat):
        with pytest.raises(KeyError):
            lookup(hex_)
    store.delete(hex_)  # absent: no error
    store.delete("../blobs")  # not a digest: no error, nothing touched


@pytest.mark.parametrize("key", ["0" * 64, "../trees", "", "A" * 64, "nothex"])
def test_unknown_or_malformed_digest_is_a_key_error(tmp_path: Path, key: str) -> None:
    store = CodeStore(tmp_path)
    store.put(make_zip([("a", b"a", FILE)]))
    assert not store.has(key)
    for lookup in (store.get_zip_path, store.tree, store.stat):
        with pytest.raises(KeyError):
            lookup(key)


def test_leftover_temp_files_are_removed_on_construction(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    kept = store.put(make_zip([("a", b"a", FILE)])).sha256_hex
    crashed = tmp_path / "trees" / ".tmp-crashed"
    (crashed / "sub").mkdir(parents=True)
    (crashed / "sub" / "f").write_bytes(b"half")
    (crashed / "sub" / "f").chmod(0o444)
    (crashed / "sub").chmod(0o555)
    crashed.chmod(0o555)
    (tmp_path / "blobs" / ".tmp-crashed").write_bytes(b"half a zip")

    store = CodeStore(tmp_path)
    assert os.listdir(tmp_path / "trees") == [kept]
    assert os.listdir(tmp_path / "blobs") == [f"{kept}.zip"]
    assert store.has(kept)


def test_orphan_tree_from_a_crash_is_reused_and_reported(tmp_path: Path) -> None:
    data = make_zip([("a", b"a", FILE)])
    store = CodeStore(tmp_path)
    hex_ = store.put(data).sha256_hex
    inode = store.tree(hex_).stat().st_ino
    (tmp_path / "blobs" / f"{hex_}.zip").unlink()  # as if we crashed before writing the blob
    assert not store.has(hex_)
    assert store.digests() == {hex_}  # so garbage collection can still find it
    assert store.put(data).unzipped_size == 1
    assert store.has(hex_)
    assert store.tree(hex_).stat().st_ino == inode


def test_concurrent_puts_of_the_same_zip(tmp_path: Path) -> None:
    data = make_zip([(f"pkg/m{i}.py", f"x = {i}\n".encode(), FILE) for i in range(300)])
    store = CodeStore(tmp_path)
    start = threading.Barrier(8)

    def put() -> StoredCode:
        start.wait()
        return store.put(data)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: put(), range(8)))
    assert len(set(results)) == 1
    hex_ = results[0].sha256_hex
    assert os.listdir(tmp_path / "trees") == [hex_]
    assert os.listdir(tmp_path / "blobs") == [f"{hex_}.zip"]
    assert len(os.listdir(store.tree(hex_) / "pkg")) == 300


def test_concurrent_puts_of_different_zips(tmp_path: Path) -> None:
    zips = [make_zip([(f"f{i}/{j}", bytes([i]) * j, FILE) for j in range(50)]) for i in range(8)]
    store = CodeStore(tmp_path)
    start = threading.Barrier(8)

    def put(data: bytes) -> StoredCode:
        start.wait()
        return store.put(data)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(put, zips))
    assert store.digests() == {r.sha256_hex for r in results}
    assert len(os.listdir(tmp_path / "trees")) == len(os.listdir(tmp_path / "blobs")) == 8


# ------------------------------------------------------------------------------------ limits


def test_zip_over_the_real_limit_is_413(tmp_path: Path) -> None:
    error = reject(tmp_path, bytes(MAX_ZIPPED_BYTES + 1))
    assert (error.code, error.status) == ("RequestEntityTooLargeException", 413)
    assert error.message == "Zipped size must be smaller than 52428800 bytes"


def test_zip_over_a_configured_limit_is_413(tmp_path: Path) -> None:
    data = make_zip([("f", b"x", FILE)])
    error = reject(tmp_path, data, max_zipped=len(data) - 1)
    assert error.status == 413
    assert error.message == f"Zipped size must be smaller than {len(data) - 1} bytes"


@pytest.mark.parametrize(
    "entries",
    [
        [("f", bytes(1001), FILE)],
        [("f", bytes(600), FILE), ("g", bytes(600), FILE)],
    ],
)
def test_unzipped_over_the_limit(tmp_path: Path, entries: list[Spec]) -> None:
    error = reject(tmp_path, make_zip(entries), max_unzipped=1000)
    assert (error.code, error.status) == ("InvalidParameterValueException", 400)
    assert error.message == "Unzipped size must be smaller than 1000 bytes"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """300 MB of zeros in ~300 KB, built a megabyte at a time."""
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros", "w") as out,
    ):
        for _ in range(300):
            out.write(chunk)
    return buf.getvalue()


def test_zip_bomb_at_the_real_limit(tmp_path: Path, bomb: bytes) -> None:
    assert len(bomb) < 1 << 20
    started = time.monotonic()
    error = reject(tmp_path, bomb)
    assert time.monotonic() - started < 3
    assert error.status == 400
    assert error.message == f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"


def test_zip_bomb_declaring_a_small_size(tmp_path: Path, bomb: bytes) -> None:
    started = time.monotonic()
    assert_unzip_failed(reject(tmp_path, patch_single_entry(bomb, size=1000)))
    assert time.monotonic() - started < 3


def test_many_entries_sharing_one_compressed_blob(tmp_path: Path) -> None:
    """Every central directory record points at the same 1 MB-of-zeros local file."""
    data = make_zip([("f000", bytes(1 << 20), FILE)])
    cd = central_directory(data)
    eocd = data.rfind(b"PK\x05\x06")
    record = data[cd:eocd]
    records = b"".join(record.replace(b"f000", f"f{i:03}".encode()) for i in range(300))
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 300, 300, len(records), cd, 0)
    error = reject(tmp_path, data[:cd] + records + tail)
    assert error.message == f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"


def test_entry_count_is_capped(tmp_path: Path) -> None:
    entries = [(f"f{i}", b"", FILE) for i in range(4)]
    assert CodeStore(tmp_path / "ok", max_entries=4).put(make_zip(entries))
    assert_unzip_failed(reject(tmp_path, make_zip(entries), max_entries=3), "more than 3 entries")


# ------------------------------------------------------------------------------- bad archives


def _stored_hello() -> bytes:
    return make_zip([("hello.txt", b"hello world", FILE)], zipfile.ZIP_STORED)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty-bytes"),
        pytest.param(b"definitely not a zip", id="not-a-zip"),
        pytest.param(_stored_hello()[:40], id="truncated"),
        pytest.param(_stored_hello().replace(b"hello world", b"hellO world"), id="bad-crc"),
        pytest.param(patch_single_entry(_stored_hello(), flag_bits=0x1), id="encrypted"),
        pytest.param(patch_single_entry(_stored_hello(), method=99), id="unknown-method"),
        pytest.param(
            patch_single_entry(make_zip([("f", bytes(1000), FILE)]), size=10), id="size-lies-low"
        ),
        pytest.param(
            patch_single_entry(make_zip([("f", bytes(1000), FILE)]), size=5000), id="size-lies-high"
        ),
    ],
)
def test_corrupt_archives(tmp_path: Path, data: bytes) -> None:
    assert_unzip_failed(reject(tmp_path, data))


# ------------------------------------------------------------------------------ hostile names


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil", "would be written outside the code directory"),
        ("a/../../evil", "would be written outside"),
        ("a/../inside-but-dotdot", "would be written outside"),
        ("..\\evil", "would be written outside"),
        ("a\\..\\..\\evil", "would be written outside"),
        ("/etc/evil", "absolute path"),
        ("\\evil", "absolute path"),
        ("C:\\evil", "absolute path"),
        ("C:/evil", "absolute path"),
        ("x" * 300, "File name too long"),
    ],
)
def test_zip_slip_names(tmp_path: Path, name: str, reason: str) -> None:
    error = reject(tmp_path, make_zip([("ok.txt", b"fine", FILE), (name, b"evil", FILE)]))
    assert_unzip_failed(error, reason)
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path.parent / "evil").exists()


def test_nul_in_name(tmp_path: Path) -> None:
    data = make_zip([("evilXname", b"x", FILE)]).replace(b"evilXname", b"evil\0name")
    assert_unzip_failed(reject(tmp_path, data), "NUL byte")


def test_device_or_fifo_entry(tmp_path: Path) -> None:
    assert_unzip_failed(reject(tmp_path, make_zip([("pipe", b"", FIFO)])), "FIFO")


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([("a", b"1", FILE), ("a", b"2", FILE)], id="file-twice"),
        pytest.param([("a", b"1", FILE), ("./a", b"2", FILE)], id="same-path-spelt-twice"),
        pytest.param([("d/", b"", DIR), ("d/", b"", DIR)], id="dir-twice"),
        pytest.param([("a", b"1", FILE), ("a/", b"", DIR)], id="file-then-dir"),
        pytest.param([("a", b"1", FILE), ("a/b", b"2", FILE)], id="file-then-child"),
        pytest.param([("a/b", b"2", FILE), ("a", b"1", FILE)], id="child-then-file"),
        pytest.param([("l", b"x", LINK), ("l", b"2", FILE)], id="link-then-file"),
        pytest.param([("d/", b"", DIR), ("d", b".", LINK)], id="dir-then-link"),
        pytest.param([("d/f", b"", FILE), ("d", b".", LINK)], id="parent-then-link"),
    ],
)
def test_duplicate_or_colliding_entries(tmp_path: Path, entries: list[Spec]) -> None:
    error = reject(tmp_path, make_zip(entries))
    assert_unzip_failed(error, "")
    assert "appears more than once" in error.message or "collides" in error.message


# --------------------------------------------------------------------------- hostile symlinks


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        pytest.param([("l", b"/etc/passwd", LINK)], "absolute target", id="absolute"),
        pytest.param([("l", b"../outside", LINK)], "points outside", id="parent"),
        pytest.param([("d/l", b"../../x", LINK)], "points outside", id="nested-parent"),
        pytest.param([("l", b"sub/../../x", LINK)], "points outside", id="lexical-detour"),
        pytest.param(
            [("y", b".", LINK), ("x", b"y/..", LINK)], "symlink 'x' points outside", id="chain"
        ),
        pytest.param(
            [("y", b".", LINK), ("x", b"y/../escape", LINK)], "points outside", id="chain-file"
        ),
        pytest.param(
            [("d/up", b"..", LINK), ("esc", b"d/up/..", LINK)], "points outside", id="chain-dir"
        ),
        pytest.param([("l", b"a\0b", LINK)], "invalid target", id="nul-target"),
        pytest.param([("l", b"", LINK)], "invalid target", id="empty-target"),
        pytest.param([("l", b"a" * 5000, LINK)], "too long a target", id="long-target"),
    ],
)
def test_symlink_escapes(tmp_path: Path, entries: list[Spec], reason: str) -> None:
    assert_unzip_failed(reject(tmp_path, make_zip(entries)), reason)


def test_symlink_to_a_sibling_directory_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "store"
    # trees/.tmp-<name>/l -> ../../../outside resolves to tmp_path/outside
    error = reject(root, make_zip([("l", b"../../../outside", LINK)]))
    assert_unzip_failed(error, "points outside")


def test_no_write_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "store"
    entries: list[Spec] = [("l", b"../../../outside", LINK), ("l/evil", b"evil", FILE)]
    # "l/evil" makes l a real directory first, so creating the link l then collides.
    assert_unzip_failed(reject(root, make_zip(entries)), "entry 'l' collides with another entry")
    assert list(outside.iterdir()) == []


def test_rejected_put_does_not_disturb_stored_code(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    good = store.put(make_zip([("a", b"a", FILE)]))
    with pytest.raises(LambdaError):
        store.put(make_zip([("../evil", b"", FILE)]))
    assert store.digests() == {good.sha256_hex}
    assert os.listdir(tmp_path / "trees") == [good.sha256_hex]
    assert store.get_zip_path(good.sha256_hex).read_bytes() == make_zip([("a", b"a", FILE)])
