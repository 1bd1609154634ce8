"""Sample events by service and name, each with the options `sam local generate-event` offers.

The shapes are AWS's (the Lambda developer guide's event examples, and the deliveries recorded
in spec/aws-recorded/); values a caller may want to change are options with AWS's defaults.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Builder = Callable[[dict[str, str]], dict[str, Any]]

_TIME = "1970-01-01T00:00:00.000Z"
_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Sample:
    """One sample event: what it is, its options (name → default), and how to build it."""

    help: str
    options: dict[str, str]
    build: Builder


def _s3(event_name: str) -> Builder:
    def build(o: dict[str, str]) -> dict[str, Any]:
        obj: dict[str, Any] = {"key": o["key"], "sequencer": "0A1B2C3D4E5F678901"}
        if event_name.startswith("ObjectCreated"):
            obj.update(size=1024, eTag="0123456789abcdef0123456789abcdef")
        return {
            "Records": [
                {
                    "eventVersion": "2.0",
                    "eventSource": "aws:s3",
                    "awsRegion": o["region"],
                    "eventTime": _TIME,
                    "eventName": event_name,
                    "userIdentity": {"principalId": "EXAMPLE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {
                        "x-amz-request-id": "EXAMPLE123456789",
                        "x-amz-id-2": (
                            "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"
                        ),
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "testConfigRule",
                        "bucket": {
                            "name": o["bucket"],
                            "ownerIdentity": {"principalId": "EXAMPLE"},
                            "arn": f"arn:{o['partition']}:s3:::{o['bucket']}",
                        },
                        "object": obj,
                    },
                }
            ]
        }

    return build


_S3_OPTIONS = {
    "region": "us-east-1",
    "partition": "aws",
    "bucket": "example-bucket",
    "key": "test/key",
}


def _dynamodb_record(name: str, o: dict[str, str], sequence: str) -> dict[str, Any]:
    keys = {"Id": {"N": "101"}}
    new = {"Message": {"S": "New item!"}, "Id": {"N": "101"}}
    old = {"Message": {"S": "This item has changed"}, "Id": {"N": "101"}}
    images: dict[str, Any] = {
        "INSERT": {"NewImage": new},
        "MODIFY": {"OldImage": new, "NewImage": old},
        "REMOVE": {"OldImage": old},
    }[name]
    view = {
        "INSERT": "NEW_AND_OLD_IMAGES",
        "MODIFY": "NEW_AND_OLD_IMAGES",
        "REMOVE": "NEW_AND_OLD_IMAGES",
    }
    arn = (
        f"arn:{o['partition']}:dynamodb:{o['region']}:{_ACCOUNT}:table/{o['table']}"
        "/stream/2015-06-27T00:48:05.899"
    )
    return {
        "eventID": {"INSERT": "1", "MODIFY": "2", "REMOVE": "3"}[name],
        "eventVersion": "1.0",
        "dynamodb": {
            "Keys": keys,
            **images,
            "StreamViewType": view[name],
            "SequenceNumber": sequence,
            "SizeBytes": 26,
            "ApproximateCreationDateTime": 1428537600,
        },
        "awsRegion": o["region"],
        "eventName": name,
        "eventSourceARN": arn,
        "eventSource": "aws:dynamodb",
    }


def _dynamodb(names: list[str]) -> Builder:
    def build(o: dict[str, str]) -> dict[str, Any]:
        return {
            "Records": [
                _dynamodb_record(name, o, str(111 + 111 * i)) for i, name in enumerate(names)
            ]
        }

    return build


_DDB_OPTIONS = {"region": "us-east-1", "partition": "aws", "table": "ExampleTable"}


def _sns(o: dict[str, str]) -> dict[str, Any]:
    topic = f"arn:{o['partition']}:sns:{o['region']}:{_ACCOUNT}:{o['topic']}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.UUID(int=1)}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic,
                    "Subject": o["subject"] or None,
                    "Message": o["message"],
                    "Timestamp": _TIME,
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def _sqs(o: dict[str, str]) -> dict[str, Any]:
    body = o["body"]
    return {
        "Records": [
            {
                "messageId": "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
                "receiptHandle": "MessageReceiptHandle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1523232000000",
                    "SenderId": _ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1523232000001",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:{o['partition']}:sqs:{o['region']}:{_ACCOUNT}:{o['queue']}",
                "awsRegion": o["region"],
            }
        ]
    }


def _kinesis(o: dict[str, str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": o["partition-key"],
                    "sequenceNumber": o["sequence"],
                    "data": base64.b64encode(o["data"].encode()).decode(),
                    "approximateArrivalTimestamp": 1545084650.987,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000006:{o['sequence']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:{o['partition']}:iam::{_ACCOUNT}:role/lambda-role",
                "awsRegion": o["region"],
                "eventSourceARN": (
                    f"arn:{o['partition']}:kinesis:{o['region']}:{_ACCOUNT}:stream/{o['stream']}"
                ),
            }
        ]
    }


def _scheduled(o: dict[str, str]) -> dict[str, Any]:
    return {
        "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": _ACCOUNT,
        "time": "1970-01-01T00:00:00Z",
        "region": o["region"],
        "resources": [f"arn:{o['partition']}:events:{o['region']}:{_ACCOUNT}:rule/{o['rule']}"],
        "detail": {},
    }


def _eventbridge(o: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": o["detail-type"],
        "source": o["source"],
        "account": _ACCOUNT,
        "time": "1970-01-01T00:00:00Z",
        "region": o["region"],
        "resources": [],
        "detail": json.loads(o["detail"]),
    }


def _logs(o: dict[str, str]) -> dict[str, Any]:
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": _ACCOUNT,
        "logGroup": o["log-group"],
        "logStream": o["log-stream"],
        "subscriptionFilters": ["testFilter"],
        "logEvents": [
            {"id": "eventId1", "timestamp": 1440442987000, "message": o["message"]},
        ],
    }
    data = gzip.compress(json.dumps(payload).encode(), mtime=0)
    return {"awslogs": {"data": base64.b64encode(data).decode()}}


def _ses(o: dict[str, str]) -> dict[str, Any]:
    headers = [
        {"name": "From", "value": o["source"]},
        {"name": "To", "value": o["destination"]},
        {"name": "Subject", "value": o["subject"]},
    ]
    return {
        "Records": [
            {
                "eventVersion": "1.0",
                "eventSource": "aws:ses",
                "ses": {
                    "mail": {
                        "commonHeaders": {
                            "from": [o["source"]],
                            "to": [o["destination"]],
                            "subject": o["subject"],
                            "date": "Wed, 7 Oct 2015 12:34:56 -0700",
                            "messageId": "<0123456789example.com>",
                            "returnPath": o["source"],
                        },
                        "source": o["source"],
                        "timestamp": _TIME,
                        "destination": [o["destination"]],
                        "headers": headers,
                        "headersTruncated": False,
                        "messageId": "o3vrnil0e2ic28tr",
                    },
                    "receipt": {
                        "recipients": [o["destination"]],
                        "timestamp": _TIME,
                        "spamVerdict": {"status": "PASS"},
                        "dkimVerdict": {"status": "PASS"},
                        "processingTimeMillis": 574,
                        "action": {
                            "type": "Lambda",
                            "invocationType": "Event",
                            "functionArn": (
                                f"arn:aws:lambda:{o['region']}:{_ACCOUNT}:function:example"
                            ),
                        },
                        "spfVerdict": {"status": "PASS"},
                        "virusVerdict": {"status": "PASS"},
                    },
                },
            }
        ]
    }


def _rest_proxy(o: dict[str, str]) -> dict[str, Any]:
    method, path, stage = o["method"], o["path"], o["stage"]
    headers = {"Accept": "*/*", "Host": "localhost:3000", "User-Agent": "Custom User Agent String"}
    return {
        "body": o["body"],
        "resource": o["resource"],
        "path": path,
        "httpMethod": method,
        "isBase64Encoded": False,
        "queryStringParameters": {"foo": "bar"},
        "multiValueQueryStringParameters": {"foo": ["bar"]},
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": {"baz": "qux"},
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "requestContext": {
            "accountId": o["account-id"],
            "resourceId": "123456",
            "stage": stage,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "09/Apr/2015:12:34:56 +0000",
            "requestTimeEpoch": 1428582896000,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "Custom User Agent String"},
            "path": f"/{stage}{path}",
            "resourcePath": o["resource"],
            "httpMethod": method,
            "apiId": "1234567890",
            "protocol": "HTTP/1.1",
        },
    }


def _http_proxy(o: dict[str, str]) -> dict[str, Any]:
    method, path, stage = o["method"], o["path"], o["stage"]
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {"header1": "value1", "header2": "value1,value2"},
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": o["account-id"],
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": f"{method} {path}",
            "stage": stage,
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "body": o["body"],
        "pathParameters": {},
        "isBase64Encoded": False,
        "stageVariables": {},
    }


def _alb(o: dict[str, str]) -> dict[str, Any]:
    return {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    f"arn:aws:elasticloadbalancing:{o['region']}:{_ACCOUNT}:"
                    "targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a"
                )
            }
        },
        "httpMethod": o["method"],
        "path": o["path"],
        "queryStringParameters": {"query": "1234ABCD"},
        "headers": {
            "accept": "text/html,application/xhtml+xml",
            "host": "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
            "user-agent": "Mozilla/5.0",
            "x-forwarded-for": "72.12.164.125",
            "x-forwarded-port": "80",
            "x-forwarded-proto": "http",
        },
        "body": o["body"],
        "isBase64Encoded": False,
    }


def _cognito_pre_signup(o: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "1",
        "region": o["region"],
        "userPoolId": o["user-pool-id"],
        "userName": o["username"],
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": o["client-id"]},
        "triggerSource": "PreSignUp_SignUp",
        "request": {"userAttributes": {"email": o["email"]}, "validationData": None},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }


_HTTP = {
    "body": '{"message": "hello world"}',
    "method": "POST",
    "path": "/path/to/resource",
    "stage": "prod",
    "account-id": _ACCOUNT,
}

SAMPLES: dict[str, dict[str, Sample]] = {
    "s3": {
        "put": Sample("S3 ObjectCreated:Put notification", _S3_OPTIONS, _s3("ObjectCreated:Put")),
        "delete": Sample(
            "S3 ObjectRemoved:Delete notification", _S3_OPTIONS, _s3("ObjectRemoved:Delete")
        ),
    },
    "dynamodb": {
        "update": Sample(
            "DynamoDB stream: INSERT, MODIFY and REMOVE",
            _DDB_OPTIONS,
            _dynamodb(["INSERT", "MODIFY", "REMOVE"]),
        ),
        "insert": Sample("DynamoDB stream INSERT record", _DDB_OPTIONS, _dynamodb(["INSERT"])),
        "modify": Sample("DynamoDB stream MODIFY record", _DDB_OPTIONS, _dynamodb(["MODIFY"])),
        "remove": Sample("DynamoDB stream REMOVE record", _DDB_OPTIONS, _dynamodb(["REMOVE"])),
    },
    "sns": {
        "notification": Sample(
            "SNS notification",
            {
                "region": "us-east-1",
                "partition": "aws",
                "topic": "sns-lambda",
                "message": "Hello from SNS!",
                "subject": "TestInvoke",
            },
            _sns,
        ),
    },
    "sqs": {
        "receive-message": Sample(
            "SQS messages as an event source mapping delivers them",
            {
                "region": "us-east-1",
                "partition": "aws",
                "queue": "MyQueue",
                "body": "Test message.",
            },
            _sqs,
        ),
    },
    "kinesis": {
        "get-records": Sample(
            "Kinesis records as an event source mapping delivers them",
            {
                "region": "us-east-1",
                "partition": "aws",
                "stream": "lambda-stream",
                "data": "Hello, this is a test.",
                "partition-key": "1",
                "sequence": "49590338271490256608559692538361571095921575989136588898",
            },
            _kinesis,
        ),
    },
    "cloudwatch": {
        "scheduled-event": Sample(
            "EventBridge (CloudWatch Events) scheduled event",
            {"region": "us-east-1", "partition": "aws", "rule": "ExampleRule"},
            _scheduled,
        ),
        "logs": Sample(
            "CloudWatch Logs subscription (gzipped, base64)",
            {
                "log-group": "testLogGroup",
                "log-stream": "testLogStream",
                "message": "[ERROR] First test message",
            },
            _logs,
        ),
    },
    "eventbridge": {
        "scheduled": Sample(
            "EventBridge scheduled event",
            {"region": "us-east-1", "partition": "aws", "rule": "ExampleRule"},
            _scheduled,
        ),
        "event": Sample(
            "EventBridge event from a rule",
            {
                "region": "us-east-1",
                "source": "my.app",
                "detail-type": "Order Placed",
                "detail": '{"orderId": "1"}',
            },
            _eventbridge,
        ),
    },
    "ses": {
        "email-receiving": Sample(
            "SES email receiving",
            {
                "region": "us-east-1",
                "source": "janedoe@example.com",
                "destination": "johndoe@example.com",
                "subject": "Test Subject",
            },
            _ses,
        ),
    },
    "apigateway": {
        "aws-proxy": Sample(
            "API Gateway REST API proxy (payload 1.0)",
            {**_HTTP, "resource": "/{proxy+}"},
            _rest_proxy,
        ),
        "http-api-proxy": Sample(
            "API Gateway HTTP API (payload 2.0)", {**_HTTP, "stage": "$default"}, _http_proxy
        ),
    },
    "alb": {
        "request": Sample(
            "Application Load Balancer request",
            {"region": "us-east-1", "method": "GET", "path": "/lambda", "body": ""},
            _alb,
        ),
    },
    "cognito-idp": {
        "pre-signup": Sample(
            "Cognito user pool pre sign-up trigger",
            {
                "region": "us-east-1",
                "user-pool-id": "us-east-1_EXAMPLE",
                "username": "janedoe",
                "client-id": "example-client",
                "email": "janedoe@example.com",
            },
            _cognito_pre_signup,
        ),
    },
}


def generate(service: str, name: str, options: dict[str, str] | None = None) -> dict[str, Any]:
    """The sample ``service`` / ``name``, ``options`` over its defaults (KeyError: unknown)."""
    sample = SAMPLES[service][name]
    unknown = set(options or {}) - set(sample.options)
    if unknown:
        raise KeyError(f"unknown option(s) {sorted(unknown)}")
    return sample.build({**sample.options, **(options or {})})
