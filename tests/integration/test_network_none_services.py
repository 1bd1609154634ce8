"""A function in a `--network none` sandbox (HEARTH_NETWORK=none) reaches the embedded
services through the relay: boto3 S3 and DynamoDB calls against AWS_ENDPOINT_URL work, and
nothing else is reachable: not the internet, not Hearth's own Lambda API."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Server, create_function, make_zip, service_client

pytestmark = pytest.mark.integration

HANDLER = """
import os, socket, boto3
def handler(event, context):
    s3 = boto3.client("s3")
    s3.put_object(Bucket="offline-bucket", Key="k", Body=b"from a sandbox with no network")
    body = s3.get_object(Bucket="offline-bucket", Key="k")["Body"].read().decode()
    table = boto3.resource("dynamodb").Table("offline-table")
    table.put_item(Item={"id": "1", "note": body})
    item = table.get_item(Key={"id": "1"})["Item"]
    try:
        boto3.client("lambda").list_functions()
        control_plane = "reached"
    except Exception as error:
        control_plane = type(error).__name__ + ": " + str(error)
    outside = socket.socket()
    outside.settimeout(1)
    try:
        outside.connect(("1.1.1.1", 80))
        reached_outside = True
    except OSError:
        reached_outside = False
    return {"body": body, "item": item, "interfaces": [n for _, n in socket.if_nameindex()],
            "outside": reached_outside, "endpoint": os.environ["AWS_ENDPOINT_URL"],
            "control_plane": control_plane}
"""


def test_a_network_none_function_uses_s3_and_dynamodb(server: Server) -> None:
    s3 = service_client(server.endpoint, "s3")
    s3.create_bucket(Bucket="offline-bucket")
    service_client(server.endpoint, "dynamodb").create_table(
        TableName="offline-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lam = server.client()
    create_function(
        lam,
        "offline",
        make_zip({"app.py": HANDLER}),
        Timeout=30,
        Environment={"Variables": {"HEARTH_NETWORK": "none"}},
    )
    answer = lam.invoke(FunctionName="offline", Payload=b"{}")
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result["body"] == "from a sandbox with no network"
    assert result["item"] == {"id": "1", "note": "from a sandbox with no network"}
    assert result["endpoint"] == server.endpoint
    assert s3.get_object(Bucket="offline-bucket", Key="k")["Body"].read() == (
        b"from a sandbox with no network"
    )
    if any("isolation: sandbox" in line for line in server.output):
        assert result["interfaces"] == ["lo"]  # a network namespace of its own
        assert result["outside"] is False
        # Through the relay, only the embedded services: not Hearth's own API.
        assert "AccessDeniedException" in result["control_plane"], result["control_plane"]
