"""One server per data dir: the lock's guarantees, in one process (flock conflicts between
open files, not only between processes). The CLI's refusal is tested through `hearth serve`
in tests/integration/test_first_hour.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hearth.store.data_dir_lock import LOCK_FILE, DataDirLock, DataDirLocked


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with DataDirLock(tmp_path / "data") as first:
        first.record("http://127.0.0.1:9070")
        with pytest.raises(DataDirLocked) as refused:
            DataDirLock(tmp_path / "data")
        assert refused.value.holder == f"pid {os.getpid()}, listening at http://127.0.0.1:9070"
    with DataDirLock(tmp_path / "data"):  # released: free again
        pass


def test_a_holder_that_has_not_listened_yet_says_so(tmp_path: Path) -> None:
    with DataDirLock(tmp_path), pytest.raises(DataDirLocked) as refused:
        DataDirLock(tmp_path)
    assert refused.value.holder == f"pid {os.getpid()}, starting"


def test_a_stale_lock_file_does_not_lock(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("pid 1, listening at http://127.0.0.1:1\n")
    with DataDirLock(tmp_path) as lock:
        assert lock.path.read_text() == f"pid {os.getpid()}, starting\n"


def test_the_descriptor_is_not_inherited_by_exec(tmp_path: Path) -> None:
    lock = DataDirLock(tmp_path)
    try:
        assert lock._fd is not None
        assert not os.get_inheritable(lock._fd)
    finally:
        lock.release()
