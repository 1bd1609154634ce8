"""Forwarding's pure parts: whom a node asks first, and what crosses the wire."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hearth.cluster.forward import (
    WARM_HINT,
    InvokeForwarding,
    decode_reply,
    error_from_json,
    error_to_json,
    node_lost,
    result_message,
)
from hearth.cluster.rpc import NodeLost
from hearth.errors import too_many_requests
from hearth.invoke.types import InvokeResult


class Peers:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def peers(self) -> list[dict[str, Any]]:
        return self.records


def test_nodes_with_a_warm_environment_are_asked_first() -> None:
    peers = Peers(
        [
            {"node": "cold-1"},
            {"node": "warm-1", WARM_HINT: ["f", "g"]},
            {"node": "other", WARM_HINT: ["g"]},
            {"node": "warm-2", WARM_HINT: ["f"]},
        ]
    )
    forwarding: Any = InvokeForwarding(peers, None, None)  # type: ignore[arg-type]
    seen_first = set()
    for _ in range(50):
        order = forwarding._order("f")
        assert sorted(order[:2]) == ["warm-1", "warm-2"]
        assert sorted(order[2:]) == ["cold-1", "other"]
        seen_first.add(order[0])
    assert seen_first == {"warm-1", "warm-2"}  # spread, not always the same node


def test_a_result_and_an_error_cross_unchanged() -> None:
    result = InvokeResult(b"\x00payload" * 3, "7", "Unhandled", "line\nwith \u00e9")
    assert decode_reply("n", result_message(result)) == result
    throttle = too_many_requests("ReservedFunctionConcurrentInvocationLimitExceeded", 1)
    back = error_from_json(json.loads(json.dumps(error_to_json(throttle))))
    assert (back.code, back.status, back.message, back.error_type, back.extra, back.headers) == (
        throttle.code,
        throttle.status,
        throttle.message,
        throttle.error_type,
        throttle.extra,
        throttle.headers,
    )


def test_a_malformed_reply_is_a_service_exception() -> None:
    for head in (b"not json", b"{}", b'{"result": {}}', b"[]"):
        answer = decode_reply("node-x", (head, b""))
        assert not isinstance(answer, InvokeResult)
        assert (answer.code, answer.status) == ("ServiceException", 500)
        assert "node-x" in answer.message


def test_a_lost_node_is_named() -> None:
    error = node_lost(NodeLost("node-1", "left the cluster"))
    assert (error.code, error.status, error.error_type) == ("ServiceException", 500, "Service")
    assert "node-1, which left the cluster before it answered" in error.message


def test_a_malformed_call_from_another_node_is_answered_with_a_service_exception() -> None:
    class Named:
        node = "node-me"

    forwarding: Any = InvokeForwarding(Named(), None, None)  # type: ignore[arg-type]
    for head in (b"not json", b"{}", b'{"qualifier": "1"}', b"[1]"):
        answer, body = asyncio.run(forwarding._serve(head, b"payload"))
        error = json.loads(answer)["error"]
        assert (error["code"], error["status"], body) == ("ServiceException", 500, b"")
        assert "node-me could not run the call" in error["message"]
