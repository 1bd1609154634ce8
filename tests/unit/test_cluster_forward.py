"""Forwarding's pure parts: whom a node asks first, and what crosses the wire."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from hearth.arns import FunctionRef
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
from hearth.errors import LambdaError, function_not_found, too_many_requests
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


class ScriptedNodes:
    """Rpc's caller surface: each node answers what the script says (a reply, None for
    nobody listening, or NodeLost to raise), and the order asked is recorded."""

    node = "node-me"

    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.asked: list[str] = []

    def peers(self) -> list[dict[str, Any]]:
        return [{"node": name} for name in self.script]

    async def call(self, node: str, topic: str, message: Any, timeout: float) -> Any:
        self.asked.append(node)
        answer = self.script[node]
        if isinstance(answer, NodeLost):
            raise answer
        return answer


def error_reply(error: LambdaError) -> tuple[bytes, bytes]:
    return json.dumps({"error": error_to_json(error)}).encode(), b""


THROTTLE = too_many_requests("ConcurrentInvocationLimitExceeded", 1)
RESULT = InvokeResult(b'"ran"', "$LATEST", None, "")


def forward_with(script: dict[str, Any]) -> tuple[ScriptedNodes, Any]:
    nodes = ScriptedNodes(script)
    forwarding = InvokeForwarding(nodes, None, None)  # type: ignore[arg-type]

    async def go() -> Any:
        return await forwarding.invoke(
            FunctionRef("f"),
            b"{}",
            client_context=None,
            request_id=None,
            trace_header=None,
            timeout_seconds=3,
            throttle=THROTTLE,
        )

    try:
        return nodes, asyncio.run(go())
    except LambdaError as error:
        return nodes, error


def test_a_full_node_or_one_not_caught_up_or_gone_is_passed_over() -> None:
    for first in (error_reply(THROTTLE), error_reply(function_not_found("arn")), None):
        nodes, answer = forward_with({"a": first, "b": result_message(RESULT)})
        if nodes.asked[0] == "a":
            assert answer == RESULT and nodes.asked == ["a", "b"]
        else:
            assert answer == RESULT and nodes.asked == ["b"]


def test_when_every_node_is_full_the_callers_throttle_is_raised() -> None:
    nodes, answer = forward_with({"a": error_reply(THROTTLE), "b": None})
    assert answer is THROTTLE and sorted(nodes.asked) == ["a", "b"]
    assert forward_with({})[1] is THROTTLE  # alone in the cluster


def test_an_error_of_the_call_itself_or_a_lost_node_stops_there() -> None:
    failed = LambdaError("InvalidRuntimeException", 502, "no", error_type="User")
    for first, code in (
        (error_reply(failed), "InvalidRuntimeException"),
        (NodeLost("a", "left the cluster"), "ServiceException"),
    ):
        nodes = ScriptedNodes({"a": first})
        forwarding: Any = InvokeForwarding(nodes, None, None)  # type: ignore[arg-type]
        nodes.script["b"] = result_message(RESULT)
        forwarding._order = lambda function: ["a", "b"]  # "a" first, whatever the shuffle
        with pytest.raises(LambdaError) as raised:
            asyncio.run(
                forwarding.invoke(
                    FunctionRef("f"),
                    b"{}",
                    client_context=None,
                    request_id=None,
                    trace_header=None,
                    timeout_seconds=3,
                    throttle=THROTTLE,
                )
            )
        assert raised.value.code == code and nodes.asked == ["a"]
