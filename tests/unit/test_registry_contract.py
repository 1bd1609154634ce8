"""The `Registry` contract, run against every adapter (see hearth/store/registry.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hearth.arns import LATEST
from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.registry import KvRegistry
from hearth.models import (
    Alias,
    AttachedLayer,
    FunctionRecord,
    FunctionVersion,
    LayerRecord,
    LayerVersion,
    Policy,
    PolicyStatement,
    ProvisionedConcurrency,
    State,
    UpdateStatus,
)
from hearth.store.memory import MemoryRegistry
from hearth.store.registry import Registry
from hearth.store.sqlite import SqliteRegistry

# Factories ------------------------------------------------------------------------------------


def function_record(name: str = "fn", **changes: Any) -> FunctionRecord:
    return FunctionRecord(name=name, created="2024-01-01T00:00:00.000+0000", **changes)


def function_version(
    function_name: str = "fn", version: str = LATEST, **changes: Any
) -> FunctionVersion:
    fields: dict[str, Any] = {
        "role": "arn:aws:iam::123456789012:role/lambda",
        "runtime": "python3.12",
        "handler": "app.handler",
        "code_sha256_hex": "a" * 64,
        "code_size": 123,
        "revision_id": "rev-1",
        "last_modified": "2024-01-01T00:00:00.000+0000",
    }
    return FunctionVersion(function_name=function_name, version=version, **{**fields, **changes})


def alias(function_name: str = "fn", name: str = "live", **changes: Any) -> Alias:
    fields: dict[str, Any] = {"function_version": "1", "revision_id": "rev-1"}
    return Alias(function_name=function_name, name=name, **{**fields, **changes})


def layer_record(name: str = "layer", **changes: Any) -> LayerRecord:
    return LayerRecord(name=name, **changes)


def layer_version(layer_name: str = "layer", version: int = 1, **changes: Any) -> LayerVersion:
    fields: dict[str, Any] = {
        "code_sha256_hex": "b" * 64,
        "code_size": 456,
        "created_date": "2024-01-01T00:00:00.000+0000",
    }
    return LayerVersion(layer_name=layer_name, version=version, **{**fields, **changes})


def rich_function_record() -> FunctionRecord:
    """Every field away from its default, nested shapes included."""
    statement = PolicyStatement("sid-1", {"Effect": "Allow", "Principal": {"Service": "s3"}})
    return function_record(
        "rich",
        last_version_number=7,
        tags={"team": "core", "env": "prod"},
        policies={"": Policy((statement,), "prev-1"), "live": Policy((), "prev-2")},
        reserved_concurrency=5,
        provisioned_concurrency={
            "3": ProvisionedConcurrency(2, "2024-01-02T00:00:00.000+0000"),
            "live": ProvisionedConcurrency(1, "2024-01-03T00:00:00.000+0000"),
        },
    )


def rich_function_version() -> FunctionVersion:
    return function_version(
        "rich",
        "3",
        description="described",
        timeout=30,
        memory_size=1024,
        ephemeral_storage=2048,
        environment={"A": "1", "B": "two"},
        architectures=("arm64",),
        layers=(AttachedLayer("arn:aws:lambda:us-east-1:123456789012:layer:l:1", 9, "c" * 64),),
        tracing_mode="Active",
        dead_letter_target_arn="arn:aws:sqs:us-east-1:123456789012:dlq",
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
        log_format="JSON",
        log_group="/aws/lambda/rich",
        application_log_level="INFO",
        system_log_level="WARN",
        passthrough={"VpcConfig": {"SubnetIds": ["s-1"], "Ipv6": False}, "Count": 2},
        state=State.ACTIVE,
        state_reason=None,
        state_reason_code=None,
        last_update_status=UpdateStatus.SUCCESSFUL,
        last_update_status_reason="done",
        last_update_status_reason_code="Ok",
    )


# Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nats_link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsLink]:
    """One nats-server for the cluster registry's runs (each in buckets of its own)."""
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    link = NatsLink((server.url,), "contract")
    yield link
    link.close()
    server.stop()


@pytest.fixture(params=["memory", "sqlite", "kv"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    adapter: Registry
    if request.param == "memory":
        adapter = MemoryRegistry()
    elif request.param == "sqlite":
        adapter = SqliteRegistry(tmp_path / "reg.db")
    else:
        link = request.getfixturevalue("nats_link")
        adapter = KvRegistry(link, "node", namespace=f"t{uuid.uuid4().hex[:12]}")
    yield adapter
    adapter.close()


class Boom(Exception):
    pass


def run_threads(count: int, work: Callable[[], None]) -> None:
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work) for _ in range(count)]
        for future in futures:
            future.result()  # re-raises a worker's failure


# Empty ----------------------------------------------------------------------------------------


def test_empty_registry_reads_nothing(registry: Registry) -> None:
    with registry.transaction() as tx:
        assert tx.get_function("fn") is None
        assert tx.list_functions() == []
        assert tx.get_version("fn", LATEST) is None
        assert tx.list_versions("fn") == []
        assert tx.get_alias("fn", "live") is None
        assert tx.list_aliases("fn") == []
        assert tx.get_layer("layer") is None
        assert tx.list_layers() == []
        assert tx.get_layer_version("layer", 1) is None
        assert tx.list_layer_versions("layer") == []
        assert tx.code_digests_in_use() == set()


# Functions ------------------------------------------------------------------------------------


def test_function_round_trips_every_field(registry: Registry) -> None:
    record = rich_function_record()
    with registry.transaction() as tx:
        tx.put_function(record)
    with registry.transaction() as tx:
        assert tx.get_function("rich") == record
        assert tx.list_functions() == [record]


def test_function_record_from_before_provisioned_concurrency_reads_as_none() -> None:
    data = function_record().to_dict()
    del data["provisioned_concurrency"]
    assert FunctionRecord.from_dict(data).provisioned_concurrency == {}


def test_put_function_replaces(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(function_record(tags={"a": "1"}))
    with registry.transaction() as tx:
        tx.put_function(function_record(tags={"b": "2"}, last_version_number=3))
    with registry.transaction() as tx:
        assert tx.get_function("fn") == function_record(tags={"b": "2"}, last_version_number=3)
        assert len(tx.list_functions()) == 1


def test_list_functions_sorted_by_name(registry: Registry) -> None:
    with registry.transaction() as tx:
        for name in ["b", "C", "a", "a-2", "aa"]:
            tx.put_function(function_record(name))
    with registry.transaction() as tx:
        assert [f.name for f in tx.list_functions()] == sorted(["b", "C", "a", "a-2", "aa"])


def test_delete_function(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(function_record("keep"))
        tx.put_function(function_record("drop"))
    with registry.transaction() as tx:
        tx.delete_function("drop")
        tx.delete_function("never-existed")  # no error
    with registry.transaction() as tx:
        assert tx.get_function("drop") is None
        assert [f.name for f in tx.list_functions()] == ["keep"]


def test_delete_function_cascades_to_versions_and_aliases(registry: Registry) -> None:
    with registry.transaction() as tx:
        for name in ["drop", "keep"]:
            tx.put_function(function_record(name))
            tx.put_version(function_version(name, LATEST))
            tx.put_version(function_version(name, "1"))
            tx.put_alias(alias(name, "live"))
        tx.put_layer(layer_record())
        tx.put_layer_version(layer_version())
    with registry.transaction() as tx:
        tx.delete_function("drop")
    with registry.transaction() as tx:
        assert tx.list_versions("drop") == []
        assert tx.get_version("drop", LATEST) is None
        assert tx.list_aliases("drop") == []
        assert tx.get_alias("drop", "live") is None
        # Nothing else is touched.
        assert [v.version for v in tx.list_versions("keep")] == [LATEST, "1"]
        assert [a.name for a in tx.list_aliases("keep")] == ["live"]
        assert tx.get_layer_version("layer", 1) == layer_version()
    with registry.transaction() as tx:  # a re-created function starts empty
        tx.put_function(function_record("drop"))
        assert tx.list_versions("drop") == []


# Versions -------------------------------------------------------------------------------------


def test_version_round_trips_every_field(registry: Registry) -> None:
    version = rich_function_version()
    with registry.transaction() as tx:
        tx.put_version(version)
    with registry.transaction() as tx:
        assert tx.get_version("rich", "3") == version
        assert tx.list_versions("rich") == [version]


def test_put_version_replaces(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_version(function_version(revision_id="rev-1"))
    with registry.transaction() as tx:
        tx.put_version(function_version(revision_id="rev-2", code_sha256_hex="d" * 64))
    with registry.transaction() as tx:
        assert tx.list_versions("fn") == [
            function_version(revision_id="rev-2", code_sha256_hex="d" * 64)
        ]
        assert tx.code_digests_in_use() == {"d" * 64}


def test_list_versions_latest_first_then_numeric(registry: Registry) -> None:
    with registry.transaction() as tx:
        for version in ["10", "2", LATEST, "1", "9"]:
            tx.put_version(function_version("fn", version))
        tx.put_version(function_version("other", "5"))
    with registry.transaction() as tx:
        assert [v.version for v in tx.list_versions("fn")] == [LATEST, "1", "2", "9", "10"]
        assert [v.version for v in tx.list_versions("other")] == ["5"]


def test_delete_version(registry: Registry) -> None:
    with registry.transaction() as tx:
        for version in [LATEST, "1", "2"]:
            tx.put_version(function_version("fn", version))
        tx.put_version(function_version("other", "1"))
    with registry.transaction() as tx:
        tx.delete_version("fn", "1")
        tx.delete_version("fn", "99")  # absent: no error
    with registry.transaction() as tx:
        assert tx.get_version("fn", "1") is None
        assert [v.version for v in tx.list_versions("fn")] == [LATEST, "2"]
        assert tx.get_version("other", "1") is not None


# Aliases --------------------------------------------------------------------------------------


def test_alias_round_trips_every_field(registry: Registry) -> None:
    record = alias(description="d", routing_weights={"2": 0.25})
    with registry.transaction() as tx:
        tx.put_alias(record)
    with registry.transaction() as tx:
        assert tx.get_alias("fn", "live") == record
        assert tx.list_aliases("fn") == [record]


def test_put_alias_replaces(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_alias(alias(function_version="1"))
    with registry.transaction() as tx:
        tx.put_alias(alias(function_version="2", revision_id="rev-2"))
    with registry.transaction() as tx:
        assert tx.list_aliases("fn") == [alias(function_version="2", revision_id="rev-2")]


def test_list_aliases_sorted_by_name_and_scoped(registry: Registry) -> None:
    with registry.transaction() as tx:
        for name in ["prod", "beta", "live", "b-1"]:
            tx.put_alias(alias("fn", name))
        tx.put_alias(alias("other", "zzz"))
    with registry.transaction() as tx:
        assert [a.name for a in tx.list_aliases("fn")] == sorted(["prod", "beta", "live", "b-1"])
        assert [a.name for a in tx.list_aliases("other")] == ["zzz"]


def test_delete_alias(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_alias(alias("fn", "live"))
        tx.put_alias(alias("fn", "beta"))
        tx.put_alias(alias("other", "live"))
    with registry.transaction() as tx:
        tx.delete_alias("fn", "live")
        tx.delete_alias("fn", "absent")
    with registry.transaction() as tx:
        assert tx.get_alias("fn", "live") is None
        assert [a.name for a in tx.list_aliases("fn")] == ["beta"]
        assert tx.get_alias("other", "live") is not None


# Layers ---------------------------------------------------------------------------------------


def test_layer_put_get_replace_and_list_sorted(registry: Registry) -> None:
    with registry.transaction() as tx:
        for name in ["zeta", "alpha", "mid"]:
            tx.put_layer(layer_record(name))
    with registry.transaction() as tx:
        tx.put_layer(layer_record("mid", last_version_number=4))
    with registry.transaction() as tx:
        assert tx.get_layer("mid") == layer_record("mid", last_version_number=4)
        assert tx.get_layer("absent") is None
        assert [r.name for r in tx.list_layers()] == ["alpha", "mid", "zeta"]


def test_layer_version_round_trips_every_field(registry: Registry) -> None:
    record = layer_version(
        version=3,
        description="libs",
        compatible_runtimes=("python3.12", "python3.11"),
        compatible_architectures=("x86_64", "arm64"),
        license_info="MIT",
    )
    with registry.transaction() as tx:
        tx.put_layer_version(record)
    with registry.transaction() as tx:
        assert tx.get_layer_version("layer", 3) == record
        assert tx.list_layer_versions("layer") == [record]


def test_put_layer_version_replaces(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_layer_version(layer_version(description="old"))
    with registry.transaction() as tx:
        tx.put_layer_version(layer_version(description="new", code_sha256_hex="e" * 64))
    with registry.transaction() as tx:
        assert tx.list_layer_versions("layer") == [
            layer_version(description="new", code_sha256_hex="e" * 64)
        ]
        assert tx.code_digests_in_use() == {"e" * 64}


def test_list_layer_versions_newest_first_and_scoped(registry: Registry) -> None:
    with registry.transaction() as tx:
        for version in [1, 3, 10, 2]:
            tx.put_layer_version(layer_version("layer", version))
        tx.put_layer_version(layer_version("other", 7))
    with registry.transaction() as tx:
        assert [v.version for v in tx.list_layer_versions("layer")] == [10, 3, 2, 1]
        assert [v.version for v in tx.list_layer_versions("other")] == [7]


def test_delete_layer_version(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_layer(layer_record())
        tx.put_layer_version(layer_version(version=1))
        tx.put_layer_version(layer_version(version=2))
    with registry.transaction() as tx:
        tx.delete_layer_version("layer", 1)
        tx.delete_layer_version("layer", 99)
    with registry.transaction() as tx:
        assert tx.get_layer_version("layer", 1) is None
        assert [v.version for v in tx.list_layer_versions("layer")] == [2]
        assert tx.get_layer("layer") is not None  # the layer record stays


# Code -----------------------------------------------------------------------------------------


def test_code_digests_in_use(registry: Registry) -> None:
    attached = AttachedLayer("arn:aws:lambda:us-east-1:123456789012:layer:layer:1", 9, "1" * 64)
    with registry.transaction() as tx:
        tx.put_version(function_version("fn", LATEST, code_sha256_hex="2" * 64))
        tx.put_version(function_version("fn", "1", code_sha256_hex="2" * 64, layers=(attached,)))
        tx.put_version(function_version("other", LATEST, code_sha256_hex="3" * 64))
        tx.put_layer_version(layer_version("layer", 1, code_sha256_hex="1" * 64))
        tx.put_layer_version(layer_version("layer", 2, code_sha256_hex="4" * 64))
    with registry.transaction() as tx:
        assert tx.code_digests_in_use() == {"1" * 64, "2" * 64, "3" * 64, "4" * 64}
        tx.delete_layer_version("layer", 1)
        # Still attached to fn:1, whose code must keep working.
        assert "1" * 64 in tx.code_digests_in_use()
        tx.delete_version("fn", "1")
        assert tx.code_digests_in_use() == {"2" * 64, "3" * 64, "4" * 64}
        tx.delete_function("other")
        tx.delete_layer_version("layer", 2)
        assert tx.code_digests_in_use() == {"2" * 64}


# Atomicity ------------------------------------------------------------------------------------


def seed(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(function_record("fn", last_version_number=1))
        tx.put_version(function_version("fn", LATEST))
        tx.put_version(function_version("fn", "1"))
        tx.put_alias(alias("fn", "live"))
        tx.put_layer(layer_record("layer", last_version_number=1))
        tx.put_layer_version(layer_version("layer", 1))


def snapshot(registry: Registry) -> dict[str, Any]:
    with registry.transaction() as tx:
        return {
            "functions": tx.list_functions(),
            "versions": tx.list_versions("fn") + tx.list_versions("new"),
            "aliases": tx.list_aliases("fn") + tx.list_aliases("new"),
            "layers": tx.list_layers(),
            "layer_versions": tx.list_layer_versions("layer") + tx.list_layer_versions("new"),
            "digests": tx.code_digests_in_use(),
        }


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_a_raising_block_changes_nothing(registry: Registry, error: type[BaseException]) -> None:
    seed(registry)
    before = snapshot(registry)
    with pytest.raises(error), registry.transaction() as tx:
        # Inserts, replacements and deletes of every kind, then the failure.
        tx.put_function(function_record("new"))
        tx.put_function(function_record("fn", last_version_number=2))
        tx.put_version(function_version("new", LATEST, code_sha256_hex="f" * 64))
        tx.put_version(function_version("fn", LATEST, revision_id="changed"))
        tx.delete_version("fn", "1")
        tx.put_alias(alias("new", "live"))
        tx.delete_alias("fn", "live")
        tx.put_layer(layer_record("new"))
        tx.put_layer(layer_record("layer", last_version_number=2))
        tx.put_layer_version(layer_version("new", 1))
        tx.delete_layer_version("layer", 1)
        raise error
    assert snapshot(registry) == before


def test_a_raising_block_undoes_delete_function(registry: Registry) -> None:
    seed(registry)
    before = snapshot(registry)
    with pytest.raises(Boom), registry.transaction() as tx:
        tx.delete_function("fn")
        assert tx.get_function("fn") is None
        raise Boom
    assert snapshot(registry) == before


def test_reads_see_own_writes_inside_the_block(registry: Registry) -> None:
    seed(registry)
    with registry.transaction() as tx:
        tx.put_function(function_record("new"))
        assert tx.get_function("new") == function_record("new")
        assert [f.name for f in tx.list_functions()] == ["fn", "new"]
        tx.put_version(function_version("fn", "2", code_sha256_hex="9" * 64))
        assert [v.version for v in tx.list_versions("fn")] == [LATEST, "1", "2"]
        assert "9" * 64 in tx.code_digests_in_use()
        tx.put_alias(alias("fn", "beta"))
        assert [a.name for a in tx.list_aliases("fn")] == ["beta", "live"]
        tx.put_layer_version(layer_version("layer", 2))
        assert [v.version for v in tx.list_layer_versions("layer")] == [2, 1]
        tx.delete_version("fn", "1")
        assert tx.get_version("fn", "1") is None
        tx.delete_function("fn")
        assert tx.get_function("fn") is None
        assert tx.list_versions("fn") == []
        assert tx.list_aliases("fn") == []
    after = snapshot(registry)
    assert [f.name for f in after["functions"]] == ["new"]
    assert after["versions"] == []


def test_transaction_cannot_be_used_after_its_block(registry: Registry) -> None:
    with registry.transaction() as tx:
        pass
    with pytest.raises(RuntimeError):
        tx.put_function(function_record())
    with pytest.raises(RuntimeError):
        tx.get_function("fn")


def test_nested_transaction_raises_instead_of_deadlocking(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(function_record())
        with pytest.raises(RuntimeError), registry.transaction():
            pass
    with registry.transaction() as tx:  # the outer block still committed
        assert tx.get_function("fn") is not None


# Serialization --------------------------------------------------------------------------------


def increment_counter(registry: Registry, times: int) -> None:
    for _ in range(times):
        with registry.transaction() as tx:
            record = tx.get_function("counter")
            assert record is not None
            time.sleep(0)  # invite a thread switch between the read and the write
            count = record.last_version_number + 1
            tx.put_function(replace(record, last_version_number=count))


def test_concurrent_read_increment_write_loses_nothing(registry: Registry) -> None:
    with registry.transaction() as tx:
        tx.put_function(function_record("counter"))
    # A KV commit is a durable atomic batch on NATS (tens of ms): fewer rounds, same race.
    rounds = 3 if isinstance(registry, KvRegistry) else 50
    run_threads(8, lambda: increment_counter(registry, rounds))
    with registry.transaction() as tx:
        counter = tx.get_function("counter")
        assert counter is not None
        assert counter.last_version_number == 8 * rounds


# Event source mappings --------------------------------------------------------------------------


def mapping(uuid: str = "a0000000-0000-0000-0000-000000000000", **changes: Any) -> Any:
    from hearth.models import EventSourceMapping

    fields: dict[str, Any] = {
        "function_name": "fn",
        "qualifier": None,
        "event_source_arn": "arn:aws:sqs:us-east-1:123456789012:q",
        "config": {"BatchSize": 10, "State": "Creating", "FilterCriteria": {"Filters": []}},
        "tags": {"team": "a"},
    }
    return EventSourceMapping(uuid=uuid, **{**fields, **changes})


def test_mappings_round_trip_sorted_and_survive_function_delete(registry: Registry) -> None:
    first, second = mapping("b" + "0" * 35), mapping("a" + "0" * 35, qualifier="live")
    with registry.transaction() as tx:
        tx.put_function(function_record())
        tx.put_mapping(first)
        tx.put_mapping(second)
    with registry.transaction() as tx:
        assert tx.get_mapping(first.uuid) == first
        assert [m.uuid for m in tx.list_mappings()] == [second.uuid, first.uuid]
        tx.delete_function("fn")
    with registry.transaction() as tx:
        assert len(tx.list_mappings()) == 2
        tx.put_mapping(replace(first, config={"State": "Enabled"}))
        tx.delete_mapping(second.uuid)
        tx.delete_mapping("absent")
    with registry.transaction() as tx:
        assert [m.config for m in tx.list_mappings()] == [{"State": "Enabled"}]


def test_mapping_writes_roll_back_with_their_block(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.transaction() as tx:
        tx.put_mapping(mapping())
        raise RuntimeError("boom")
    with registry.transaction() as tx:
        assert tx.get_mapping(mapping().uuid) is None


def test_sqlite_registry_of_schema_1_gains_the_mappings_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    from hearth.store.sqlite import CREATE_TABLES

    for statement in CREATE_TABLES:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO functions VALUES ('fn', ?)",
        (__import__("json").dumps(function_record().to_dict()),),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    # The start-up check lets an older schema through: opening the registry upgrades it.
    from hearth.store.datadir import check_data_dir
    from hearth.store.sqlite import SCHEMA_VERSION

    (tmp_path / "registry.sqlite3").write_bytes(path.read_bytes())
    check_data_dir(tmp_path, registry_schema=SCHEMA_VERSION)
    upgraded = SqliteRegistry(path)
    with upgraded.transaction() as tx:
        assert tx.get_function("fn") == function_record()
        tx.put_mapping(mapping())
    with upgraded.transaction() as tx:
        assert tx.get_mapping(mapping().uuid) == mapping()
    upgraded.close()
