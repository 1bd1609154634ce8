"""SQS keeps the X-Ray trace header a message was sent with, as AWS's does.

An SDK inside a function sends its `_X_AMZN_TRACE_ID` as the `X-Amzn-Trace-Id` header; AWS's
SQS stores it as the message's `AWSTraceHeader` system attribute, which is how Lambda counts
the rounds of a Lambda → SQS → Lambda loop (invoke/lineage.py). The embedded SQS (moto) only
stores the attribute when it is in the request body, so this rewrites SendMessage and
SendMessageBatch (AWS JSON protocol) to carry it, unless the sender set one itself.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hearth.services.embedded import WireRequest

_TARGETS = ("AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch")


def _with_trace(entry: dict[str, Any], trace: str) -> None:
    attributes = entry.setdefault("MessageSystemAttributes", {})
    if isinstance(attributes, dict) and "AWSTraceHeader" not in attributes:
        attributes["AWSTraceHeader"] = {"DataType": "String", "StringValue": trace}


def keep_trace_header(service: str, request: WireRequest) -> WireRequest:
    trace = request.headers.get("x-amzn-trace-id")
    if service != "sqs" or not trace or request.headers.get("x-amz-target") not in _TARGETS:
        return request
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return request  # moto answers the malformed body
    if not isinstance(body, dict):
        return request
    entries = body.get("Entries") if "Entries" in body else [body]
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            _with_trace(entry, trace)
    return dataclasses.replace(request, body=json.dumps(body).encode())
