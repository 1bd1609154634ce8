"""The durable registry: one SQLite file in WAL mode.

Each record is stored whole as JSON (its `to_dict`), next to the few columns that queries need:
keys, a sort key for versions, and the code digest for garbage collection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hearth.arns import LATEST
from hearth.models import (
    Alias,
    EventSourceMapping,
    FunctionRecord,
    FunctionUrlConfig,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
)
from hearth.store.locking import NonNestingLock
from hearth.store.registry import Registry, RegistryTransaction

# Bump with a migration whenever the tables below change.
SCHEMA_VERSION = 3

# How long a transaction waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 10_000

# SQL ----------------------------------------------------------------------------------------
# No FOREIGN KEY clauses: the Protocol lets a version or alias be put before its function in
# the same block, and `delete_function` removes children explicitly (as the memory fake does).
CREATE_TABLES = (
    """CREATE TABLE functions (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL
    )""",
    """CREATE TABLE versions (
        function_name TEXT NOT NULL,
        version TEXT NOT NULL,
        version_order INTEGER NOT NULL,  -- 0 for $LATEST, else the version number
        code_sha256_hex TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (function_name, version)
    )""",
    """CREATE TABLE aliases (
        function_name TEXT NOT NULL,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (function_name, name)
    )""",
    """CREATE TABLE layers (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL
    )""",
    """CREATE TABLE layer_versions (
        layer_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        code_sha256_hex TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (layer_name, version)
    )""",
)
# Each entry upgrades the schema from its index + 1 to the next version.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE mappings (
            uuid TEXT PRIMARY KEY,
            data TEXT NOT NULL
        )""",
    ),
    # Schema 3: function URLs, found by their id on every URL request.
    (
        """CREATE TABLE function_urls (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,  -- '' for the unqualified function
            url_id TEXT NOT NULL UNIQUE,
            data TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        )""",
    ),
)

GET_FUNCTION = "SELECT data FROM functions WHERE name = ?"
LIST_FUNCTIONS = "SELECT data FROM functions ORDER BY name"
PUT_FUNCTION = """
    INSERT INTO functions (name, data) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET data = excluded.data"""
DELETE_FUNCTION = "DELETE FROM functions WHERE name = ?"
DELETE_FUNCTION_VERSIONS = "DELETE FROM versions WHERE function_name = ?"
DELETE_FUNCTION_ALIASES = "DELETE FROM aliases WHERE function_name = ?"
DELETE_FUNCTION_URLS = "DELETE FROM function_urls WHERE function_name = ?"

GET_VERSION = "SELECT data FROM versions WHERE function_name = ? AND version = ?"
LIST_VERSIONS = "SELECT data FROM versions WHERE function_name = ? ORDER BY version_order"
PUT_VERSION = """
    INSERT INTO versions (function_name, version, version_order, code_sha256_hex, data)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (function_name, version) DO UPDATE SET
        version_order = excluded.version_order,
        code_sha256_hex = excluded.code_sha256_hex,
        data = excluded.data"""
DELETE_VERSION = "DELETE FROM versions WHERE function_name = ? AND version = ?"

GET_ALIAS = "SELECT data FROM aliases WHERE function_name = ? AND name = ?"
LIST_ALIASES = "SELECT data FROM aliases WHERE function_name = ? ORDER BY name"
PUT_ALIAS = """
    INSERT INTO aliases (function_name, name, data) VALUES (?, ?, ?)
    ON CONFLICT (function_name, name) DO UPDATE SET data = excluded.data"""
DELETE_ALIAS = "DELETE FROM aliases WHERE function_name = ? AND name = ?"

GET_FUNCTION_URL = "SELECT data FROM function_urls WHERE function_name = ? AND qualifier = ?"
FIND_FUNCTION_URL = "SELECT data FROM function_urls WHERE url_id = ?"
LIST_FUNCTION_URLS = "SELECT data FROM function_urls WHERE function_name = ? ORDER BY qualifier"
PUT_FUNCTION_URL = """
    INSERT INTO function_urls (function_name, qualifier, url_id, data) VALUES (?, ?, ?, ?)
    ON CONFLICT (function_name, qualifier) DO UPDATE SET
        url_id = excluded.url_id,
        data = excluded.data"""
DELETE_FUNCTION_URL = "DELETE FROM function_urls WHERE function_name = ? AND qualifier = ?"

GET_LAYER = "SELECT data FROM layers WHERE name = ?"
LIST_LAYERS = "SELECT data FROM layers ORDER BY name"
PUT_LAYER = """
    INSERT INTO layers (name, data) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET data = excluded.data"""

GET_LAYER_VERSION = "SELECT data FROM layer_versions WHERE layer_name = ? AND version = ?"
LIST_LAYER_VERSIONS = "SELECT data FROM layer_versions WHERE layer_name = ? ORDER BY version DESC"
PUT_LAYER_VERSION = """
    INSERT INTO layer_versions (layer_name, version, code_sha256_hex, data) VALUES (?, ?, ?, ?)
    ON CONFLICT (layer_name, version) DO UPDATE SET
        code_sha256_hex = excluded.code_sha256_hex,
        data = excluded.data"""
DELETE_LAYER_VERSION = "DELETE FROM layer_versions WHERE layer_name = ? AND version = ?"

GET_MAPPING = "SELECT data FROM mappings WHERE uuid = ?"
LIST_MAPPINGS = "SELECT data FROM mappings ORDER BY uuid"
PUT_MAPPING = """
    INSERT INTO mappings (uuid, data) VALUES (?, ?)
    ON CONFLICT (uuid) DO UPDATE SET data = excluded.data"""
DELETE_MAPPING = "DELETE FROM mappings WHERE uuid = ?"

# Attached layers count too: a function keeps working after its layer version is deleted (as
# in AWS), so that layer's code must outlive the layer_versions row.
CODE_DIGESTS_IN_USE = """
    SELECT code_sha256_hex FROM versions
    UNION SELECT code_sha256_hex FROM layer_versions
    UNION SELECT json_extract(layer.value, '$.code_sha256_hex')
        FROM versions, json_each(versions.data, '$.layers') AS layer"""


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def _version_order(version: str) -> int:
    # Published versions are positive integers; int() fails loudly on anything else.
    return 0 if version == LATEST else int(version)


class SqliteRegistry(Registry):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode (isolation_level=None): we issue BEGIN/COMMIT ourselves. The
        # connection is shared by threads, so `_lock` guards every use of it.
        self._conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self._lock = NonNestingLock("registry transactions")
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL with synchronous=NORMAL is durable against process crashes, kill -9 included: a
        # commit is in the WAL file (the OS page cache) before COMMIT returns. Only a power
        # loss or kernel crash can drop the last commits, never corrupt the database.
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        # Inside BEGIN IMMEDIATE so two processes opening a new file don't both create tables.
        with self.transaction():
            (current,) = self._conn.execute("PRAGMA user_version").fetchone()
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"registry schema {current} is newer than this Hearth ({SCHEMA_VERSION})"
                )
            if current == 0:
                for statement in CREATE_TABLES:
                    self._conn.execute(statement)
                current = 1
            for migration in MIGRATIONS[current - 1 :]:
                for statement in migration:
                    self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[RegistryTransaction]:
        with self._lock:
            # IMMEDIATE takes the write lock now, so read-check-write is serialized across
            # processes too (a deferred BEGIN could fail to upgrade after reading).
            self._conn.execute("BEGIN IMMEDIATE")
            tx = _SqliteTransaction(self._conn)
            try:
                yield tx
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT may have rolled back already; don't mask its error.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                tx.closed = True

    def close(self) -> None:
        with self._lock:  # let a transaction in flight finish first
            self._conn.close()


class _SqliteTransaction(RegistryTransaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.closed = False

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        # Outside its block a write would autocommit, unlocked: refuse rather than corrupt.
        if self.closed:
            raise RuntimeError("registry transaction used after its block ended")
        return self._conn.execute(sql, params)

    def _one(self, sql: str, *params: Any) -> dict[str, Any] | None:
        row = self._execute(sql, params).fetchone()
        return None if row is None else json.loads(row[0])

    def _all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self._execute(sql, params)]

    # Functions ------------------------------------------------------------------------------
    def get_function(self, name: str) -> FunctionRecord | None:
        data = self._one(GET_FUNCTION, name)
        return None if data is None else FunctionRecord.from_dict(data)

    def list_functions(self) -> list[FunctionRecord]:
        return [FunctionRecord.from_dict(data) for data in self._all(LIST_FUNCTIONS)]

    def put_function(self, record: FunctionRecord) -> None:
        self._execute(PUT_FUNCTION, (record.name, _dumps(record.to_dict())))

    def delete_function(self, name: str) -> None:
        for sql in (
            DELETE_FUNCTION_URLS,
            DELETE_FUNCTION_ALIASES,
            DELETE_FUNCTION_VERSIONS,
            DELETE_FUNCTION,
        ):
            self._execute(sql, (name,))

    # Versions -------------------------------------------------------------------------------
    def get_version(self, function_name: str, version: str) -> FunctionVersion | None:
        data = self._one(GET_VERSION, function_name, version)
        return None if data is None else FunctionVersion.from_dict(data)

    def list_versions(self, function_name: str) -> list[FunctionVersion]:
        return [FunctionVersion.from_dict(d) for d in self._all(LIST_VERSIONS, function_name)]

    def put_version(self, version: FunctionVersion) -> None:
        self._execute(
            PUT_VERSION,
            (
                version.function_name,
                version.version,
                _version_order(version.version),
                version.code_sha256_hex,
                _dumps(version.to_dict()),
            ),
        )

    def delete_version(self, function_name: str, version: str) -> None:
        self._execute(DELETE_VERSION, (function_name, version))

    # Aliases --------------------------------------------------------------------------------
    def get_alias(self, function_name: str, alias_name: str) -> Alias | None:
        data = self._one(GET_ALIAS, function_name, alias_name)
        return None if data is None else Alias.from_dict(data)

    def list_aliases(self, function_name: str) -> list[Alias]:
        return [Alias.from_dict(data) for data in self._all(LIST_ALIASES, function_name)]

    def put_alias(self, alias: Alias) -> None:
        self._execute(PUT_ALIAS, (alias.function_name, alias.name, _dumps(alias.to_dict())))

    def delete_alias(self, function_name: str, alias_name: str) -> None:
        self._execute(DELETE_ALIAS, (function_name, alias_name))

    # Function URLs --------------------------------------------------------------------------
    def get_function_url(self, function_name: str, qualifier: str) -> FunctionUrlConfig | None:
        data = self._one(GET_FUNCTION_URL, function_name, qualifier)
        return None if data is None else FunctionUrlConfig.from_dict(data)

    def find_function_url(self, url_id: str) -> FunctionUrlConfig | None:
        data = self._one(FIND_FUNCTION_URL, url_id)
        return None if data is None else FunctionUrlConfig.from_dict(data)

    def list_function_urls(self, function_name: str) -> list[FunctionUrlConfig]:
        return [
            FunctionUrlConfig.from_dict(d) for d in self._all(LIST_FUNCTION_URLS, function_name)
        ]

    def put_function_url(self, config: FunctionUrlConfig) -> None:
        self._execute(
            PUT_FUNCTION_URL,
            (config.function_name, config.qualifier, config.url_id, _dumps(config.to_dict())),
        )

    def delete_function_url(self, function_name: str, qualifier: str) -> None:
        self._execute(DELETE_FUNCTION_URL, (function_name, qualifier))

    # Layers ---------------------------------------------------------------------------------
    def get_layer(self, name: str) -> LayerRecord | None:
        data = self._one(GET_LAYER, name)
        return None if data is None else LayerRecord.from_dict(data)

    def list_layers(self) -> list[LayerRecord]:
        return [LayerRecord.from_dict(data) for data in self._all(LIST_LAYERS)]

    def put_layer(self, record: LayerRecord) -> None:
        self._execute(PUT_LAYER, (record.name, _dumps(record.to_dict())))

    def get_layer_version(self, layer_name: str, version: int) -> LayerVersion | None:
        data = self._one(GET_LAYER_VERSION, layer_name, version)
        return None if data is None else LayerVersion.from_dict(data)

    def list_layer_versions(self, layer_name: str) -> list[LayerVersion]:
        return [LayerVersion.from_dict(d) for d in self._all(LIST_LAYER_VERSIONS, layer_name)]

    def put_layer_version(self, version: LayerVersion) -> None:
        self._execute(
            PUT_LAYER_VERSION,
            (
                version.layer_name,
                version.version,
                version.code_sha256_hex,
                _dumps(version.to_dict()),
            ),
        )

    def delete_layer_version(self, layer_name: str, version: int) -> None:
        self._execute(DELETE_LAYER_VERSION, (layer_name, version))

    # Event source mappings ------------------------------------------------------------------
    def get_mapping(self, uuid: str) -> EventSourceMapping | None:
        data = self._one(GET_MAPPING, uuid)
        return None if data is None else EventSourceMapping.from_dict(data)

    def list_mappings(self) -> list[EventSourceMapping]:
        return [EventSourceMapping.from_dict(data) for data in self._all(LIST_MAPPINGS)]

    def put_mapping(self, mapping: EventSourceMapping) -> None:
        self._execute(PUT_MAPPING, (mapping.uuid, _dumps(mapping.to_dict())))

    def delete_mapping(self, uuid: str) -> None:
        self._execute(DELETE_MAPPING, (uuid,))

    # Code -----------------------------------------------------------------------------------
    def code_digests_in_use(self) -> set[str]:
        return {digest for (digest,) in self._execute(CODE_DIGESTS_IN_USE)}
