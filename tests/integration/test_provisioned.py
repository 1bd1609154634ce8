"""Provisioned concurrency against a real `hearth serve`: the API, warm environments, restarts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, aws_json, create_function, make_zip
from tests.integration.test_concurrency import (
    PLAIN,
    SLOW,
    client,
    invoke,
    raw_client,
    server,
    slow_function,
    start_in_flight,
)
from tests.integration.test_environments import alive

__all__ = ["client", "raw_client", "server"]  # the plain-process fixtures, used here too


def wait_for_status(client: Any, name: str, qualifier: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        config: dict[str, Any] = client.get_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier
        )
        if config["Status"] == status or time.monotonic() > deadline:
            assert config["Status"] == status, config
            return config
        time.sleep(0.1)


def invoke_tail(client: Any, name: str, qualifier: str) -> tuple[dict[str, Any], str]:
    response = client.invoke(FunctionName=name, Qualifier=qualifier, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    return json.loads(response["Payload"].read()), tail


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    found: dict[str, Any] = dict(raised.value.response)
    return found


@pytest.fixture
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("provisioned"), PLAIN).start()
    yield server
    if server.process is not None:
        server.stop()


def test_provisioned_environments_start_ahead_serve_first_and_come_back_after_restart(
    restartable: Server, tmp_path: Path
) -> None:
    client = restartable.client()
    slow_function(client, "warm", tmp_path / "marks")
    version = client.publish_version(FunctionName="warm")["Version"]
    put = client.put_provisioned_concurrency_config(
        FunctionName="warm", Qualifier=version, ProvisionedConcurrentExecutions=2
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["Status"] == "IN_PROGRESS"
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["AllocatedProvisionedConcurrentExecutions"] == 0
    assert put["AvailableProvisionedConcurrentExecutions"] == 0
    ready = wait_for_status(client, "warm", version, "READY")
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 2
    assert ready["AvailableProvisionedConcurrentExecutions"] == 2
    assert ready["LastModified"] == put["LastModified"]
    assert list((tmp_path / "marks").iterdir()) == []  # initialised, not invoked

    result, tail = invoke_tail(client, "warm", version)
    assert result["init"] == "provisioned-concurrency"
    assert "REPORT RequestId" in tail and "Init Duration" not in tail
    # $LATEST has no provisioned concurrency: an on-demand cold start, with its Init Duration.
    result, tail = invoke_tail(client, "warm", "$LATEST")
    assert result["init"] == "on-demand"
    assert "Init Duration" in tail

    # Two provisioned environments serve two at once; the third spills over to on-demand.
    marks = tmp_path / "marks"
    with ThreadPoolExecutor(3) as pool:
        calls = [(f"warm:{version}", marks)] * 3
        kinds = sorted(f.result()["init"] for f in start_in_flight(pool, client, calls, 2))
    assert kinds == ["on-demand", "provisioned-concurrency", "provisioned-concurrency"]

    provisioned_pids = {invoke(client, f"warm:{version}")["pid"]}
    restartable.restart()
    assert not any(alive(pid) for pid in provisioned_pids)
    client = restartable.client()
    assert wait_for_status(client, "warm", version, "READY")["LastModified"] == put["LastModified"]
    result, tail = invoke_tail(client, "warm", version)
    assert result["init"] == "provisioned-concurrency" and "Init Duration" not in tail

    client.delete_provisioned_concurrency_config(FunctionName="warm", Qualifier=version)
    missing = error_of(
        lambda: client.get_provisioned_concurrency_config(FunctionName="warm", Qualifier=version)
    )
    assert missing["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    assert (
        missing["Error"]["Message"] == "No Provisioned Concurrency Config found for this function"
    )
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Gone with its config: the next invocation of the version starts on demand.
    deadline = time.monotonic() + 10
    while invoke(client, f"warm:{version}")["init"] != "on-demand":
        assert time.monotonic() < deadline


def test_an_alias_config_list_and_the_aws_cli(client: Any, server: Server, fn_name: str) -> None:
    create_function(client, fn_name, make_zip({"app.py": SLOW}), Timeout=30)
    v1 = client.publish_version(FunctionName=fn_name)["Version"]
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=v1)
    put = aws_json(
        server.endpoint,
        "put-provisioned-concurrency-config",
        "--function-name",
        fn_name,
        "--qualifier",
        "live",
        "--provisioned-concurrent-executions",
        "1",
    )
    assert put["Status"] == "IN_PROGRESS"
    wait_for_status(client, fn_name, "live", "READY")
    assert invoke(client, f"{fn_name}:live")["init"] == "provisioned-concurrency"
    listed = aws_json(
        server.endpoint, "list-provisioned-concurrency-configs", "--function-name", fn_name
    )
    configs = listed["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in configs] == [
        f"arn:aws:lambda:us-east-1:123456789012:function:{fn_name}:live"
    ]
    assert configs[0]["Status"] == "READY"
    assert configs[0]["AllocatedProvisionedConcurrentExecutions"] == 1

    # A version reached through a provisioned alias cannot get its own config, and back.
    conflict = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier=v1, ProvisionedConcurrentExecutions=1
        )
    )
    assert conflict["Error"]["Code"] == "ResourceConflictException"
    assert conflict["Error"]["Message"] == "Version is pointed by a Provisioned Concurrency alias"
    client.update_function_code(FunctionName=fn_name, ZipFile=make_zip({"app.py": SLOW + "#2\n"}))
    client.get_waiter("function_updated_v2").wait(
        FunctionName=fn_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    v2 = client.publish_version(FunctionName=fn_name)["Version"]
    assert v2 != v1
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=v2, ProvisionedConcurrentExecutions=1
    )
    client.create_alias(FunctionName=fn_name, Name="next", FunctionVersion=v2)
    conflict = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier="next", ProvisionedConcurrentExecutions=1
        )
    )
    assert conflict["Error"]["Code"] == "ResourceConflictException"
    assert conflict["Error"]["Message"] == (
        "Alias can't be used for Provisioned Concurrency configuration on an already "
        "Provisioned version"
    )
    page = client.list_provisioned_concurrency_configs(FunctionName=fn_name, MaxItems=1)
    assert len(page["ProvisionedConcurrencyConfigs"]) == 1 and "NextMarker" in page
    rest = client.list_provisioned_concurrency_configs(
        FunctionName=fn_name, Marker=page["NextMarker"]
    )
    arns = [c["FunctionArn"] for c in page["ProvisionedConcurrencyConfigs"]]
    arns += [c["FunctionArn"] for c in rest["ProvisionedConcurrencyConfigs"]]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == [v2, "live"]
    client.delete_function(FunctionName=fn_name)


def test_provisioned_concurrency_counts_against_reserved_and_unreserved(
    client: Any, fn_name: str
) -> None:
    create_function(client, fn_name)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    before = client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=3
    )
    after = client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert after == before - 3  # set aside out of the shared pool
    too_many = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=before
        )
    )
    assert too_many["Error"]["Code"] == "InvalidParameterValueException"
    assert too_many["Error"]["Message"] == (
        "Specified ConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100]."
    )
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=4)
    # Now it is part of the reservation, not of the pool.
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == before - 4
    over = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=5
        )
    )
    assert over["Error"]["Code"] == "InvalidParameterValueException"
    assert over["Error"]["Message"] == (
        "Requested Provisioned Concurrency should not be greater than the "
        "reservedConcurrentExecution for function"
    )
    client.delete_function(FunctionName=fn_name)
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == before


def test_bad_requests_get_aws_errors(client: Any, raw_client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    latest = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    )
    assert latest["Error"]["Code"] == "InvalidParameterValueException"
    assert latest["Error"]["Message"] == (
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    )
    for call in (
        client.get_provisioned_concurrency_config,
        client.delete_provisioned_concurrency_config,
    ):
        found = error_of(lambda call=call: call(FunctionName=fn_name, Qualifier="$LATEST"))
        assert found["Error"]["Code"] == "InvalidParameterValueException"
        assert found["Error"]["Message"] == (
            "The function resource provided must be an alias or a published version."
        )
    zero = error_of(
        lambda: raw_client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier="1", ProvisionedConcurrentExecutions=0
        )
    )
    assert zero["Error"]["Code"] == "ValidationException"
    assert zero["Error"]["Message"] == (
        "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1"
    )
    no_version = error_of(
        lambda: client.put_provisioned_concurrency_config(
            FunctionName=fn_name, Qualifier="7", ProvisionedConcurrentExecutions=1
        )
    )
    assert no_version["Error"]["Code"] == "ResourceNotFoundException"
    no_alias = error_of(
        lambda: client.get_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="nope")
    )
    assert no_alias["Error"]["Code"] == "ResourceNotFoundException"
    no_function = error_of(
        lambda: client.list_provisioned_concurrency_configs(FunctionName=fn_name + "-missing")
    )
    assert no_function["Error"]["Code"] == "ResourceNotFoundException"
    assert (
        client.list_provisioned_concurrency_configs(FunctionName=fn_name)[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
    client.delete_function(FunctionName=fn_name)


def test_a_function_whose_init_fails_reports_failed(client: Any, fn_name: str) -> None:
    create_function(client, fn_name, make_zip({"app.py": "raise RuntimeError('no init')\n"}))
    version = client.publish_version(FunctionName=fn_name)["Version"]
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    failed = wait_for_status(client, fn_name, version, "FAILED")
    assert failed["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
    assert failed["AllocatedProvisionedConcurrentExecutions"] == 0
    client.delete_function(FunctionName=fn_name)


def test_a_provisioned_environment_that_dies_is_replaced(client: Any, fn_name: str) -> None:
    create_function(client, fn_name, make_zip({"app.py": SLOW}), Timeout=1)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    wait_for_status(client, fn_name, version, "READY")
    first = invoke(client, f"{fn_name}:{version}")
    timed_out = client.invoke(
        FunctionName=fn_name, Qualifier=version, Payload=json.dumps({"sleep": 3})
    )
    assert timed_out["FunctionError"] == "Unhandled"  # the environment is gone with it
    assert not alive(first["pid"])
    deadline = time.monotonic() + 15
    while True:
        result = invoke(client, f"{fn_name}:{version}")
        if result["init"] == "provisioned-concurrency":
            break
        assert time.monotonic() < deadline, "the provisioned environment was not replaced"
        time.sleep(0.2)
    assert result["pid"] != first["pid"]
    assert (
        wait_for_status(client, fn_name, version, "READY")[
            "AllocatedProvisionedConcurrentExecutions"
        ]
        == 1
    )
    client.delete_function(FunctionName=fn_name)


def test_deleting_the_alias_or_version_deletes_its_config(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)
    before = client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    client.delete_alias(FunctionName=fn_name, Name="live")
    client.put_provisioned_concurrency_config(
        FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == before - 1
    client.delete_function(FunctionName=fn_name, Qualifier=version)
    settings = client.get_account_settings()["AccountLimit"]
    assert settings["UnreservedConcurrentExecutions"] == before
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    assert (
        client.list_provisioned_concurrency_configs(FunctionName=fn_name)[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
    client.delete_function(FunctionName=fn_name)


def test_a_config_that_fails_releases_its_environments_and_memory(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Issue 11 item 10: 20 environments of 128 MB do not fit a 1024 MB budget. The config fails, and the
    eight environments it did start are stopped, so a 1024 MB function still runs."""
    small = Server(
        tmp_path_factory.mktemp("small-budget"), ["--memory-budget-mb", "1024", *PLAIN]
    ).start()
    try:
        lam = small.client()
        create_function(lam, "greedy", MemorySize=128)
        version = lam.publish_version(FunctionName="greedy")["Version"]
        lam.put_provisioned_concurrency_config(
            FunctionName="greedy", Qualifier=version, ProvisionedConcurrentExecutions=20
        )
        failed = wait_for_status(lam, "greedy", version, "FAILED")
        assert "memory budget" in failed["StatusReason"], failed
        assert failed["AllocatedProvisionedConcurrentExecutions"] == 0
        create_function(lam, "big", MemorySize=1024)
        deadline = time.monotonic() + 10
        while True:  # the released environments' processes are stopped in the background
            response = lam.invoke(FunctionName="big", Payload=b'{"ok": 1}')
            if "FunctionError" not in response or time.monotonic() > deadline:
                break
        assert json.loads(response["Payload"].read()) == {"ok": 1}
        # and a put again tries again (and fails again) without keeping anything
        lam.put_provisioned_concurrency_config(
            FunctionName="greedy", Qualifier=version, ProvisionedConcurrentExecutions=20
        )
        wait_for_status(lam, "greedy", version, "FAILED")
        lam.delete_function(FunctionName="big")
        create_function(lam, "big2", MemorySize=1024)
        assert json.loads(lam.invoke(FunctionName="big2", Payload=b"2")["Payload"].read()) == 2
    finally:
        small.stop()
