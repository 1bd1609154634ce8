"""Pure pieces of the parity work: loop lineage, code sources, documents, trace rewriting."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest

from hearth.control.code_source import (
    MAX_DIRECT_ZIPPED_BYTES,
    MAX_UNZIPPED_BYTES,
    CodeSource,
    MemoryObjects,
)
from hearth.errors import LambdaError
from hearth.invoke.lineage import MAX_ROUNDS, next_trace
from hearth.services import sqs_long_poll
from hearth.services.embedded import WireRequest, WireResponse
from hearth.services.trace_headers import keep_trace_header
from hearth.store.documents import JsonDocuments

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:g"


def test_lineage_counts_rounds_per_function_and_keeps_the_root() -> None:
    first = next_trace(None, ARN)
    assert first.rounds == 1 and not first.loop
    header = first.header
    for expected in range(2, MAX_ROUNDS + 1):
        trace = next_trace(header, ARN)
        assert trace.rounds == expected and not trace.loop
        header = trace.header
    assert next_trace(header, ARN).loop
    # Another function in the chain has its own count; the Root stays the chain's.
    other = next_trace(header, OTHER)
    assert other.rounds == 1
    root = header.split(";")[0]
    assert other.header.startswith(root + ";")
    # Garbage in a header is ignored, not trusted.
    assert next_trace("Root=1-x;Lineage=nothex:99|abc", ARN).rounds == 1


def _source() -> tuple[CodeSource, MemoryObjects]:
    objects = MemoryObjects()
    objects.put("b", "k", b"older", version="v1")
    objects.put("b", "k", b"zip-bytes", version="v2", metadata={"m": "v"})  # the newest
    return CodeSource(objects), objects


def test_code_source_reads_zipfile_or_s3_with_aws_errors() -> None:
    source, _ = _source()
    direct = source.read({"ZipFile": base64.b64encode(b"PK").decode()})
    assert (direct.data, direct.max_zipped) == (b"PK", MAX_DIRECT_ZIPPED_BYTES)
    fetched = source.read({"S3Bucket": "b", "S3Key": "k"})
    assert (fetched.data, fetched.max_zipped) == (b"zip-bytes", MAX_UNZIPPED_BYTES)
    assert fetched.metadata == {"m": "v"}
    assert source.read({"S3Bucket": "b", "S3Key": "k", "S3ObjectVersion": "v1"}).data == b"older"
    for code, words in (
        ({"S3Bucket": "nope", "S3Key": "k"}, "NoSuchBucket"),
        ({"S3Bucket": "b", "S3Key": "nope"}, "NoSuchKey"),
        ({"S3Bucket": "b", "S3Key": "k", "S3ObjectVersion": "v9"}, "NoSuchVersion"),
        ({"S3Bucket": "b"}, "both S3Bucket and S3Key"),
        ({"S3Bucket": "b", "S3Key": "k", "ZipFile": "UEs="}, "other FunctionCode"),
        ({"ImageUri": "x"}, "ImageUri"),
        ({"ZipFile": "!!"}, "Could not unzip"),
    ):
        with pytest.raises(LambdaError) as exc:
            source.read(code)
        assert exc.value.code == "InvalidParameterValueException"
        assert words in exc.value.message
    with pytest.raises(LambdaError) as exc:
        CodeSource(None).read({"S3Bucket": "b", "S3Key": "k"})
    assert exc.value.status == 400


def test_json_documents_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "docs.json"
    docs = JsonDocuments(path)
    docs.put("b", {"n": 2})
    docs.put("a", {"n": 1})
    got = docs.get("a")
    assert got == {"n": 1}
    got["n"] = 99  # a copy: the store is not changed through it
    reopened = JsonDocuments(path)
    assert reopened.list() == [{"n": 1}, {"n": 2}]
    reopened.delete("a")
    reopened.delete("missing")
    assert JsonDocuments(path).list() == [{"n": 2}]


def _request(target: str, body: object, trace: str | None = "Root=1-a;Lineage=x") -> WireRequest:
    headers = {"x-amz-target": target}
    if trace:
        headers["x-amzn-trace-id"] = trace
    return WireRequest("POST", "/", "", headers, json.dumps(body).encode())


def test_sqs_sends_keep_the_trace_header() -> None:
    one = keep_trace_header("sqs", _request("AmazonSQS.SendMessage", {"MessageBody": "m"}))
    attributes = json.loads(one.body)["MessageSystemAttributes"]
    assert attributes["AWSTraceHeader"]["StringValue"] == "Root=1-a;Lineage=x"
    batch = keep_trace_header(
        "sqs",
        _request(
            "AmazonSQS.SendMessageBatch",
            {
                "Entries": [
                    {"Id": "1"},
                    {
                        "Id": "2",
                        "MessageSystemAttributes": {"AWSTraceHeader": {"StringValue": "own"}},
                    },
                ]
            },
        ),
    )
    entries = json.loads(batch.body)["Entries"]
    assert entries[0]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"].startswith("Root")
    assert entries[1]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"] == "own"
    untouched = _request("AmazonSQS.SendMessage", {"MessageBody": "m"}, trace=None)
    assert keep_trace_header("sqs", untouched) is untouched
    other = _request("AmazonSQS.SendMessage", {"MessageBody": "m"})
    assert keep_trace_header("sns", other) is other


def test_a_long_poll_becomes_short_polls_until_a_message() -> None:
    seen: list[dict[str, object]] = []

    async def call(request: WireRequest) -> WireResponse:
        seen.append(json.loads(request.body))
        messages = [{"MessageId": "1"}] if len(seen) >= 3 else []
        return WireResponse(200, [], json.dumps({"Messages": messages}).encode())

    request = _request("AmazonSQS.ReceiveMessage", {"QueueUrl": "q", "WaitTimeSeconds": 5})
    response = asyncio.run(sqs_long_poll.receive(request, call))
    assert json.loads(response.body)["Messages"] == [{"MessageId": "1"}]
    assert len(seen) == 3 and all(body["WaitTimeSeconds"] == 0 for body in seen)


def test_a_long_poll_answers_empty_at_once_when_the_server_stops() -> None:
    async def call(request: WireRequest) -> WireResponse:
        return WireResponse(200, [], json.dumps({}).encode())

    async def run() -> float:
        stop = asyncio.Event()
        request = _request("AmazonSQS.ReceiveMessage", {"QueueUrl": "q", "WaitTimeSeconds": 20})
        started = time.monotonic()
        waiting = asyncio.ensure_future(sqs_long_poll.receive(request, call, stop))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # still waiting for a message
        stop.set()
        response = await waiting
        assert response.status == 200 and "Messages" not in json.loads(response.body)
        return time.monotonic() - started

    assert asyncio.run(run()) < 1.0  # not the 20 s the poll asked for
