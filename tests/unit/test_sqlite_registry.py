"""What only the durable adapter promises: restarts, crashes, and other connections."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import hearth
from hearth.arns import LATEST
from hearth.store.sqlite import SCHEMA_VERSION, SqliteRegistry
from tests.unit.test_registry_contract import (
    alias,
    function_record,
    function_version,
    increment_counter,
    layer_record,
    layer_version,
    rich_function_record,
    rich_function_version,
    run_threads,
)

SRC = Path(hearth.__file__).parents[1]


def read_counter(path: Path) -> int:
    registry = SqliteRegistry(path)
    try:
        with registry.transaction() as tx:
            counter = tx.get_function("counter")
            assert counter is not None
            return counter.last_version_number
    finally:
        registry.close()


def test_creates_parent_dirs_and_configures_the_database(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "registry.sqlite3"
    SqliteRegistry(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    registry = SqliteRegistry(path)
    with registry.transaction() as tx:
        tx.put_function(rich_function_record())
        tx.put_version(rich_function_version())
        tx.put_version(function_version("rich", LATEST))
        tx.put_alias(alias("rich", "live"))
        tx.put_layer(layer_record())
        tx.put_layer_version(layer_version())
    with pytest.raises(ZeroDivisionError), registry.transaction() as tx:
        tx.put_function(function_record("rolled-back"))
        _ = 1 / 0
    registry.close()

    reopened = SqliteRegistry(path)
    with reopened.transaction() as tx:
        assert tx.list_functions() == [rich_function_record()]
        assert tx.list_versions("rich") == [
            function_version("rich", LATEST),
            rich_function_version(),
        ]
        assert tx.list_aliases("rich") == [alias("rich", "live")]
        assert tx.list_layers() == [layer_record()]
        assert tx.list_layer_versions("layer") == [layer_version()]
    reopened.close()


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    SqliteRegistry(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteRegistry(path)


def test_two_instances_on_one_file_lose_no_updates(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    first, second = SqliteRegistry(path), SqliteRegistry(path)
    with first.transaction() as tx:
        tx.put_function(function_record("counter"))
    turn = iter([first, second] * 4)
    lock = threading.Lock()

    def work() -> None:
        with lock:
            registry = next(turn)
        increment_counter(registry, 50)

    run_threads(8, work)
    first.close()
    second.close()
    assert read_counter(path) == 400


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hearth.models import FunctionRecord, FunctionVersion
    from hearth.store.sqlite import SqliteRegistry

    registry = SqliteRegistry(Path(sys.argv[1]))
    padding = "x" * 20_000  # several pages per commit, so a kill can land mid-write
    i = 0
    while True:
        with registry.transaction() as tx:
            tx.put_function(FunctionRecord(name=f"fn-{i}", created="now"))
            tx.put_version(FunctionVersion(
                function_name=f"fn-{i}", version="$LATEST", role="r", runtime="python3.12",
                handler="h", code_sha256_hex=f"{i:064x}", code_size=1, revision_id="r",
                last_modified="now", environment={"PAD": padding},
            ))
        print(i, flush=True)  # acknowledged: committed before this line was written
        i += 1
    """
)


def test_acknowledged_commits_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert writer.stdout is not None
    acked = 0
    for line in writer.stdout:
        assert int(line) == acked
        acked += 1
        if acked == 200:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    # Lines written before the kill still count as acknowledged.
    acked += sum(
        1 for line in writer.stdout.read().splitlines(keepends=True) if line.endswith("\n")
    )
    writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    registry = SqliteRegistry(path)
    with registry.transaction() as tx:
        names = {f.name for f in tx.list_functions()}
        versions = {name: tx.get_version(name, LATEST) for name in names}
    registry.close()
    # Every acknowledged commit is there; at most one more committed before its print.
    assert names in ({f"fn-{i}" for i in range(n)} for n in (acked, acked + 1))
    # And each commit is whole: its version came with its function.
    assert all(version is not None for version in versions.values())


COUNTER_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.unit.test_registry_contract import increment_counter
    from hearth.store.sqlite import SqliteRegistry

    registry = SqliteRegistry(Path(sys.argv[1]))
    increment_counter(registry, int(sys.argv[2]))
    registry.close()
    """
)


def test_processes_on_one_file_lose_no_updates(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    registry = SqliteRegistry(path)
    with registry.transaction() as tx:
        tx.put_function(function_record("counter"))
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(root)])}
    processes = [
        subprocess.Popen([sys.executable, "-c", COUNTER_PROCESS, str(path), "100"], env=env)
        for _ in range(3)
    ]
    increment_counter(registry, 100)  # and this process too
    registry.close()
    assert [p.wait(timeout=60) for p in processes] == [0, 0, 0]
    assert read_counter(path) == 400
