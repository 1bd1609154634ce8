"""Is this data dir Hearth's, and intact? Checked before anything opens, writes or collects.

Start-up deletes code that no registry row references. If the registry is empty because it
was truncated, replaced or never belonged to this code, that clean-up would delete every
function's code, so Hearth refuses to start instead, with one sentence saying what is wrong
and what to do. `hearth doctor --data-dir` runs the same check without changing anything.

What counts as whose:
- a missing or empty directory is a new data dir;
- a directory holding `registry.sqlite3` is Hearth's (whatever else it holds);
- a directory holding other things and none of Hearth's files is someone else's;
- Hearth's files without a registry, or a registry that is empty, unreadable, of a newer
  schema or of another program, is damage.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "registry.sqlite3"
QUEUE = "queue.sqlite3"
LOGS = "logs.sqlite3"
POSITIONS = "event-sources.sqlite3"  # see events/positions.py
CODE = "code"
CODE_URL_KEY = "code-url.key"
RESERVE = "reserve"  # see store/reserve.py
STACKS = "stacks"  # what `hearth up` deployed, per stack (templates/state.py)
SERVER_LOCK = "server.lock"  # see store/data_dir_lock.py; taken before this check runs
FUNCTION_CREDENTIALS_KEY = "function-credentials.key"  # see services/credentials.py
SERVICES_SNAPSHOT = "services.pickle"  # see services/snapshots.py
CODE_SIGNING_CONFIGS = "code-signing-configs.json"  # see store/documents.py
TMP_DISKS = "tmp-disks"  # sandboxes' /tmp filesystems, see sandbox/tmp_disks.py
SCHEDULE_FIRES = "schedules.json"  # see services/schedule_runner.py
LOG_SUBSCRIPTIONS = "log-subscriptions.json"  # see logs/subscriptions.py
# A shorter HMAC key makes the signed code URLs guessable; an empty one makes them forgeable.
CODE_URL_KEY_BYTES = 32

_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
HEARTH_ENTRIES = frozenset(
    {f"{db}{suffix}" for db in (REGISTRY, QUEUE, LOGS, POSITIONS) for suffix in _SQLITE_SUFFIXES}
    | {CODE, CODE_URL_KEY, f"{CODE_URL_KEY}.tmp", RESERVE, f"{RESERVE}.tmp", SERVER_LOCK}
    | {FUNCTION_CREDENTIALS_KEY, f"{FUNCTION_CREDENTIALS_KEY}.tmp", SERVICES_SNAPSHOT}
    | {"services.tmp", CODE_SIGNING_CONFIGS, f"{CODE_SIGNING_CONFIGS}.tmp"}
    | {"schedules.tmp", SCHEDULE_FIRES, LOG_SUBSCRIPTIONS, "log-subscriptions.tmp"}
    | {STACKS, TMP_DISKS}
)
# The tables a registry of this schema has; another program's SQLite file has others.
_REGISTRY_TABLES = frozenset({"functions", "versions", "aliases", "layers", "layer_versions"})
# The registry rows that start-up reads; each must be the JSON object Hearth wrote.
_REGISTRY_DATA = ("functions", "versions", "aliases", "layers", "layer_versions")


class DataDirProblem(Exception):
    """The data dir cannot be used as it is. str() is one sentence: what and what to do."""


@dataclass(frozen=True)
class DataDirState:
    """What the check found in a usable data dir."""

    new: bool  # nothing of Hearth's there yet: a registry will be created
    code_blobs: int  # stored code zips


def check_data_dir(path: Path, *, registry_schema: int) -> DataDirState:
    """Raise `DataDirProblem` unless `path` is a new, empty or intact Hearth data dir.

    Reads only: opens SQLite files read-only and creates nothing, so doctor can run it
    beside a live server. `registry_schema` is the newest schema this Hearth knows.
    """
    if path.exists() and not path.is_dir():
        raise DataDirProblem(
            f"The data dir {path} is a file, not a directory: pass a directory with --data-dir."
        )
    entries = set(os.listdir(path)) if path.is_dir() else set()
    ours = entries & HEARTH_ENTRIES
    blobs = _count_blobs(path / CODE)
    if REGISTRY not in entries:
        if blobs:
            raise DataDirProblem(
                f"The data dir {path} holds {blobs} code zip(s) in code/ but no {REGISTRY}: "
                "the registry was lost, so Hearth will not start (it would delete that code); "
                f"restore {REGISTRY} from a backup, or move code/ away to start empty."
            )
        if entries and not ours:
            shown = ", ".join(sorted(entries)[:3])
            raise DataDirProblem(
                f"The data dir {path} is not Hearth's: it holds other files ({shown}) and no "
                f"{REGISTRY}; pass a new or empty directory, or the one Hearth made, with "
                "--data-dir."
            )
    else:
        _check_registry(path / REGISTRY, registry_schema, blobs)
    for name in (QUEUE, LOGS, POSITIONS):
        if name in entries:
            _check_sqlite(path / name)
    if CODE_URL_KEY in entries:
        check_code_url_key(path / CODE_URL_KEY)
    return DataDirState(new=REGISTRY not in entries, code_blobs=blobs)


def check_code_url_key(path: Path) -> bytes:
    """The signing key at `path`; `DataDirProblem` if it is too short to be safe."""
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise DataDirProblem(
            f"{path} cannot be read ({exc.strerror}): fix its permissions, or delete it and "
            "Hearth makes a new key (code URLs handed out before stop working)."
        ) from exc
    if len(key) < CODE_URL_KEY_BYTES:
        raise DataDirProblem(
            f"{path} holds {len(key)} bytes, not the {CODE_URL_KEY_BYTES} of a signing key "
            "(URLs signed with it could be forged): delete it and Hearth makes a new one "
            "(code URLs handed out before stop working)."
        )
    return key


def load_or_create_code_url_key(data_dir: Path) -> bytes:
    """The code URL signing key, created once per data dir (owner-readable only)."""
    path = data_dir / CODE_URL_KEY
    if path.exists():
        return check_code_url_key(path)
    key = secrets.token_bytes(CODE_URL_KEY_BYTES)
    tmp = path.with_name(f"{CODE_URL_KEY}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return key


def _count_blobs(code: Path) -> int:
    try:
        return sum(1 for name in os.listdir(code / "blobs") if name.endswith(".zip"))
    except (FileNotFoundError, NotADirectoryError):
        return 0


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)


def _check_sqlite(path: Path) -> sqlite3.Connection:
    """Open read-only and run SQLite's own quick check; the caller closes the connection."""
    damaged = (
        f"{path} is damaged or not a SQLite database: move it away and start again "
        "(what it held is lost), or restore it from a backup."
    )
    try:
        conn = _connect_read_only(path)
    except sqlite3.Error as exc:
        raise DataDirProblem(damaged) from exc
    try:
        (result,) = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise DataDirProblem(damaged) from exc
    if result != "ok":
        conn.close()
        raise DataDirProblem(damaged)
    return conn


def _check_registry(path: Path, schema: int, blobs: int) -> None:
    if path.stat().st_size == 0:
        if blobs:
            raise DataDirProblem(
                f"{path} is empty but code/ holds {blobs} code zip(s): the registry was "
                "truncated, so Hearth will not start (it would delete that code); restore "
                f"{path.name} from a backup, or move the data dir away to start empty."
            )
        return  # an empty file is a new SQLite database; nothing can be lost
    conn = _check_sqlite(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        if version > schema:
            raise DataDirProblem(
                f"{path} has registry schema {version}, newer than this Hearth's ({schema}): "
                "run the Hearth that wrote it, or a newer one."
            )
        if version == 0 and not tables:
            if blobs:
                raise DataDirProblem(
                    f"{path} holds no tables but code/ holds {blobs} code zip(s): the "
                    "registry was replaced, so Hearth will not start (it would delete that "
                    f"code); restore {path.name} from a backup, or move the data dir away."
                )
            return
        # An older schema is upgraded when the registry opens (store/sqlite.py MIGRATIONS).
        if not 1 <= version <= schema or _REGISTRY_TABLES - tables:
            raise DataDirProblem(
                f"{path} is not a Hearth registry (another program's database, or one "
                "missing tables): move it away, or pass the right --data-dir."
            )
        for table in _REGISTRY_DATA:
            for (data,) in conn.execute(f"SELECT data FROM {table}"):  # noqa: S608 - fixed names
                if not isinstance(json.loads(data), dict):
                    raise ValueError(table)
    except (sqlite3.Error, ValueError, TypeError) as exc:
        raise DataDirProblem(
            f"{path} has unreadable records: restore it from a backup, or move the data dir "
            "away to start empty."
        ) from exc
    finally:
        conn.close()
