"""What both example deploy scripts do: functions, tables, bucket, topic and triggers on Hearth.

Only boto3, against one endpoint (Hearth's port serves Lambda and the AWS services alike).
"""

from __future__ import annotations

import argparse
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/example-role"


def options(doc: str, csv: Path, expect_alerts: int) -> argparse.Namespace:
    """The deploy scripts' command line: the endpoint, the CSV to upload, what to wait for."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:9070")
    parser.add_argument("--csv", type=Path, default=csv)
    parser.add_argument("--expect-alerts", type=int, default=expect_alerts)
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser.parse_args()


class Deployer:
    def __init__(self, endpoint: str, region: str = "us-east-1", key: str = "example",
                 secret: str = "example") -> None:
        self.endpoint, self.region = endpoint, region
        config = Config(retries={"max_attempts": 2})

        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=endpoint, region_name=region,
                                aws_access_key_id=key, aws_secret_access_key=secret,
                                config=config)

        self.lam, self.s3, self.ddb = client("lambda"), client("s3"), client("dynamodb")
        self.sns, self.logs = client("sns"), client("logs")
        self.streams = client("dynamodbstreams")
        self.account = client("sts").get_caller_identity()["Account"]

    def say(self, text: str) -> None:
        print(f"==> {text}", flush=True)

    # Functions -------------------------------------------------------------------------
    def function(self, name: str, source: Path, timeout: int = 30) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(source.rglob("*.py")):
                archive.write(path, path.relative_to(source))
        code = buffer.getvalue()
        try:
            self.lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=ROLE,
                Handler="lambda_function.lambda_handler", Code={"ZipFile": code},
                Timeout=timeout, MemorySize=256,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceConflictException":
                raise
            self.lam.update_function_code(FunctionName=name, ZipFile=code)
            self.lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        self.lam.get_waiter("function_active_v2").wait(FunctionName=name)
        self.say(f"function {name}")
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def allow(self, function: str, principal: str, source_arn: str) -> None:
        sid = principal.split(".", maxsplit=1)[0] + "-" + source_arn.rsplit(":", 1)[-1]
        try:
            self.lam.add_permission(FunctionName=function, StatementId=sid[:100],
                                    Action="lambda:InvokeFunction", Principal=principal,
                                    SourceArn=source_arn)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceConflictException":
                raise

    # Resources -------------------------------------------------------------------------
    def table(self, name: str, keys: list[tuple[str, str]], stream: bool = False) -> dict[str, Any]:
        try:
            params: dict[str, Any] = dict(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            )
            if stream:
                params["StreamSpecification"] = {"StreamEnabled": True,
                                                 "StreamViewType": "NEW_AND_OLD_IMAGES"}
            self.ddb.create_table(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        self.say(f"table {name}")
        table: dict[str, Any] = self.ddb.describe_table(TableName=name)["Table"]
        return table

    def bucket(self, name: str) -> None:
        try:
            self.s3.create_bucket(Bucket=name)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",
                                                       "BucketAlreadyExists"):
                raise
        self.say(f"bucket {name}")

    def topic(self, name: str) -> str:
        arn: str = self.sns.create_topic(Name=name)["TopicArn"]
        self.say(f"topic {name}")
        return arn

    # Triggers --------------------------------------------------------------------------
    def s3_trigger(self, bucket: str, function: str, function_arn: str, suffix: str) -> None:
        self.allow(function, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"LambdaFunctionConfigurations": [{
                "Id": f"{function}-on-upload", "LambdaFunctionArn": function_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}},
            }]},
        )
        self.say(f"trigger s3://{bucket}/*{suffix} -> {function}")

    def sns_trigger(self, topic_arn: str, function: str, function_arn: str) -> None:
        self.allow(function, "sns.amazonaws.com", topic_arn)
        self.sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=function_arn)
        self.say(f"trigger {topic_arn.rsplit(':', 1)[-1]} -> {function}")

    def stream_trigger(self, table: dict[str, Any], function: str) -> bool:
        """An event source mapping from the table's stream; False where Hearth has none yet."""
        try:
            self.lam.create_event_source_mapping(
                EventSourceArn=table["LatestStreamArn"], FunctionName=function,
                StartingPosition="TRIM_HORIZON", BatchSize=100,
            )
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] not in (404, 400):
                raise
            self.say(f"no event source mappings on this Hearth: this script relays "
                     f"{table['TableName']}'s stream to {function} itself")
            return False
        self.say(f"trigger {table['TableName']} stream -> {function}")
        return True

    def relay_stream(self, table: dict[str, Any], function: str, until: float,
                     positions: dict[str, str]) -> int:
        """Reads the stream and invokes `function` with each batch, as a mapping would."""
        stream = table["LatestStreamArn"]
        sent = 0
        shards = self.streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = positions.get(shard_id) or self.streams.get_shard_iterator(
                StreamArn=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while time.time() < until:
                page = self.streams.get_records(ShardIterator=iterator, Limit=100)
                iterator = page["NextShardIterator"]
                records = page["Records"]
                if not records:
                    break
                for record in records:
                    record["eventSourceARN"] = stream
                    record["dynamodb"].pop("ApproximateCreationDateTime", None)
                self.lam.invoke(FunctionName=function,
                                Payload=json.dumps({"Records": records}, default=str))
                sent += len(records)
            positions[shard_id] = iterator
        return sent

    # Watching --------------------------------------------------------------------------
    def upload_and_watch(self, args: argparse.Namespace, bucket: str, notifier: str,
                         stream: tuple[dict[str, Any], str, bool]) -> int:
        """Upload the CSV, then print the notifier's alerts until `--expect-alerts` arrived
        (0) or `--timeout` passed (1). `stream`: the table, the function its stream feeds,
        and whether a mapping does it (else this relays the stream itself)."""
        table, stream_function, mapped = stream
        started = int(time.time() * 1000)
        key = f"uploads/{int(time.time())}-{args.csv.name}"
        self.s3.upload_file(str(args.csv), bucket, key)
        self.say(f"uploaded s3://{bucket}/{key}; waiting for alerts")
        deadline = time.time() + args.timeout
        positions: dict[str, str] = {}
        seen: list[str] = []
        while time.time() < deadline:
            if not mapped:
                self.relay_stream(table, stream_function, deadline, positions)
            for alert in self.alerts(notifier, started):
                if alert not in seen:
                    seen.append(alert)
                    print(f"    {alert}", flush=True)
            if len(seen) >= args.expect_alerts:
                self.say(f"{len(seen)} alerts arrived")
                return 0
            time.sleep(0.5)
        self.say(f"only {len(seen)} of {args.expect_alerts} alerts within {args.timeout:g} s")
        return 1

    def alerts(self, function: str, since_ms: int) -> list[str]:
        try:
            events = self.logs.filter_log_events(
                logGroupName=f"/aws/lambda/{function}", startTime=since_ms,
            )["events"]
        except ClientError:
            return []
        return [e["message"].strip() for e in events if "ALERT " in e["message"]]
