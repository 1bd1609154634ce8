"""A damaged, empty or foreign data dir: `hearth serve` refuses in one sentence and deletes
nothing; `hearth doctor --data-dir` says the same."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hearth.store.sqlite import SCHEMA_VERSION
from tests.integration.conftest import Server, create_function, make_zip

FUNCTIONS = 3


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir a real server wrote: three functions with different code, then stopped."""
    data = tmp_path_factory.mktemp("stocked")
    server = Server(data, ["--isolation", "process"]).start()
    try:
        for n in range(FUNCTIONS):
            code = make_zip({"app.py": f"def handler(event, context):\n    return {n}\n"})
            create_function(server.client(), f"keep-{n}", code)
    finally:
        server.stop()
    return data


def _blobs(data: Path) -> set[str]:
    return set(os.listdir(data / "code" / "blobs"))


def _serve(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hearth", "serve", "--port", "0", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HEARTH_ISOLATION": "process", "COLUMNS": "400"},
    )


def _doctor(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hearth", "doctor", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )


def _empty_registry(data: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data / f"registry.sqlite3{suffix}").unlink(missing_ok=True)
    (data / "registry.sqlite3").write_bytes(b"")


def _garbage_registry(data: Path) -> None:
    (data / "registry.sqlite3").write_bytes(b"this is not a database" * 100)


def _tableless_registry(data: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data / f"registry.sqlite3{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(data / "registry.sqlite3")  # a header and nothing else
    conn.execute("VACUUM")
    conn.close()


def _missing_registry(data: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data / f"registry.sqlite3{suffix}").unlink(missing_ok=True)


def _newer_schema(data: Path) -> None:
    conn = sqlite3.connect(data / "registry.sqlite3")
    conn.execute("PRAGMA user_version = 99")
    conn.close()


def _bad_record(data: Path) -> None:
    conn = sqlite3.connect(data / "registry.sqlite3")
    conn.execute("UPDATE versions SET data = '{not json' WHERE function_name = 'keep-1'")
    conn.commit()
    conn.close()


def _foreign_database(data: Path) -> None:
    conn = sqlite3.connect(data / "registry.sqlite3")
    conn.execute("DROP TABLE layer_versions")
    conn.commit()
    conn.close()


def _garbage_queue(data: Path) -> None:
    for suffix in ("-wal", "-shm"):
        (data / f"queue.sqlite3{suffix}").unlink(missing_ok=True)
    (data / "queue.sqlite3").write_bytes(os.urandom(8192))


def _empty_key(data: Path) -> None:
    (data / "code-url.key").write_bytes(b"")


def _short_key(data: Path) -> None:
    (data / "code-url.key").write_bytes(b"0123456789")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty registry": (_empty_registry, "is empty but code/ holds 3 code zip(s)"),
    "registry not sqlite": (_garbage_registry, "is damaged or not a SQLite database"),
    "registry without tables": (_tableless_registry, "holds no tables but code/ holds 3"),
    "registry missing": (_missing_registry, "holds 3 code zip(s) in code/ but no registry"),
    "newer schema": (
        _newer_schema,
        f"has registry schema 99, newer than this Hearth's ({SCHEMA_VERSION})",
    ),
    "unreadable record": (_bad_record, "has unreadable records"),
    "another program's database": (_foreign_database, "is not a Hearth registry"),
    "queue not sqlite": (_garbage_queue, "queue.sqlite3 is damaged or not a SQLite database"),
    "empty code-url.key": (_empty_key, "code-url.key holds 0 bytes, not the 32"),
    "short code-url.key": (_short_key, "code-url.key holds 10 bytes, not the 32"),
}

DOCTOR_CASES = ("empty registry", "short code-url.key")


@pytest.mark.parametrize("case", list(DAMAGE))
def test_serve_refuses_a_damaged_data_dir_and_keeps_the_code(
    stocked: Path, tmp_path: Path, case: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(stocked, data)
    before = _blobs(data)
    assert len(before) == FUNCTIONS
    damage, sentence = DAMAGE[case]
    damage(data)

    served = _serve(data)
    assert served.returncode == 1, served.stdout + served.stderr
    assert "Traceback" not in served.stderr, served.stderr
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1, served.stderr  # one sentence, not a traceback
    assert lines[0].startswith("error: ") and sentence in lines[0], lines[0]
    assert _blobs(data) == before  # nothing collected

    if case in DOCTOR_CASES:  # the same check: a few cases suffice
        doctor = _doctor(data)
        assert doctor.returncode == 1, doctor.stdout
        assert sentence in " ".join(doctor.stdout.split()), doctor.stdout


def test_serve_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    served = _serve(tmp_path)
    assert served.returncode == 1
    assert "is not Hearth's: it holds other files (notes.txt)" in served.stderr, served.stderr
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]  # nothing created in it


def test_doctor_passes_an_intact_data_dir_and_serve_keeps_its_code(
    stocked: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(stocked, data)
    doctor = _doctor(data)
    assert doctor.returncode == 0, doctor.stdout
    assert "intact, 3 code zip(s)" in doctor.stdout
    server = Server(data, ["--isolation", "process"]).start()
    try:
        names = {f["FunctionName"] for f in server.client().list_functions()["Functions"]}
        assert names == {f"keep-{n}" for n in range(FUNCTIONS)}
    finally:
        server.stop()
    assert len(_blobs(data)) == FUNCTIONS
    key = (data / "code-url.key").read_bytes()
    assert len(key) == 32


def test_doctor_on_a_new_data_dir(tmp_path: Path) -> None:
    doctor = _doctor(tmp_path / "new")
    assert doctor.returncode == 0, doctor.stdout
    assert "new (nothing stored yet)" in doctor.stdout
    assert not (tmp_path / "new").exists()  # doctor creates nothing
