"""The embedded AWS services on Hearth's port: routed by credential scope, SigV4 when required."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import REGION, Server, service_client

pytestmark = pytest.mark.integration

KEY, SECRET = "AKIDSERVICESTEST0001", "services/test/secret"


def _code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_each_service_answers_on_hearths_port(server: Server) -> None:
    e = server.endpoint
    s3 = service_client(e, "s3")
    s3.create_bucket(Bucket="each-service")
    s3.put_object(Bucket="each-service", Key="a b+c/ü.txt", Body=b"hello")
    assert s3.get_object(Bucket="each-service", Key="a b+c/ü.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket="each-service", Key="a b+c/ü.txt")["ContentLength"] == 5

    ddb = service_client(e, "dynamodb")
    ddb.create_table(
        TableName="each-service",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName="each-service", Item={"k": {"S": "1"}})
    assert ddb.get_item(TableName="each-service", Key={"k": {"S": "1"}})["Item"] == {
        "k": {"S": "1"}
    }
    stream = ddb.describe_table(TableName="each-service")["Table"]["LatestStreamArn"]
    streams = service_client(e, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=iterator)["Records"]] == [
        "INSERT"
    ]

    topic = service_client(e, "sns").create_topic(Name="each-service")["TopicArn"]
    assert topic == "arn:aws:sns:us-east-1:123456789012:each-service"
    sqs = service_client(e, "sqs")
    queue = sqs.create_queue(QueueName="each-service")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "m"
    kinesis = service_client(e, "kinesis")
    kinesis.create_stream(StreamName="each-service", ShardCount=1)
    assert kinesis.describe_stream_summary(StreamName="each-service")["StreamDescriptionSummary"]
    events = service_client(e, "events")
    assert events.put_rule(Name="each-service", EventPattern='{"source": ["x"]}')["RuleArn"]
    assert service_client(e, "sts").get_caller_identity()["Account"] == "123456789012"
    role = service_client(e, "iam").create_role(
        RoleName="each-service", AssumeRolePolicyDocument="{}"
    )
    assert role["Role"]["Arn"] == "arn:aws:iam::123456789012:role/each-service"
    secrets = service_client(e, "secretsmanager")
    secrets.create_secret(Name="each-service", SecretString="v")
    assert secrets.get_secret_value(SecretId="each-service")["SecretString"] == "v"
    ssm = service_client(e, "ssm")
    ssm.put_parameter(Name="/each-service", Value="v", Type="String")
    assert ssm.get_parameter(Name="/each-service")["Parameter"]["Value"] == "v"
    # Lambda and Logs stay Hearth's own on the same port.
    assert "Functions" in server.client().list_functions()


def test_presigned_urls_and_the_aws_cli(server: Server, tmp_path: Path) -> None:
    e = server.endpoint
    s3 = service_client(e, "s3")
    s3.create_bucket(Bucket="presigned")
    s3.put_object(Bucket="presigned", Key="k", Body=b"v2 and v4")
    for client in (s3, service_client(e, "s3", signature_version="s3v4")):
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "presigned", "Key": "k"}
        )
        with urllib.request.urlopen(url) as response:
            assert response.read() == b"v2 and v4"
    source = tmp_path / "f.txt"
    source.write_text("from the cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_DEFAULT_REGION": REGION,
    }
    aws = str(Path(sys.executable).parent / "aws")
    subprocess.run(
        [aws, "s3", "cp", str(source), "s3://presigned/cli.txt", "--endpoint-url", e],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert s3.get_object(Bucket="presigned", Key="cli.txt")["Body"].read() == b"from the cli"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("services-auth"),
        extra_args=["--access-key-id", KEY, "--secret-access-key", SECRET],
    ).start()
    yield running
    running.stop()


def test_with_sigv4_required_the_services_require_it(signed: Server) -> None:
    e = signed.endpoint
    s3 = service_client(e, "s3", key=KEY, secret=SECRET)
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="dir/ü k", Body=b"ok")
    v4 = service_client(e, "s3", key=KEY, secret=SECRET, signature_version="s3v4")
    for client in (s3, v4):
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "signed", "Key": "dir/ü k"}
        )
        with urllib.request.urlopen(url) as response:
            assert response.read() == b"ok"
        tampered = url.replace("dir/", "dir2/")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(tampered)
        assert caught.value.code == 403
        assert b"SignatureDoesNotMatch" in caught.value.read()
    expired = v4.generate_presigned_url(
        "get_object", Params={"Bucket": "signed", "Key": "dir/ü k"}, ExpiresIn=1
    )
    time.sleep(1.5)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(expired)
    assert caught.value.code == 403
    assert b"Request has expired" in caught.value.read()

    wrong = {"key": KEY, "secret": "wrong"}
    unknown = {"key": "AKIDNOBODY0000000000", "secret": "x"}
    assert _code(lambda: service_client(e, "s3", **wrong).list_buckets()) == (
        "SignatureDoesNotMatch",
        403,
    )
    assert _code(lambda: service_client(e, "s3", **unknown).list_buckets()) == (
        "InvalidAccessKeyId",
        403,
    )
    assert _code(lambda: service_client(e, "dynamodb", **wrong).list_tables()) == (
        "InvalidSignatureException",
        400 + 3,
    )
    assert _code(lambda: service_client(e, "dynamodb", **unknown).list_tables()) == (
        "UnrecognizedClientException",
        403,
    )
    assert _code(lambda: service_client(e, "sns", **wrong).list_topics()) == (
        "SignatureDoesNotMatch",
        403,
    )
    assert _code(lambda: service_client(e, "sts", **unknown).get_caller_identity()) == (
        "InvalidClientTokenId",
        403,
    )
    assert _code(lambda: service_client(e, "sqs", **wrong).list_queues()) == (
        "InvalidSignatureException",
        403,
    )
    assert service_client(e, "dynamodb", key=KEY, secret=SECRET).list_tables()["TableNames"] == []
    # Nothing reaches the service on a refused request.
    refused = service_client(e, "s3", **wrong)
    assert _code(lambda: refused.create_bucket(Bucket="refused")) == ("SignatureDoesNotMatch", 403)
    assert "refused" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


CREDENTIAL_PROBE = """
import boto3
def handler(event, context):
    s3 = boto3.client("s3")
    s3.put_object(Bucket="probe", Key="from-function", Body=b"hi")
    try:
        boto3.client("lambda").list_functions()
        control = "allowed"
    except Exception as exc:
        control = exc.response["Error"]["Code"]
    return {"control": control}
"""


def test_functions_credentials_reach_the_services_not_the_control_plane(signed: Server) -> None:
    from tests.integration.conftest import create_function, make_zip

    lam = signed.client(key=KEY, secret=SECRET)
    s3 = service_client(signed.endpoint, "s3", key=KEY, secret=SECRET)
    s3.create_bucket(Bucket="probe")
    create_function(lam, "probe", make_zip({"app.py": CREDENTIAL_PROBE}), Timeout=30)
    result = lam.invoke(FunctionName="probe")
    assert "FunctionError" not in result, result["Payload"].read()
    assert json.loads(result["Payload"].read()) == {"control": "AccessDeniedException"}
    assert s3.get_object(Bucket="probe", Key="from-function")["Body"].read() == b"hi"


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_dynamodb_streams_record_each_change_once(server: Server, view: str) -> None:
    e = server.endpoint
    ddb = service_client(e, "dynamodb")
    name = f"streams-{view.lower().replace('_', '-')}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    key = {"k": {"S": "a"}}
    add = {"UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
    ddb.update_item(TableName=name, Key=key, **add)  # creates the item: one INSERT
    ddb.put_item(TableName=name, Item={"k": {"S": "a"}, "n": {"N": "1"}})  # no change: none
    ddb.update_item(TableName=name, Key=key, **add)  # MODIFY
    ddb.delete_item(TableName=name, Key=key)  # REMOVE
    stream = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = service_client(e, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert {(r["eventVersion"], r["awsRegion"], r["eventSource"]) for r in records} == {
        ("1.1", REGION, "aws:dynamodb")
    }
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert all(r["Keys"] == key for r in (insert, modify, remove))
    new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert ("NewImage" in insert, "OldImage" in insert) == (new, False)
    assert ("NewImage" in modify, "OldImage" in modify) == (new, old)
    assert ("NewImage" in remove, "OldImage" in remove) == (False, old)
    if new:
        assert insert["NewImage"] == {"k": {"S": "a"}, "n": {"N": "1"}}
        assert modify["NewImage"]["n"] == {"N": "2"}


ENDPOINT_PROBE = """
import os
def handler(event, context):
    return {k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")}
"""


def test_an_external_endpoint_turns_the_embedded_services_off(tmp_path: Path) -> None:
    from tests.integration.conftest import create_function, make_zip

    partly = Server(
        tmp_path / "partly",
        extra_args=["--isolation", "process", "--service-endpoint", "s3=http://127.0.0.1:9000"],
    ).start()
    try:
        # One service elsewhere: that one is not answered here, the others are.
        _, status = _code(service_client(partly.endpoint, "s3").list_buckets)
        assert status == 404  # Hearth's own API: no such route
        assert service_client(partly.endpoint, "sqs").list_queues().get("QueueUrls", []) == []
    finally:
        partly.stop()
    server = Server(
        tmp_path / "external",
        extra_args=[
            "--isolation",
            "process",
            "--aws-endpoint-url",
            "http://127.0.0.1:4566",
            "--service-endpoint",
            "s3=http://127.0.0.1:9000",
        ],
    ).start()
    try:
        assert any("services: external, at http://127.0.0.1:4566" in line for line in server.output)
        _, status = _code(service_client(server.endpoint, "s3").list_buckets)
        assert status == 404  # not embedded: Hearth's own API has no such route
        lam = server.client()
        create_function(lam, "endpoints", make_zip({"app.py": ENDPOINT_PROBE}))
        result = json.loads(lam.invoke(FunctionName="endpoints")["Payload"].read())
        assert result == {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
        }
    finally:
        server.stop()


def test_an_unknown_key_is_refused_before_its_body_is_read(signed: Server) -> None:
    """A client without a valid key cannot make Hearth buffer a body for the services."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(signed.endpoint).port
    assert port is not None
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIDNOBODY0000000000/20261201/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    head = (
        f"PUT /big/object HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: {authorization}\r\nX-Amz-Date: {time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}\r\n"
        "Content-Length: 1073741824\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"x" * 1024)
        answer = b""
        while b"</Error>" not in answer:  # all of it comes before the promised gigabyte
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert b"InvalidAccessKeyId" in answer
