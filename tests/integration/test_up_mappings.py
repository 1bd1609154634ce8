"""`hearth up` with an SQS event: the mapping is made through the esm API and delivers (moto's SQS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.async_helpers import wait_for
from tests.integration.conftest import Server
from tests.integration.mapping_helpers import aws_client, hearth

__all__ = ["hearth"]  # fixture

TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Parameters:
  QueueArn:
    Type: String
  TraceFile:
    Type: String
Resources:
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-consumer"
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TRACE_FILE: !Ref TraceFile
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !Ref QueueArn
            BatchSize: 5
"""

HANDLER = """import json, os

def handler(event, context):
    with open(os.environ["TRACE_FILE"], "a") as out:
        for record in event["Records"]:
            out.write(json.dumps(record["body"]) + "\\n")
"""


def test_an_sqs_event_delivers(hearth: Server, moto: str, tmp_path: Path) -> None:
    sqs = aws_client(moto, "sqs")
    url = sqs.create_queue(QueueName="up-work")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    app = tmp_path / "mapped"
    (app / "src").mkdir(parents=True)
    (app / "template.yaml").write_text(TEMPLATE)
    (app / "src" / "app.py").write_text(HANDLER)
    trace = tmp_path / "trace.jsonl"
    env = {
        **os.environ,
        "HEARTH_ENDPOINT_URL": hearth.endpoint,
        "HEARTH_DATA_DIR": str(hearth.data_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "hearth", "up", "--parameter-overrides", f"QueueArn={arn} TraceFile={trace}"],
        cwd=app, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "created  ConsumerWork" in result.stdout
    mappings = hearth.client().list_event_source_mappings(FunctionName="mapped-consumer")
    (mapping,) = mappings["EventSourceMappings"]
    assert mapping["EventSourceArn"] == arn and mapping["BatchSize"] == 5
    sqs.send_message(QueueUrl=url, MessageBody="from the template")
    wait_for(lambda: trace.exists() and trace.read_text().strip(), timeout=30, interval=0.2)
    assert json.loads(trace.read_text().splitlines()[0]) == "from the template"
