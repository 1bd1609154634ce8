"""Response streaming against a real `hearth serve`: a custom runtime in the Runtime API's
streaming mode, read through boto3's InvokeWithResponseStream and a RESPONSE_STREAM URL."""

from __future__ import annotations

import http.client
import json
import shutil
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import create_function, make_zip
from tests.integration.test_functions import error_of
from tests.integration.test_invoke_provided import bootstrap_zip

# Speaks the streaming mode by hand: a chunked POST, with the error in trailers.
STREAMING_BOOTSTRAP = r"""#!/usr/bin/env python3
import base64, json, os, socket, time, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = api.rsplit(":", 1)
while True:
    with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    if "rawPath" in event:  # called through a function URL: the query says what to do
        q = event.get("queryStringParameters") or {}
        event = {"pieces": q["pieces"].split("|") if q.get("pieces") else [],
                 "pause": float(q.get("pause", 0)), "fail": "fail" in q,
                 "content_type": q.get("ct", "text/plain")}
    s = socket.create_connection((host, int(port)))
    content_type = event.get("content_type", "text/plain")
    s.sendall((f"POST /2018-06-01/runtime/invocation/{rid}/response HTTP/1.1\r\nHost: {api}\r\n"
               "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
               f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
               "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
               "\r\n").encode())
    for i, piece in enumerate(event.get("pieces", [])):
        if i:
            time.sleep(event.get("pause", 0))
        data = piece.encode("latin-1")
        s.sendall(b"%x\r\n%s\r\n" % (len(data), data))
    trailer = b""
    if event.get("fail"):
        body = base64.b64encode(json.dumps({"errorType": "StreamError", "errorMessage": "it broke"}).encode())
        trailer = b"Lambda-Runtime-Function-Error-Type: StreamError\r\nLambda-Runtime-Function-Error-Body: " + body + b"\r\n"
    s.sendall(b"0\r\n" + trailer + b"\r\n")
    answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 202"), answer
    s.close()
"""


@pytest.fixture
def streamer(client: Any, fn_name: str) -> str:
    create_function(
        client,
        fn_name,
        bootstrap_zip(STREAMING_BOOTSTRAP),
        Runtime="provided.al2023",
        Handler="x",
        Timeout=10,
    )
    return fn_name


def stream(client: Any, name: str, event: Any, **kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """The events of an InvokeWithResponseStream, each with the time it arrived."""
    response = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(event), **kwargs
    )
    events = [(time.monotonic(), e) for e in response["EventStream"]]
    return events, response


def test_chunks_arrive_as_written(client: Any, streamer: str) -> None:
    stream(client, streamer, {"pieces": ["warm"]})  # a cold start is not what is measured
    started = time.monotonic()
    events, response = stream(client, streamer, {"pieces": ["first ", "second"], "pause": 0.8})
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    chunks = [e["PayloadChunk"]["Payload"] for _, e in events if "PayloadChunk" in e]
    assert b"".join(chunks) == b"first second"
    assert events[-1][1] == {"InvokeComplete": {}}
    first_at = next(t for t, e in events if "PayloadChunk" in e)
    assert first_at - started < 0.5 and events[-1][0] - first_at > 0.6


def test_error_trailers_end_the_stream(client: Any, streamer: str) -> None:
    events, _ = stream(client, streamer, {"pieces": ["partial"], "fail": True}, LogType="Tail")
    assert events[0][1]["PayloadChunk"]["Payload"] == b"partial"
    complete = events[-1][1]["InvokeComplete"]
    assert (complete["ErrorCode"], complete["ErrorDetails"]) == ("StreamError", "it broke")
    assert complete["LogResult"]


def test_a_buffered_function_streams_as_one_chunk(client: Any, fn_name: str) -> None:
    create_function(client, fn_name)
    events, _ = stream(client, fn_name, {"a": 1})
    assert [e for _, e in events] == [
        {"PayloadChunk": {"Payload": b'{"a": 1}'}},
        {"InvokeComplete": {}},
    ]
    # A second function, not new code for this one: the shared server's code store is
    # checked elsewhere for blobs no function references.
    code = make_zip({"app.py": "def handler(e, c):\n    raise KeyError('k')\n"})
    create_function(client, f"{fn_name}-raises", code)
    events, _ = stream(client, f"{fn_name}-raises", {})
    assert events[-1][1]["InvokeComplete"]["ErrorCode"] == "KeyError"


def test_errors_before_the_stream_are_api_errors(client: Any, raw_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.invoke_with_response_stream(FunctionName="no-such-fn", Payload=b"{}")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        raw_client.invoke_with_response_stream(FunctionName="no-such-fn", Payload=b"{nope")
    assert error_of(exc)[:2] == ("InvalidRequestContentException", 400)
    with pytest.raises(ClientError) as exc:
        raw_client.invoke_with_response_stream(
            FunctionName="no-such-fn", Payload=b"{}", InvocationType="Event"
        )
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


def test_plain_invoke_of_a_streaming_function_buffers(client: Any, streamer: str) -> None:
    result = client.invoke(FunctionName=streamer, Payload=json.dumps({"pieces": ["a", "b"]}))
    assert result["Payload"].read() == b"ab"


@pytest.fixture
def stream_url(client: Any, streamer: str) -> str:
    url: str = client.create_function_url_config(
        FunctionName=streamer, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )["FunctionUrl"]
    client.add_permission(
        FunctionName=streamer,
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    return url


def get(url: str, query: dict[str, str]) -> tuple[http.client.HTTPResponse, list[Any]]:
    """The response and its body pieces as read, each with the time it arrived."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    connection.request("GET", "/?" + urlencode(query), headers={"Host": parts.netloc})
    response = connection.getresponse()
    pieces = []
    while chunk := response.read1():
        pieces.append((time.monotonic(), chunk))
    connection.close()
    return response, pieces


def test_response_stream_url_sends_bytes_as_they_come(stream_url: str) -> None:
    get(stream_url, {"pieces": "warm"})
    started = time.monotonic()
    response, pieces = get(stream_url, {"pieces": "first |second", "pause": "0.8"})
    assert response.status == 200 and response.headers["content-type"] == "text/plain"
    assert response.headers["transfer-encoding"] == "chunked"
    assert b"".join(p for _, p in pieces) == b"first second"
    assert pieces[0][0] - started < 0.5 and pieces[-1][0] - pieces[0][0] > 0.6


def test_http_integration_prelude_sets_status_and_headers(stream_url: str) -> None:
    prelude = json.dumps({"statusCode": 201, "headers": {"X-A": "b"}, "cookies": ["c=1"]})
    response, pieces = get(
        stream_url,
        {
            "pieces": prelude + "\x00" * 8 + "body1|body2",
            "ct": "application/vnd.awslambda.http-integration-response",
        },
    )
    assert response.status == 201 and response.headers["x-a"] == "b"
    assert response.headers["set-cookie"] == "c=1"
    assert response.headers["content-type"] == "application/octet-stream"
    assert b"".join(p for _, p in pieces) == b"body1body2"


def test_stream_failing_before_any_byte_is_502(stream_url: str) -> None:
    response, pieces = get(stream_url, {"fail": "1"})
    assert response.status == 502 and b"".join(p for _, p in pieces) == b"Internal Server Error"


# Node.js: awslambda.streamifyResponse and HttpResponseStream.from -----------------------

NODE_STREAMER = """
const { setTimeout: sleep } = require('node:timers/promises');
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const query = event.queryStringParameters || event;
  if (query.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 418, headers: { 'content-type': 'text/html', 'x-fn': context.functionName },
    });
  } else {
    responseStream.setContentType('text/plain');
  }
  responseStream.write('first ');
  await sleep(Number(query.pause || 0));
  if (query.fail) throw new TypeError('late failure');
  responseStream.write('second');
  responseStream.end();
});
"""

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture
def node_streamer(client: Any, fn_name: str) -> str:
    code = make_zip({"index.js": NODE_STREAMER})
    create_function(client, fn_name, code, Runtime="nodejs20.x", Handler="index.handler")
    return fn_name


@needs_node
def test_node_streamify_response(client: Any, node_streamer: str) -> None:
    stream(client, node_streamer, {})
    started = time.monotonic()
    events, _ = stream(client, node_streamer, {"pause": 800})
    chunks = [(t, e["PayloadChunk"]["Payload"]) for t, e in events if "PayloadChunk" in e]
    assert b"".join(c for _, c in chunks) == b"first second"
    assert chunks[0][0] - started < 0.5 and events[-1][0] - chunks[0][0] > 0.6
    assert events[-1][1] == {"InvokeComplete": {}}
    events, _ = stream(client, node_streamer, {"fail": 1})
    assert events[0][1]["PayloadChunk"]["Payload"] == b"first "
    complete = events[-1][1]["InvokeComplete"]
    assert (complete["ErrorCode"], complete["ErrorDetails"]) == ("TypeError", "late failure")


@needs_node
def test_node_http_response_stream_through_a_url(client: Any, node_streamer: str) -> None:
    url = client.create_function_url_config(
        FunctionName=node_streamer, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )["FunctionUrl"]
    client.add_permission(
        FunctionName=node_streamer,
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    get(url, {})
    started = time.monotonic()
    response, pieces = get(url, {"http": "1", "pause": "800"})
    assert response.status == 418 and response.headers["content-type"] == "text/html"
    assert response.headers["x-fn"] == node_streamer
    assert b"".join(p for _, p in pieces) == b"first second"
    assert pieces[0][0] - started < 0.5 and pieces[-1][0] - pieces[0][0] > 0.6


def test_a_client_leaving_mid_stream_leaves_the_function_working(stream_url: str) -> None:
    parts = urlsplit(stream_url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    query = urlencode({"pieces": "first |second", "pause": "0.5"})
    connection.request("GET", "/?" + query, headers={"Host": parts.netloc})
    response = connection.getresponse()
    assert response.read1() == b"first "
    connection.close()  # gone before the function finishes
    response, pieces = get(stream_url, {"pieces": "again|and again"})
    assert response.status == 200 and b"".join(p for _, p in pieces) == b"againand again"
