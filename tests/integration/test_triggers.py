"""Push triggers: S3 notifications and SNS lambda subscriptions become Event invokes."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, create_function, make_zip, service_client

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
LOG_BUCKET = "trigger-log"
# Each invocation leaves the event it got in LOG_BUCKET, under <function>/<request id>.
RECORDER = """
import json, os, boto3
s3 = boto3.client("s3")
def handler(event, context):
    s3.put_object(Bucket="trigger-log", Key=os.environ["AWS_LAMBDA_FUNCTION_NAME"] + "/" +
                  context.aws_request_id, Body=json.dumps(event))
    return {"boto3": boto3.__file__, "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "key": os.environ["AWS_ACCESS_KEY_ID"]}
"""


def _arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


@pytest.fixture(scope="module")
def recorder(server: Server) -> Iterator[Callable[[str], list[dict[str, Any]]]]:
    """A function per test name that records its events; returns a reader of them."""
    s3 = service_client(server.endpoint, "s3")
    s3.create_bucket(Bucket=LOG_BUCKET)

    def seen(function: str) -> list[dict[str, Any]]:
        listed = s3.list_objects_v2(Bucket=LOG_BUCKET, Prefix=f"{function}/").get("Contents", [])
        return [
            json.loads(s3.get_object(Bucket=LOG_BUCKET, Key=o["Key"])["Body"].read())
            for o in listed
        ]

    yield seen


def _wait(read: Callable[[], list[Any]], count: int, timeout: float = 30.0) -> list[Any]:
    deadline = time.time() + timeout
    found = read()
    while len(found) < count and time.time() < deadline:
        time.sleep(0.2)
        found = read()
    return found


def test_a_sandboxed_function_uses_boto3_with_no_endpoint_code(
    server: Server, recorder: Any
) -> None:
    lam = server.client()
    create_function(lam, "uses-boto3", make_zip({"app.py": RECORDER}), Timeout=30)
    result = json.loads(
        lam.invoke(FunctionName="uses-boto3", Payload=b'{"hi": 1}')["Payload"].read()
    )
    # The runtime's copy, where AWS keeps it (in a sandbox; the host path without one).
    assert result["boto3"].endswith("aws-sdk/python/boto3/__init__.py")
    assert result["boto3"].startswith("/var/runtime/") or "/src/hearth/runtimes/" in result["boto3"]
    assert result["endpoint"] == server.endpoint
    assert result["key"].startswith("ASIA")  # its own session credentials
    assert recorder("uses-boto3") == [{"hi": 1}]


def test_s3_refuses_a_notification_the_function_may_not_take(server: Server) -> None:
    s3 = service_client(server.endpoint, "s3")
    s3.create_bucket(Bucket="refused-notification")
    create_function(server.client(), "not-allowed")

    def configure(arn: str, **kw: Any) -> dict[str, Any]:
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_notification_configuration(
                Bucket="refused-notification",
                NotificationConfiguration={
                    "LambdaFunctionConfigurations": [
                        {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
                    ]
                },
                **kw,
            )
        response: dict[str, Any] = dict(caught.value.response)
        return response

    refused = configure(_arn("not-allowed"))
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused["Error"] == {
        "Code": "InvalidArgument",
        "Message": "Unable to validate the following destination configurations",
        "ArgumentName1": f"{_arn('not-allowed')}, null",
        "ArgumentValue1": f"Not authorized to invoke function [{_arn('not-allowed')}]",
    }
    assert configure(_arn("no-such-function"))["Error"]["Code"] == "InvalidArgument"
    garbage = configure("invalid-queue", SkipDestinationValidation=True)
    assert garbage["Error"]["Message"] == "The ARN could not be parsed"
    assert garbage["Error"]["ArgumentValue"] == "invalid-queue"
    # Nothing was stored.
    stored = s3.get_bucket_notification_configuration(Bucket="refused-notification")
    assert "LambdaFunctionConfigurations" not in stored


def test_s3_notifications_reach_the_function_with_awss_record(
    server: Server, recorder: Any
) -> None:
    lam, s3 = server.client(), service_client(server.endpoint, "s3")
    create_function(lam, "on-upload", make_zip({"app.py": RECORDER}), Timeout=30)
    lam.add_permission(
        FunctionName="on-upload",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads-here",
        SourceAccount=ACCOUNT,
    )
    s3.create_bucket(Bucket="uploads-here")
    s3.put_bucket_notification_configuration(
        Bucket="uploads-here",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "created",
                    "LambdaFunctionArn": _arn("on-upload"),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "in/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                },
                {
                    "Id": "removed",
                    "LambdaFunctionArn": _arn("on-upload"),
                    "Events": ["s3:ObjectRemoved:Delete"],
                },
            ]
        },
    )
    s3.put_object(Bucket="uploads-here", Key="in/a b+ü.csv", Body=b"0123456789")
    s3.put_object(Bucket="uploads-here", Key="in/skipped.txt", Body=b"x")
    s3.put_object(Bucket="uploads-here", Key="out/skipped.csv", Body=b"x")
    s3.copy_object(Bucket="uploads-here", Key="in/copy.csv", CopySource="uploads-here/in/a b+ü.csv")
    upload = s3.create_multipart_upload(Bucket="uploads-here", Key="in/multi.csv")
    part = s3.upload_part(
        Bucket="uploads-here",
        Key="in/multi.csv",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=b"m" * 10,
    )
    s3.complete_multipart_upload(
        Bucket="uploads-here",
        Key="in/multi.csv",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    s3.delete_object(Bucket="uploads-here", Key="in/copy.csv")

    events = _wait(lambda: recorder("on-upload"), 4)
    records = sorted((e["Records"] for e in events), key=lambda r: r[0]["eventName"])
    assert all(len(r) == 1 for r in records)
    by_name = {r[0]["eventName"]: r[0] for r in records}
    assert sorted(by_name) == [
        "ObjectCreated:CompleteMultipartUpload",
        "ObjectCreated:Copy",
        "ObjectCreated:Put",
        "ObjectRemoved:Delete",
    ]
    put = by_name["ObjectCreated:Put"]
    assert set(put) == {
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "s3",
    }
    assert (put["eventVersion"], put["eventSource"], put["awsRegion"]) == (
        "2.1",
        "aws:s3",
        "us-east-1",
    )
    assert put["userIdentity"]["principalId"] and put["requestParameters"]["sourceIPAddress"]
    assert set(put["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert put["s3"]["configurationId"] == "created"
    assert put["s3"]["bucket"]["name"] == "uploads-here"
    assert put["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads-here"
    assert put["s3"]["bucket"]["ownerIdentity"]["principalId"]
    obj = put["s3"]["object"]
    assert obj["key"] == "in/a+b%2B%C3%BC.csv"  # form-encoded, "/" kept, as S3 does
    assert (obj["size"], obj["eTag"]) == (10, "781e5e245d69b566979b86e28d23f2c7")
    assert obj["sequencer"]
    removed = by_name["ObjectRemoved:Delete"]["s3"]
    assert removed["configurationId"] == "removed"
    assert set(removed["object"]) == {"key", "sequencer"}  # no size or eTag for a removal


def test_sns_lambda_subscriptions_with_filter_policies(server: Server, recorder: Any) -> None:
    lam, sns = server.client(), service_client(server.endpoint, "sns")
    create_function(lam, "on-alert", make_zip({"app.py": RECORDER}), Timeout=30)
    create_function(lam, "on-body", make_zip({"app.py": RECORDER}), Timeout=30)
    create_function(lam, "never-allowed", make_zip({"app.py": RECORDER}), Timeout=30)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    for name in ("on-alert", "on-body"):
        lam.add_permission(
            FunctionName=name,
            StatementId="sns",
            Action="lambda:InvokeFunction",
            Principal="sns.amazonaws.com",
            SourceArn=topic,
        )
    by_attributes = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=_arn("on-alert"),
        Attributes={"FilterPolicy": json.dumps({"level": ["high"], "n": [{"numeric": [">", 5]}]})},
    )["SubscriptionArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=_arn("on-body"),
        Attributes={
            "FilterPolicy": json.dumps({"kind": [{"prefix": "stock"}]}),
            "FilterPolicyScope": "MessageBody",
        },
    )
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=_arn("never-allowed"))

    def attrs(level: str, n: str) -> dict[str, Any]:
        return {
            "level": {"DataType": "String", "StringValue": level},
            "n": {"DataType": "Number", "StringValue": n},
        }

    wanted = sns.publish(
        TopicArn=topic,
        Message="high and many",
        Subject="Warn",
        MessageAttributes=attrs("high", "9"),
    )["MessageId"]
    sns.publish(TopicArn=topic, Message="high, few", MessageAttributes=attrs("high", "2"))
    sns.publish(TopicArn=topic, Message="low", MessageAttributes=attrs("low", "9"))
    body = sns.publish(TopicArn=topic, Message=json.dumps({"kind": "stock-out"}))["MessageId"]
    sns.publish(TopicArn=topic, Message=json.dumps({"kind": "other"}))

    bodies = _wait(lambda: recorder("on-body"), 1)
    events = _wait(lambda: recorder("on-alert"), 1)
    time.sleep(1)  # anything that should not arrive has had its chance
    events, bodies = recorder("on-alert"), recorder("on-body")
    assert [e["Records"][0]["Sns"]["MessageId"] for e in events] == [wanted]
    assert [e["Records"][0]["Sns"]["MessageId"] for e in bodies] == [body]
    first = events[0]["Records"][0]
    assert (first["EventSource"], first["EventVersion"]) == ("aws:sns", "1.0")
    assert first["EventSubscriptionArn"] == by_attributes
    message = first["Sns"]
    assert (message["Type"], message["TopicArn"], message["Subject"], message["Message"]) == (
        "Notification",
        topic,
        "Warn",
        "high and many",
    )
    assert message["MessageAttributes"] == {
        "level": {"Type": "String", "Value": "high"},
        "n": {"Type": "Number", "Value": "9"},
    }
    assert message["Timestamp"].endswith("Z") and message["SignatureVersion"] == "1"
    assert recorder("never-allowed") == []  # no permission for sns.amazonaws.com


NODE_SDK = """
const { S3Client, PutObjectCommand, GetObjectCommand } = require("@aws-sdk/client-s3");
exports.handler = async () => {
  const s3 = new S3Client({});
  await s3.send(new PutObjectCommand({Bucket: "trigger-log", Key: "node/put", Body: "from node"}));
  const got = await s3.send(new GetObjectCommand({Bucket: "trigger-log", Key: "node/put"}));
  return {body: await got.Body.transformToString(), sdk: require.resolve("@aws-sdk/client-s3")};
};
"""


def test_a_nodejs_function_uses_the_javascript_sdk_with_no_endpoint_code(
    server: Server, recorder: Any
) -> None:
    lam = server.client()
    code = make_zip({"index.js": NODE_SDK})
    create_function(
        lam, "node-sdk", code, Runtime="nodejs20.x", Handler="index.handler", Timeout=30
    )
    result = lam.invoke(FunctionName="node-sdk")
    payload = json.loads(result["Payload"].read())
    assert "FunctionError" not in result, payload
    assert payload["body"] == "from node"
    assert "/aws-sdk/node/node_modules/@aws-sdk/client-s3/" in payload["sdk"]


def test_eventbridge_rules_with_lambda_targets(server: Server, recorder: Any) -> None:
    lam, events = server.client(), service_client(server.endpoint, "events")
    create_function(lam, "on-event", make_zip({"app.py": RECORDER}), Timeout=30)
    rule = events.put_rule(
        Name="orders",
        EventPattern=json.dumps(
            {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
        ),
    )["RuleArn"]
    lam.add_permission(
        FunctionName="on-event",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    events.put_targets(
        Rule="orders",
        Targets=[
            {"Id": "whole", "Arn": _arn("on-event")},
            {"Id": "path", "Arn": _arn("on-event"), "InputPath": "$.detail"},
            {"Id": "fixed", "Arn": _arn("on-event"), "Input": '{"fixed": true}'},
            {
                "Id": "shaped",
                "Arn": _arn("on-event"),
                "InputTransformer": {
                    "InputPathsMap": {"who": "$.detail.customer", "total": "$.detail.total"},
                    "InputTemplate": '{"message": "<who> spent <total>", "total": <total>}',
                },
            },
        ],
    )

    def put(total: int, source: str = "shop") -> str:
        entry = {
            "Source": source,
            "DetailType": "order",
            "Detail": json.dumps({"customer": "ann", "total": total}),
        }
        result = events.put_events(Entries=[entry])
        assert result["FailedEntryCount"] == 0
        event_id: str = result["Entries"][0]["EventId"]
        return event_id

    wanted = put(250)
    put(50)  # below the threshold
    put(500, source="elsewhere")
    got = _wait(lambda: recorder("on-event"), 4)
    time.sleep(1)
    got = recorder("on-event")
    whole = [e for e in got if "detail-type" in e]
    assert len(got) == 4 and len(whole) == 1
    assert set(whole[0]) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert (whole[0]["id"], whole[0]["source"], whole[0]["version"]) == (wanted, "shop", "0")
    assert whole[0]["time"].endswith("Z") and whole[0]["account"] == ACCOUNT
    assert {"customer": "ann", "total": 250} in got
    assert {"fixed": True} in got
    assert {"message": "ann spent 250", "total": 250} in got


def _form_post(url: str, fields: dict[str, str], content: bytes) -> int:
    boundary = "hearthboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request) as response:
        status: int = response.status
        return status


def test_s3_post_uploads_and_delete_markers(server: Server, recorder: Any) -> None:
    lam, s3 = server.client(), service_client(server.endpoint, "s3")
    create_function(lam, "on-version", make_zip({"app.py": RECORDER}), Timeout=30)
    lam.add_permission(
        FunctionName="on-version",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::versioned",
    )
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="versioned",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": _arn("on-version"),
                    "Events": ["s3:ObjectCreated:Post", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    post = s3.generate_presigned_post("versioned", "posted")
    assert _form_post(post["url"], post["fields"], b"via a form") == 204
    assert s3.get_object(Bucket="versioned", Key="posted")["Body"].read() == b"via a form"
    marker = s3.delete_object(Bucket="versioned", Key="posted")["VersionId"]
    events = _wait(lambda: recorder("on-version"), 2)
    by_name = {e["Records"][0]["eventName"]: e["Records"][0]["s3"]["object"] for e in events}
    assert sorted(by_name) == ["ObjectCreated:Post", "ObjectRemoved:DeleteMarkerCreated"]
    assert by_name["ObjectCreated:Post"]["size"] == 10
    assert by_name["ObjectCreated:Post"]["versionId"]
    assert by_name["ObjectRemoved:DeleteMarkerCreated"]["versionId"] == marker
