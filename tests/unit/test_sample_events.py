"""`hearth event`'s samples: AWS's shapes (checked against spec/aws-recorded deliveries), options."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from hearth.samples.catalog import SAMPLES, generate

# The keys of one record as AWS delivered it (spec/aws-recorded: s3, sns, sqs snapshots).
RECORDED_KEYS = {
    ("s3", "put"): {
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "s3",
    },
    ("sns", "notification"): {"EventSource", "EventVersion", "EventSubscriptionArn", "Sns"},
    ("sqs", "receive-message"): {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    },
}


@pytest.mark.parametrize(("service", "name"), sorted(RECORDED_KEYS))
def test_records_have_the_recorded_keys(service: str, name: str) -> None:
    record = generate(service, name)["Records"][0]
    assert set(record) == RECORDED_KEYS[(service, name)]


def test_every_sample_is_json_and_options_apply() -> None:
    for service, samples in SAMPLES.items():
        for name in samples:
            json.dumps(generate(service, name))
    put = generate("s3", "put", {"bucket": "b", "key": "k"})["Records"][0]["s3"]
    assert put["bucket"]["name"] == "b" and put["object"]["key"] == "k"
    assert "size" not in generate("s3", "delete")["Records"][0]["s3"]["object"]
    names = [r["eventName"] for r in generate("dynamodb", "update")["Records"]]
    assert names == ["INSERT", "MODIFY", "REMOVE"]
    assert generate("apigateway", "http-api-proxy", {"method": "GET"})["routeKey"].startswith(
        "GET "
    )
    with pytest.raises(KeyError):
        generate("s3", "put", {"nope": "x"})


def test_kinesis_and_logs_are_encoded_as_aws_encodes_them() -> None:
    data = generate("kinesis", "get-records", {"data": "hi"})["Records"][0]["kinesis"]["data"]
    assert base64.b64decode(data) == b"hi"
    logs = generate("cloudwatch", "logs", {"log-group": "g"})["awslogs"]["data"]
    assert json.loads(gzip.decompress(base64.b64decode(logs)))["logGroup"] == "g"
