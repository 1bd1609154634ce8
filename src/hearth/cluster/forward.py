"""Synchronous invokes across nodes: what one node has no room for runs on another.

A node runs an invoke itself whenever its own concurrency share and memory budget allow it
(the warm path touches no NATS at all); only a local throttle sends the call here. The caller
asks the other live nodes one at a time, in a random order (so the overflow spreads), over
`hearth.invoke.<node>` (cluster/rpc.py: payloads of up to 6 MB both ways, in parts); each
either runs the call or answers that it has no room either, until one runs it. Only when
every node is full does the caller get the 429, with the Reason of its own throttle.

Why a subject per node and not a queue group per function: a queue group hands a message to
one member at random whether or not it has room, and a member without room could not pass it
on; addressing the nodes one by one lets a full node say so and the caller ask the next.

When a node dies: a call sent after NATS dropped its connection finds nobody listening and
goes to the next node (it never reached the dead one, so nothing runs twice); a call it was
running fails with ServiceException naming the node, once the membership sees it gone
(3.5 s), or when the function's timeout and a margin have passed without a reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

from hearth.arns import FunctionRef
from hearth.cluster.link import NatsUnavailable
from hearth.cluster.rpc import Message, NodeLost, Rpc
from hearth.errors import ErrorCode, LambdaError, service_error
from hearth.invoke.invoker import Invoker
from hearth.invoke.types import InvokeResult

logger = logging.getLogger("hearth.cluster")

TOPIC = "invoke"
# The heartbeat's field listing the functions a node has an idle environment of.
WARM_HINT = "warm"
# A hint, not an index: past this many functions the heartbeat names only the first.
WARM_HINT_MAX = 256
# What another node may answer without having run the call, so the next node is asked.
_ASK_THE_NEXT = frozenset({ErrorCode.TOO_MANY_REQUESTS, ErrorCode.RESOURCE_NOT_FOUND})
# Beyond the function's timeout, how long a reply may take: a cold start on the other node
# (up to Lambda's 10 s init) and the transfer of 6 MB both ways.
REPLY_MARGIN_SECONDS = 15.0


def node_lost(lost: NodeLost) -> LambdaError:
    """What a caller whose call was running on a node that is gone gets: AWS's 500
    ServiceException (Lambda's error for a failure on its side, not the function's)."""
    return service_error(
        f"The invocation was running on Hearth node {lost.node}, which {lost.why} before "
        "it answered; the function may or may not have run to the end."
    )


def error_to_json(error: LambdaError) -> dict[str, Any]:
    return {
        "code": error.code,
        "status": error.status,
        "message": error.message,
        "type": error.error_type,
        "extra": error.extra,
        "headers": error.headers,
    }


def error_from_json(data: dict[str, Any]) -> LambdaError:
    return LambdaError(
        str(data["code"]),
        int(data["status"]),
        str(data["message"]),
        error_type=data.get("type"),
        extra={str(k): str(v) for k, v in dict(data.get("extra") or {}).items()},
        headers={str(k): str(v) for k, v in dict(data.get("headers") or {}).items()},
    )


def result_message(result: InvokeResult) -> Message:
    head = {
        "result": {
            "executed_version": result.executed_version,
            "function_error": result.function_error,
            "log_tail": result.log_tail,
        }
    }
    return json.dumps(head).encode(), result.payload


def decode_reply(node: str, reply: Message) -> InvokeResult | LambdaError:
    """The result or the error a node answered (a malformed answer is a ServiceException)."""
    head, body = reply
    try:
        answer = json.loads(head)
        if "error" in answer:
            return error_from_json(answer["error"])
        result = answer["result"]
        return InvokeResult(
            body,
            str(result["executed_version"]),
            result.get("function_error"),
            str(result.get("log_tail") or ""),
        )
    except (ValueError, KeyError, TypeError):
        return service_error(f"Hearth node {node} sent a malformed reply.")


class InvokeForwarding:
    """This node's side of forwarding: asks other nodes to run what it has no room for
    (`invoke`, the Invoker's overflow), and runs what other nodes ask of it (`start`)."""

    def __init__(self, rpc: Rpc, invoker: Invoker, loop: asyncio.AbstractEventLoop) -> None:
        self._rpc = rpc
        self._invoker = invoker
        # Hearth's event loop, where the invoker and its environments live.
        self._loop = loop

    def start(self) -> None:
        self._rpc.serve(TOPIC, self._serve)

    def hints(self) -> dict[str, Any]:
        """This node's part of its heartbeat: the functions it has an idle environment of."""
        return {WARM_HINT: self._invoker.pool.warm_functions()[:WARM_HINT_MAX]}

    async def invoke(
        self,
        ref: FunctionRef,
        payload: bytes,
        *,
        client_context: str | None,
        request_id: str | None,
        trace_header: str | None,
        timeout_seconds: float,
        throttle: LambdaError,
    ) -> InvokeResult:
        """Run the call on another node with room. Raises `throttle` when none has any,
        the other node's LambdaError as it raised it, or ServiceException when the node
        running it is lost before it answers."""
        head = {
            "function": ref.name,
            "qualifier": ref.qualifier,
            "client_context": client_context,
            "request_id": request_id,
            "trace_header": trace_header,
        }
        call = (json.dumps(head).encode(), payload)
        for node in self._order(ref.name):
            try:
                reply = await self._rpc.call(
                    node, TOPIC, call, timeout_seconds + REPLY_MARGIN_SECONDS
                )
            except NodeLost as lost:
                raise node_lost(lost) from None
            except NatsUnavailable as down:
                if down.may_have_taken_effect:
                    raise
                # The link is down: the call went nowhere, so this node's own throttle is
                # the answer, as when no node has room.
                raise throttle from None
            if reply is None:
                continue  # nobody listens there any more: the call never reached it
            answer = decode_reply(node, reply)
            if isinstance(answer, InvokeResult):
                return answer
            if answer.code not in _ASK_THE_NEXT:
                raise answer
            # That node is full too, or its replica has not caught up with a function this
            # node knows (created a moment ago): the call did not run there; ask the next.
        raise throttle

    def _order(self, function: str) -> list[str]:
        """Whom to ask, in turn: nodes whose last heartbeat had an idle environment of the
        function first (so warm environments anywhere are used before a cold start
        elsewhere), then the rest; each group in a random order, so the overflow spreads."""
        warm: list[str] = []
        cold: list[str] = []
        for record in self._rpc.peers():
            (warm if function in record.get(WARM_HINT, ()) else cold).append(record["node"])
        random.shuffle(warm)
        random.shuffle(cold)
        return warm + cold

    async def _serve(self, head: bytes, body: bytes) -> Message:
        """Run a call another node forwarded (on the NATS loop; the invoke itself runs on
        Hearth's loop) and answer its result or its error."""
        try:
            call = json.loads(head)
            ref = FunctionRef(str(call["function"]), call.get("qualifier"))
            # forward=False: a node asked to run a call runs it or says it has no room;
            # passing it on again could send it round the cluster.
            invocation = self._invoker.invoke(
                ref,
                body,
                client_context=call.get("client_context"),
                request_id=call.get("request_id"),
                trace_header=call.get("trace_header"),
                forward=False,
            )
            result = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(invocation, self._loop)
            )
        except LambdaError as error:
            return json.dumps({"error": error_to_json(error)}).encode(), b""
        except Exception as exc:  # a malformed call, or a bug: the caller must hear of it
            logger.exception("cluster: a forwarded invoke failed")
            failed = service_error(f"Hearth node {self._rpc.node} could not run the call: {exc}")
            return json.dumps({"error": error_to_json(failed)}).encode(), b""
        return result_message(result)
