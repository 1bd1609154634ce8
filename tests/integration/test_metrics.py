"""AWS/Lambda metrics through boto3's `cloudwatch` client, the aws CLI and /metrics."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.conftest import (
    REGION,
    Server,
    aws,
    create_function,
    log_events,
    make_zip,
)

pytestmark = pytest.mark.integration

CODE = (
    "import time\n"
    "def handler(event, context):\n"
    "    time.sleep(event.get('sleep', 0))\n"
    "    if event.get('fail'):\n"
    "        raise ValueError('no')\n"
    "    return 1\n"
)
NAME = "metrics-fn"


@pytest.fixture(scope="module")
def cloudwatch(server: Server) -> Any:
    return boto3.client(
        "cloudwatch",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
        config=Config(retries={"max_attempts": 0}),
    )


GROUP = f"/aws/lambda/{NAME}"


@pytest.fixture(scope="module")
def invoked(server: Server, client: Any) -> str:
    create_function(client, NAME, make_zip({"app.py": CODE}))
    for sleep in (0.01, 0.02, 0.03, 0.2):
        client.invoke(FunctionName=NAME, Payload=json.dumps({"sleep": sleep}).encode())
    client.invoke(FunctionName=NAME, Payload=json.dumps({"fail": True}).encode())
    version = client.publish_version(FunctionName=NAME)["Version"]
    client.create_alias(FunctionName=NAME, Name="live", FunctionVersion=version)
    client.invoke(FunctionName=NAME, Qualifier="live", Payload=b"{}")
    client.invoke(FunctionName=NAME, InvocationType="Event", Payload=b"{}")
    # The Event invoke runs before the function is throttled, so only the sync call is.
    deadline = time.time() + 20
    while sum(e["message"].startswith("REPORT") for e in log_events(server.endpoint, GROUP)) < 7:
        assert time.time() < deadline, "the Event invoke never ran"
        time.sleep(0.1)
    client.put_function_concurrency(FunctionName=NAME, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        client.invoke(FunctionName=NAME, Payload=b"{}")
    client.delete_function_concurrency(FunctionName=NAME)
    return NAME


def window() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}


def total(cloudwatch: Any, metric: str, dims: list[dict[str, str]], stat: str = "Sum") -> float:
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=dims,
        Period=3600,
        Statistics=[stat],
        **window(),
    )
    return float(sum(p[stat] for p in answer["Datapoints"]))


def test_lambda_metrics_by_function(cloudwatch: Any, invoked: str) -> None:
    by_function = [{"Name": "FunctionName", "Value": invoked}]
    time.sleep(0.5)  # the Event invoke runs in the background
    assert total(cloudwatch, "Invocations", by_function) >= 6
    assert total(cloudwatch, "Errors", by_function) == 1
    assert total(cloudwatch, "Throttles", by_function) == 1
    assert total(cloudwatch, "AsyncEventsReceived", by_function) == 1
    assert total(cloudwatch, "Duration", by_function, "Maximum") >= 200
    assert total(cloudwatch, "ConcurrentExecutions", by_function, "Maximum") >= 1
    alias = [
        {"Name": "FunctionName", "Value": invoked},
        {"Name": "Resource", "Value": f"{invoked}:live"},
        {"Name": "ExecutedVersion", "Value": "1"},
    ]
    assert total(cloudwatch, "Invocations", alias) == 1
    assert total(cloudwatch, "Invocations", []) >= 6  # the account-wide series


def test_percentiles(cloudwatch: Any, invoked: str) -> None:
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": invoked}],
        Period=3600,
        ExtendedStatistics=["p50", "p99"],
        **window(),
    )
    [point] = answer["Datapoints"]
    assert point["Unit"] == "Milliseconds"
    assert 10 <= point["ExtendedStatistics"]["p50"] < 200 <= point["ExtendedStatistics"]["p99"]


def test_get_metric_data_and_list_metrics(cloudwatch: Any, invoked: str) -> None:
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "inv",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": invoked}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {
                "Id": "p90",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Duration",
                        "Dimensions": [{"Name": "FunctionName", "Value": invoked}],
                    },
                    "Period": 60,
                    "Stat": "p90",
                },
            },
        ],
        **window(),
    )
    results = {r["Id"]: r for r in answer["MetricDataResults"]}
    assert sum(results["inv"]["Values"]) >= 6
    assert all(isinstance(t, datetime) for t in results["inv"]["Timestamps"])
    assert results["p90"]["StatusCode"] == "Complete" and results["p90"]["Values"]
    listed = cloudwatch.list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": invoked}]
    )["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {"Invocations", "Errors", "Duration", "Throttles"} <= names
    pages = list(cloudwatch.get_paginator("list_metrics").paginate(Namespace="AWS/Lambda"))
    assert "NextToken" not in pages[-1]


def test_put_metric_data_and_errors(cloudwatch: Any) -> None:
    cloudwatch.put_metric_data(
        Namespace="MyApp",
        MetricData=[
            {"MetricName": "Orders", "Value": 3, "Unit": "Count"},
            {"MetricName": "Orders", "Values": [1, 2], "Counts": [2, 1], "Unit": "Count"},
        ],
    )
    answer = cloudwatch.get_metric_statistics(
        Namespace="MyApp", MetricName="Orders", Period=60, Statistics=["Sum", "SampleCount"],
        **window(),
    )  # fmt: skip
    [point] = answer["Datapoints"]
    assert (point["Sum"], point["SampleCount"]) == (7, 4)
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_data(
            Namespace="AWS/Mine", MetricData=[{"MetricName": "x", "Value": 1}]
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        cloudwatch.get_metric_statistics(
            Namespace="MyApp", MetricName="Orders", Period=90, Statistics=["Sum"], **window()
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_aws_cli_reads_the_same(server: Server, invoked: str) -> None:
    now = datetime.now(UTC)
    result = aws(
        server.endpoint,
        "get-metric-statistics",
        "--namespace", "AWS/Lambda",
        "--metric-name", "Errors",
        "--dimensions", f"Name=FunctionName,Value={invoked}",
        "--start-time", (now - timedelta(minutes=10)).isoformat(),
        "--end-time", (now + timedelta(minutes=1)).isoformat(),
        "--period", "3600",
        "--statistics", "Sum",
        service="cloudwatch",
    )  # fmt: skip
    assert sum(p["Sum"] for p in json.loads(result.stdout)["Datapoints"]) == 1


def test_prometheus_endpoint(server: Server, invoked: str) -> None:
    with urllib.request.urlopen(server.endpoint + "/metrics") as response:
        text = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
    wanted = f'hearth_lambda_errors_total{{function_name="{invoked}",resource="{invoked}"}} 1.0'
    assert wanted in text
    assert 'hearth_environments{state="idle"}' in text
    assert "hearth_lambda_duration_milliseconds_bucket" in text
    assert 'hearth_async_queue_depth{state="ready"}' in text
    assert "hearth_cold_starts_total" in text


def _cbor_call(server: Server, operation: str, params: dict[str, Any]) -> tuple[int, Any]:
    """One call in Smithy RPC v2 CBOR, serialised and parsed by botocore's own code."""
    import botocore.parsers
    import botocore.serialize
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudwatch")
    op = model.operation_model(operation)
    request = botocore.serialize.create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        params, op
    )
    http = urllib.request.Request(
        server.endpoint + request["url_path"],
        data=request["body"],
        headers={
            k: v.decode() if isinstance(v, bytes) else v for k, v in request["headers"].items()
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(http) as response:
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
        error.close()
    parser = botocore.parsers.create_parser("smithy-rpc-v2-cbor")
    parsed = parser.parse(
        {"status_code": status, "headers": headers, "body": body},
        op.output_shape,  # type: ignore[arg-type]  # None for operations with no output
    )
    return status, parsed


def test_rpc_v2_cbor(server: Server, invoked: str) -> None:
    status, parsed = _cbor_call(
        server,
        "GetMetricStatistics",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": invoked}],
            "Period": 3600,
            "Statistics": ["Sum"],
            **window(),
        },
    )
    assert status == 200
    assert sum(p["Sum"] for p in parsed["Datapoints"]) == 1
    assert all(isinstance(p["Timestamp"], datetime) for p in parsed["Datapoints"])
    status, parsed = _cbor_call(
        server,
        "PutMetricData",
        {"Namespace": "AWS/X", "MetricData": [{"MetricName": "a", "Value": 1}]},
    )
    assert status == 400 and parsed["Error"]["Code"] == "InvalidParameterValue"


EMF = (
    "import json\n"
    "def handler(event, context):\n"
    "    print(json.dumps({'_aws': {'CloudWatchMetrics': [{'Namespace': 'Shop',\n"
    "        'Dimensions': [['service']], 'Metrics': [{'Name': 'Orders', 'Unit': 'Count'}]}]},\n"
    "        'service': 'cart', 'Orders': 3}))\n"
    "    raise RuntimeError('always')\n"
)


def test_embedded_metrics_and_async_metrics(server: Server, client: Any, cloudwatch: Any) -> None:
    name = "metrics-emf"
    create_function(client, name, make_zip({"app.py": EMF}))
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    client.invoke(FunctionName=name, Payload=b"{}")
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    by_function = [{"Name": "FunctionName", "Value": name}]
    deadline = time.time() + 20
    while total(cloudwatch, "AsyncEventsDropped", by_function) < 1:
        assert time.time() < deadline, "the failed event was never counted as dropped"
        time.sleep(0.2)
    assert total(cloudwatch, "AsyncEventAge", by_function, "SampleCount") == 1
    answer = cloudwatch.get_metric_statistics(
        Namespace="Shop",
        MetricName="Orders",
        Dimensions=[{"Name": "service", "Value": "cart"}],
        Period=60,
        Statistics=["Sum"],
        **window(),
    )
    assert sum(p["Sum"] for p in answer["Datapoints"]) == 6  # one line per invocation
    assert answer["Datapoints"][0]["Unit"] == "Count"


def test_grafana_dashboard_queries_what_hearth_exports(server: Server, invoked: str) -> None:
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).parents[2] / "docs" / "grafana" / "hearth-dashboard.json").read_text()
    )
    with urllib.request.urlopen(server.endpoint + "/metrics") as response:
        text = response.read().decode()
    families = set(re.findall(r"^# TYPE (\w+)", text, re.MULTILINE))
    exported = families | {f"{f}_total" for f in families} | {f"{f}_bucket" for f in families}
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bhearth_\w+", target["expr"])
    }
    assert queried and queried <= exported


def test_logs_and_cloudwatch_with_sigv4_required(tmp_path: Any) -> None:
    """Each API checks signatures scoped to its own service, as AWS does."""
    key, secret = "AKIDSIGNED", "signed-secret"
    secured = Server(tmp_path / "data", ["--access-key-id", key, "--secret-access-key", secret])
    secured.start()
    try:

        def client(service: Any, **keys: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=secured.endpoint,
                region_name=REGION,
                aws_access_key_id=keys.get("key", key),
                aws_secret_access_key=keys.get("secret", secret),
                config=Config(retries={"max_attempts": 0}),
            )

        client("logs").create_log_group(logGroupName="/signed")
        assert client("logs").describe_log_groups()["logGroups"][0]["logGroupName"] == "/signed"
        client("cloudwatch").put_metric_data(
            Namespace="Signed", MetricData=[{"MetricName": "m", "Value": 1}]
        )
        assert client("cloudwatch").list_metrics(Namespace="Signed")["Metrics"]
        with pytest.raises(ClientError) as caught:
            client("logs", secret="wrong").describe_log_groups()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

        # A Logs call signed for CloudWatch's service is refused.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(
            method="POST",
            url=secured.endpoint + "/",
            data=b"{}",
            headers={
                "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        SigV4Auth(Credentials(key, secret), "monitoring", REGION).add_auth(request)
        prepared = request.prepare()
        assert isinstance(prepared.body, bytes)
        http = urllib.request.Request(
            prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(http)
        assert refused.value.code == 403
        assert "scoped to correct service: 'logs'" in refused.value.read().decode()
        refused.value.close()
    finally:
        secured.stop()
