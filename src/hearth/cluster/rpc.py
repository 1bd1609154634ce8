"""Request/reply between nodes over core NATS, for messages larger than NATS takes.

A call and its reply are each a (head, body) pair: `head` is a small JSON document, `body`
bytes of any size (an invoke's 6 MB payload, a page of log events). They travel as parts of
at most the server's max_payload (1 MB unless configured) less room for headers: part 0 is
the head, the body follows, each part marked `index/count`, all published in order to one
subject, which NATS delivers in order (one connection's messages to one subscriber), and
joined at the other end. Each node serves on `hearth.<topic>.<node>`, so a caller addresses
one node and learns at once when nobody listens there.

What a caller sees:
- nobody listens on the node's subject (it died: NATS drops a dead connection's interest at
  once): `None`, from NATS's "no responders" (503); the call never reached the node; also
  `None` when the call could not be sent whole (a node acts only on a whole call);
- the node leaves the membership (3.5 s after it stopped) or the timeout passes before the
  reply is complete: NodeLost, naming the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeout

from hearth.cluster.keys import segment
from hearth.cluster.link import NatsLink, NatsUnavailable
from hearth.cluster.members import Membership

logger = logging.getLogger("hearth.cluster")

PART = "Hearth-Part"  # "index/count" of a message's part of its call or reply
# Room left in each message for its headers (NATS counts them in max_payload).
HEADROOM_BYTES = 1024
# How often a caller waiting for a reply checks that the node answering is alive.
LIVENESS_POLL_SECONDS = 0.25
# A call whose parts stop arriving (its caller died mid-send) is dropped after this long.
PARTIAL_TTL_SECONDS = 60.0
# At most this many parts per message: 100 parts of at least 64 KB hold more than 6 MB.
MAX_PARTS = 128
MIN_PART_BYTES = 64 * 1024
NO_RESPONDERS = "503"

Message = tuple[bytes, bytes]  # (head, body)
Handler = Callable[[bytes, bytes], Awaitable[Message]]


class NodeLost(Exception):
    """The node asked stopped answering before its reply was complete."""

    def __init__(self, node: str, why: str) -> None:
        super().__init__(f"Hearth node {node} {why}")
        self.node = node
        self.why = why


def subject(topic: str, node: str) -> str:
    return f"hearth.{topic}.{segment(node)}"


def split(message: Message, size: int) -> list[bytes]:
    head, body = message
    return [head, *(body[i : i + size] for i in range(0, len(body), size))]


def part_of(msg: Msg) -> tuple[int, int] | None:
    """(index, count) from a message's header, or None if it has none that makes sense."""
    raw = (msg.headers or {}).get(PART, "")
    index, _, count = raw.partition("/")
    if not (index.isdigit() and count.isdigit()):
        return None
    i, n = int(index), int(count)
    return (i, n) if 0 <= i < n <= MAX_PARTS else None


class Rpc:
    def __init__(self, link: NatsLink, members: Membership) -> None:
        self._link = link
        self._members = members
        # Calls whose parts are still arriving, by reply subject: (first seen, parts).
        self._partial: dict[str, tuple[float, list[bytes]]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._subscriptions: list[Subscription] = []

    @property
    def node(self) -> str:
        return self._members.node

    def others(self) -> list[str]:
        """The other live nodes, by name."""
        return [r["node"] for r in self.peers()]

    def peers(self) -> list[dict[str, Any]]:
        """The other live nodes' membership records (with their heartbeat's hints)."""
        return [r for r in self._members.alive() if r["node"] != self._members.node]

    def alive(self, node: str) -> bool:
        return any(record["node"] == node for record in self._members.alive())

    def _part_size(self) -> int:
        return max(MIN_PART_BYTES, self._link.nc.max_payload - HEADROOM_BYTES)

    # Serving ----------------------------------------------------------------------------
    def serve(self, topic: str, handler: Handler) -> None:
        """Answer calls on `topic` addressed to this node with `handler` (run as a task on
        the NATS loop, one per call)."""

        async def on_part(msg: Msg) -> None:
            self._collect(msg, handler)

        async def subscribe() -> Subscription:
            return await self._link.nc.subscribe(subject(topic, self.node), cb=on_part)

        self._subscriptions.append(self._link.run(subscribe()))

    def close(self) -> None:
        """Stop serving: from now on callers are told nobody listens here."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            try:
                self._link.run(subscription.unsubscribe(), timeout=2)
            except Exception as exc:
                logger.debug("cluster: unsubscribing failed: %s", exc)

    def _collect(self, msg: Msg, handler: Handler) -> None:
        where = part_of(msg)
        if where is None or not msg.reply:
            return  # not a call of ours: nobody to answer
        index, count = where
        now = time.monotonic()
        if index == 0:
            for reply in [
                r for r, (t, _) in self._partial.items() if now - t > PARTIAL_TTL_SECONDS
            ]:
                del self._partial[reply]
            self._partial[msg.reply] = (now, [])
        started = self._partial.get(msg.reply)
        if started is None or len(started[1]) != index:
            self._partial.pop(msg.reply, None)  # a part lost or out of order: drop the call
            return
        started[1].append(msg.data)
        if len(started[1]) < count:
            return
        del self._partial[msg.reply]
        received = started[1]
        task = asyncio.get_running_loop().create_task(
            self._answer(msg.reply, handler, received[0], b"".join(received[1:]))
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(self, reply: str, handler: Handler, head: bytes, body: bytes) -> None:
        try:
            answer = await handler(head, body)
        except Exception:
            logger.exception("cluster: a call from another node failed")
            return  # the caller times out or sees this node gone
        await self._send(reply, None, answer)

    async def _send(self, to: str, reply: str | None, message: Message) -> None:
        nc = self._link.nc
        parts = split(message, self._part_size())
        for index, part in enumerate(parts):
            await nc.publish(to, part, reply=reply or "", headers={PART: f"{index}/{len(parts)}"})

    # Calling ----------------------------------------------------------------------------
    async def ask(self, node: str, topic: str, message: Message, timeout: float) -> Message | None:
        """`node`'s reply (on the NATS loop), or None when nobody listens there. Raises
        NodeLost when the node leaves, or the timeout passes, before the reply is in."""
        nc = self._link.nc
        inbox = nc.new_inbox()
        try:
            subscription = await nc.subscribe(inbox)
            await self._send(subject(topic, node), inbox, message)
        except Exception as exc:
            # Not every part left (NATS is unreachable): the node cannot act on a call it did
            # not get whole, so this is "nobody there", not a lost call.
            logger.warning("cluster: could not send a call to %s: %s", node, exc)
            return None
        try:
            return await self._reply(node, subscription, timeout)
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone: nothing to undo
                await subscription.unsubscribe()

    async def call(self, node: str, topic: str, message: Message, timeout: float) -> Message | None:
        """`ask`, from another event loop (Hearth's)."""
        return await self._link.call(self.ask(node, topic, message, timeout))

    async def _reply(self, node: str, subscription: Subscription, timeout: float) -> Message | None:
        deadline = time.monotonic() + timeout
        received: list[bytes] = []
        while True:
            try:
                msg = await subscription.next_msg(timeout=LIVENESS_POLL_SECONDS)
            except NatsTimeout:
                pass
            except Exception as exc:  # the connection to NATS went: the reply cannot come
                raise NodeLost(node, f"could not be heard ({exc or type(exc).__name__})") from exc
            else:
                if (msg.headers or {}).get("Status") == NO_RESPONDERS:
                    return None
                where = part_of(msg)
                if where is None or where[0] != len(received):
                    raise NodeLost(node, "sent a malformed reply")
                received.append(msg.data)
                if len(received) == where[1]:
                    return received[0], b"".join(received[1:])
                continue
            # No part for a while: is the node still there, and is there still time?
            if not self.alive(node):
                raise NodeLost(node, "left the cluster")
            if time.monotonic() > deadline:
                raise NodeLost(node, f"did not answer within {timeout:g} s")

    async def gather(self, topic: str, message: Message, timeout: float) -> list[Message]:
        """Every other live node's reply (on the NATS loop), asked at once. A node that has
        gone, or does not answer within `timeout`, is left out (and logged)."""

        async def one(node: str) -> Message | None:
            try:
                return await self.ask(node, topic, message, timeout)
            except NodeLost as lost:
                logger.warning("cluster: %s; answering without its part", lost)
                return None

        replies = await asyncio.gather(*(one(node) for node in self.others()))
        return [reply for reply in replies if reply is not None]

    def gather_now(self, topic: str, message: Message, timeout: float) -> list[Message]:
        """`gather`, from a synchronous caller on another thread (it blocks that thread).
        With NATS out of reach, no other node's part: the caller answers with its own, as
        when every other node is lost."""
        try:
            return self._link.run(self.gather(topic, message, timeout), timeout=timeout + 1)
        except NatsUnavailable as down:
            logger.warning("cluster: %s; answering with this node's part only", down)
            return []


def everywhere(
    rpc: Rpc,
    topic: str,
    run_here: Callable[[str, dict[str, Any]], Any],
    op: str,
    args: dict[str, Any],
    timeout: float,
) -> list[Any]:
    """A read asked of the whole cluster: this node's answer (`run_here(op, args)`), then
    every other live node's to the JSON call {"op", "args"} on `topic`, decoded."""
    call = json.dumps({"op": op, "args": args}).encode(), b""
    here = run_here(op, args)
    there = rpc.gather_now(topic, call, timeout)
    return [here, *(json.loads(body) for _, body in there)]


async def flush_on(
    loop: asyncio.AbstractEventLoop | None, flush: Callable[[], None], timeout: float
) -> None:
    """Run `flush` on `loop` (Hearth's, where log lines and figures are buffered) and wait
    for it at most `timeout` seconds, from the NATS loop: a read asked by another node sees
    what this node's environments have written so far, as a local read does. The wait is
    bounded because that loop may itself be waiting on a read from this node's peers."""
    if loop is None:
        return
    done: Future[None] = Future()

    def call() -> None:
        try:
            flush()
        except Exception as exc:
            logger.warning("cluster: flushing before a read failed: %s", exc)
        done.set_result(None)

    loop.call_soon_threadsafe(call)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.wrap_future(done), timeout)
