"""`hearth logs` pages FilterLogEvents to the end with either kind of server: one that omits
nextToken on the last page (AWS), and one that always hands a token back. A follower prints
each event once. The server is faked: this is the paging logic only (the CLI against a real
server is in tests/integration/test_first_hour.py)."""

from __future__ import annotations

from typing import Any

import pytest

from hearth.cli import client as cli_client


class FakeLogs:
    """Events e0..eN at 1 ms apart, two a page; `aws_tokens`: no token on the last page."""

    def __init__(self, count: int, *, aws_tokens: bool) -> None:
        self.events = [self._event(i) for i in range(count)]
        self.aws_tokens = aws_tokens
        self.calls: list[dict[str, Any]] = []

    @staticmethod
    def _event(i: int) -> dict[str, Any]:
        return {"eventId": f"e{i}", "timestamp": 1000 + i // 2, "message": f"line {i}"}

    def add(self) -> None:
        self.events.append(self._event(len(self.events)))

    def filter_log_events(self, **params: Any) -> dict[str, Any]:
        self.calls.append(dict(params))
        if "nextToken" in params:
            start = int(params["nextToken"])
        else:
            start = next(
                (i for i, e in enumerate(self.events) if e["timestamp"] >= params["startTime"]),
                len(self.events),
            )
        page = self.events[start : start + 2]
        end = start + len(page)
        shape: dict[str, Any] = {"events": page}
        if end < len(self.events) or not self.aws_tokens:
            shape["nextToken"] = str(end)
        return shape


@pytest.mark.parametrize("aws_tokens", [True, False])
def test_paging_ends_with_every_event_once(aws_tokens: bool) -> None:
    logs = FakeLogs(5, aws_tokens=aws_tokens)
    events = list(cli_client._log_events(logs, "/aws/lambda/fn", 0, follow=False))
    assert [e["eventId"] for e in events] == ["e0", "e1", "e2", "e3", "e4"]


@pytest.mark.parametrize("aws_tokens", [True, False])
def test_a_follower_prints_new_events_once(
    aws_tokens: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = FakeLogs(3, aws_tokens=aws_tokens)
    sleeps = 0

    def sleep(_: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps == 1:
            logs.add()  # e3: same millisecond as e2
            logs.add()  # e4
        if sleeps == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr("hearth.cli.client.time.sleep", sleep)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for event in cli_client._log_events(logs, "/aws/lambda/fn", 0, follow=True):
            seen.append(event["eventId"])
    assert seen == ["e0", "e1", "e2", "e3", "e4"]
