"""`hearth up` with every push event type: the buckets, topics, rules, schedules, log groups and
APIs a template declares are made in the embedded services (and Hearth's Logs) of one real
`hearth serve`, each trigger delivers to the function, the APIs answer at the printed URLs, and
a redeploy without them deletes them."""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from hearth.cli import main
from tests.integration.async_helpers import wait_for
from tests.integration.conftest import REGION, Server

HANDLER = """import base64, gzip, json

def handler(event, context):
    if "awslogs" in event:
        shipped = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
        print("TRIGGER logs " + shipped["logEvents"][0]["message"])
        return None
    records = event.get("Records") or [{}]
    first = records[0]
    if first.get("eventSource") == "aws:s3":
        print("TRIGGER s3 " + first["s3"]["object"]["key"])
    elif first.get("EventSource") == "aws:sns":
        print("TRIGGER sns " + first["Sns"]["Message"])
    elif "detail-type" in event:
        print("TRIGGER events " + event["source"])
    path = event.get("rawPath") or event.get("path")
    who = (event.get("requestContext", {}).get("authorizer") or {}).get("principalId")
    body = {"path": path, "v": event.get("version"), **({"who": who} if who else {})}
    return {"statusCode": 200, "body": json.dumps(body)}

def authorize(event, context):
    allowed = event.get("authorizationToken") == "letmein"
    return {"principalId": "alice", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny",
         "Resource": event["methodArn"]}]}}
"""

EVENTS = """
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: in/}]}}
        Note:
          Type: SNS
          Properties:
            Topic: !Ref Notes
            FilterPolicy: {color: [red]}
        Custom:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [my.app]}
        Classic:
          Type: CloudWatchEvent
          Properties:
            Pattern: {source: [my.classic]}
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
        TickV2:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(10 minutes)
        Shipped:
          Type: CloudWatchLogs
          Properties: {LogGroupName: !Ref Audit, FilterPattern: ""}
        Rest:
          Type: Api
          Properties: {Path: "/items/{id}", Method: get}
        Http:
          Type: HttpApi
          Properties: {Path: "/things/{id}", Method: get}
        Guarded:
          Type: Api
          Properties: {RestApiId: !Ref Guarded, Path: /me, Method: get}
"""

TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Notes:
    Type: AWS::SNS::Topic
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: svc-bus}
  Audit:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: 7}
  Guarded:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token:
            FunctionArn: !GetAtt Authorizer.Arn
  Authorizer:
    Type: AWS::Serverless::Function
    Properties: {FunctionName: svc-auth, CodeUri: src/, Handler: app.authorize, Runtime: python3.12}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties: {DefinitionString: "{}", RoleArn: arn:aws:iam::123456789012:role/x}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: svc-fn
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:EVENTS
Outputs:
  RestUrl:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/items/"
  HttpUrl:
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/"
  GuardedUrl:
    Value: !Sub "https://${Guarded}.execute-api.${AWS::Region}.amazonaws.com/dev/me"
"""

# What stays after the redeploy: the function alone.
REDUCED = """Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: svc-fn
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("up-services")).start()
    yield started
    started.stop()


def aws(server: Server, service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="hearth-test",
        aws_secret_access_key="hearth-test",
    )


def up_output(server: Server, template: Path, stack: str) -> str:
    """`hearth up` in this process (the translator's seconds of imports are paid once); what
    it printed."""
    env = {"HEARTH_ENDPOINT_URL": server.endpoint, "HEARTH_DATA_DIR": str(server.data_dir),
           "COLUMNS": "200"}  # fmt: skip
    result = CliRunner().invoke(main, ["up", str(template), "--stack-name", stack], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def up(server: Server, app: Path, template: str | None = None) -> str:
    if template is not None:
        (app / "template.yaml").write_text(template)
    return up_output(server, app / "template.yaml", "svc")


def url_parts(url: str) -> tuple[str, str, str]:
    """An API URL's host, port and path. Its host, `<api>.execute-api.localhost`, is this
    machine to curl but not to urllib, so tests connect to 127.0.0.1 with that Host."""
    found = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)", url)
    assert found, url
    host, port, path = found.groups()
    return host, port, path


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    host, port, path = url_parts(url)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def triggered(server: Server, line: str) -> bool:
    logs = aws(server, "logs")
    try:
        found = logs.filter_log_events(logGroupName="/aws/lambda/svc-fn")["events"]
    except ClientError:
        return False  # until the first invoke
    return any(line in event["message"] for event in found)


def missing(call: Any) -> bool:
    try:
        call()
    except ClientError:
        return True
    return False


def write_to_subscribed_group(server: Server) -> dict[str, Any]:
    """Check the template's subscription filter and write a line to its group; the group."""
    logs = aws(server, "logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix="svc-Audit")["logGroups"]
    (subscription,) = logs.describe_subscription_filters(logGroupName=group["logGroupName"])[
        "subscriptionFilters"
    ]
    assert subscription["destinationArn"].endswith(":function:svc-fn")
    logs.create_log_stream(logGroupName=group["logGroupName"], logStreamName="s")
    logs.put_log_events(
        logGroupName=group["logGroupName"],
        logStreamName="s",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "audit line"}],
    )
    found: dict[str, Any] = group
    return found


def test_every_push_event_type_deploys_triggers_and_is_deleted_by_a_redeploy(
    server: Server, tmp_path: Path
) -> None:
    app = tmp_path / "svc"
    (app / "src").mkdir(parents=True)
    (app / "src" / "app.py").write_text(HANDLER)
    first = up(server, app, TEMPLATE.replace("EVENTS", EVENTS))
    # What Hearth does not run is listed once, by logical id and type.
    assert first.count("Machine (AWS::StepFunctions::StateMachine)") == 1
    urls = dict(re.findall(r"^  (\w+Url) = (\S+)", first, re.MULTILINE))
    assert re.fullmatch(
        r"http://[a-z0-9]+\.execute-api\.localhost:\d+/Prod/items/", urls["RestUrl"]
    )

    # The APIs answer through the function at the printed URLs.
    status, body = wait_for(
        lambda: (found := get(urls["RestUrl"] + "7"))[0] == 200 and found, timeout=10
    )
    assert body == {"path": "/items/7", "v": None}
    status, body = get(urls["HttpUrl"] + "things/8")
    assert (status, body) == (200, {"path": "/things/8", "v": "2.0"})
    assert get(urls["HttpUrl"] + "other")[0] == 404  # no such route
    # The explicit API's Lambda authorizer guards it.
    assert get(urls["GuardedUrl"])[0] == 401
    assert get(urls["GuardedUrl"], {"Authorization": "nope"})[0] == 403
    assert get(urls["GuardedUrl"], {"Authorization": "letmein"}) == (
        200,
        {"path": "/me", "v": None, "who": "alice"},
    )

    # S3: a PutObject under the filter's prefix triggers; one outside it does not.
    s3 = aws(server, "s3")
    s3.put_object(Bucket="svc-uploads", Key="out/skipped.txt", Body=b"x")
    s3.put_object(Bucket="svc-uploads", Key="in/report.csv", Body=b"x")
    # SNS: the filter policy lets red through, not blue.
    sns = aws(server, "sns")
    topic = f"arn:aws:sns:{REGION}:123456789012:svc-Notes"
    for color in ("blue", "red"):
        sns.publish(
            TopicArn=topic,
            Message=f"a {color} note",
            MessageAttributes={"color": {"DataType": "String", "StringValue": color}},
        )
    # EventBridge: both rules' patterns, one on a bus of the template's.
    events = aws(server, "events")
    events.put_events(Entries=[{"Source": s, "DetailType": "t", "Detail": "{}", "EventBusName": b}
                               for s, b in (("my.app", "svc-bus"), ("my.classic", "default"),
                                            ("my.other", "svc-bus"))])  # fmt: skip
    # CloudWatch Logs: a line written to the subscribed group reaches the function.
    group = write_to_subscribed_group(server)
    for line in ("TRIGGER s3 in/report.csv", "TRIGGER sns a red note",
                 "TRIGGER events my.app", "TRIGGER events my.classic",
                 "TRIGGER logs audit line"):  # fmt: skip
        wait_for(functools.partial(triggered, server, line), timeout=20, interval=0.2)
    for line in ("out/skipped.txt", "a blue note", "my.other"):
        assert not triggered(server, line)

    # Schedules: made as EventBridge and Scheduler hold them.
    assert events.describe_rule(Name="svc-FnTick")["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = events.list_targets_by_rule(Rule="svc-FnTick")["Targets"]
    assert target["Arn"].endswith(":function:svc-fn")
    schedule = aws(server, "scheduler").get_schedule(Name="FnTickV2")
    assert schedule["ScheduleExpression"] == "rate(10 minutes)"
    assert schedule["Target"]["Arn"].endswith(":function:svc-fn")
    assert group["retentionInDays"] == 7
    logs = aws(server, "logs")

    again = up(server, app)
    assert "no changes" in again, again

    # A redeploy without them deletes every one.
    reduced = up(server, app, REDUCED)
    for name in ("Uploads", "Notes", "Audit", "Bus", "FnTick", "FnTickV2", "ServerlessRestApi", "Guarded",
                 "ServerlessHttpApi", "FnNote", "FnShipped"):  # fmt: skip
        assert f"deleted  {name}" in reduced
    rest_id = urls["RestUrl"].split("//")[1].split(".")[0]
    http_id = urls["HttpUrl"].split("//")[1].split(".")[0]
    assert missing(lambda: s3.head_bucket(Bucket="svc-uploads"))
    assert topic not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert missing(lambda: events.describe_rule(Name="svc-FnCustom", EventBusName="svc-bus"))
    assert missing(lambda: events.describe_event_bus(Name="svc-bus"))
    assert missing(lambda: aws(server, "scheduler").get_schedule(Name="FnTickV2"))
    assert not logs.describe_log_groups(logGroupNamePrefix="svc-Audit")["logGroups"]
    assert missing(lambda: aws(server, "apigateway").get_rest_api(restApiId=rest_id))
    assert missing(lambda: aws(server, "apigatewayv2").get_api(ApiId=http_id))
    # Within the API definitions' cache of a second, the URL stops answering.
    wait_for(lambda: get(urls["RestUrl"] + "7")[0] != 200, timeout=5, interval=0.2)
