"""The schedule loop with a driven clock: fires on time, in AWS's shapes, coalesces what a
restart missed into one fire, never fires a time twice across a restart."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.arns import FunctionRef
from hearth.services.schedule_jobs import Job, LambdaTarget, MemoryJobs
from hearth.services.schedule_runner import FileFireTimes, MemoryFireTimes, ScheduleRunner

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
FN = "arn:aws:lambda:us-east-1:123456789012:function:tick"
RULE = "arn:aws:events:us-east-1:123456789012:rule/every-minute"
SCHEDULE = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/once"


def rule(expression: str = "rate(1 minute)", **extra: Any) -> Job:
    return Job(
        key=RULE,
        kind="rule",
        expression=expression,
        anchor=T0,
        targets=(LambdaTarget(FN, {"Id": "1", "Arn": FN}),),
        account="123456789012",
        region="us-east-1",
        name="every-minute",
        **extra,
    )


class Harness:
    def __init__(self, jobs: list[Job], times: Any = None, allowed: bool = True) -> None:
        self.fired: list[tuple[str, Any]] = []
        self.jobs = MemoryJobs(jobs)
        self.times = times or MemoryFireTimes()
        self.allowed = allowed
        self.runner = self.restart()

    def restart(self) -> ScheduleRunner:
        async def fire(arn: str, payload: bytes) -> None:
            self.fired.append((arn, json.loads(payload)))

        def may_invoke(ref: FunctionRef, service: str, source: str, account: str) -> bool:
            return self.allowed and service == "events.amazonaws.com" and source == RULE

        self.runner = ScheduleRunner(self.jobs, fire, self.times, may_invoke)
        return self.runner

    def tick(self, at: float) -> float:
        return asyncio.run(self.runner.tick(at))


def test_rate_fires_each_period_with_the_scheduled_event_shape() -> None:
    h = Harness([rule()])
    assert h.tick(T0 + 59.9) == T0 + 60
    assert h.fired == []
    h.tick(T0 + 60.0)
    assert len(h.fired) == 1
    arn, event = h.fired[0]
    assert arn == FN
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == [RULE]
    assert event["time"] == "2026-01-01T00:01:00Z"
    assert event["detail"] == {}
    assert event["version"] == "0"
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    h.tick(T0 + 60.5)
    assert len(h.fired) == 1  # not twice for one time
    h.tick(T0 + 120.0)
    assert len(h.fired) == 2


def test_a_targets_input_replaces_the_event() -> None:
    job = rule()
    job = Job(**{**job.__dict__, "targets": (LambdaTarget(FN, {"Input": '{"k": 1}'}),)})
    h = Harness([job])
    h.tick(T0 + 60)
    assert h.fired == [(FN, {"k": 1})]


def test_cron_fires_at_its_minute() -> None:
    h = Harness([rule("cron(0/15 * * * ? *)")])
    assert h.tick(T0 + 1) == T0 + 15 * 60
    h.tick(T0 + 15 * 60 + 0.2)
    assert [e["time"] for _, e in h.fired] == ["2026-01-01T00:15:00Z"]


def test_a_restart_fires_a_missed_time_once_and_a_fired_time_never(tmp_path: Path) -> None:
    times = FileFireTimes(tmp_path / "schedules.json")
    h = Harness([rule()], times)
    h.tick(T0 + 60)
    assert len(h.fired) == 1
    # Down from 00:01:30 to 00:05:30: four fire times missed, one late fire after the restart.
    h.restart()
    h.tick(T0 + 330)
    assert [e["time"] for _, e in h.fired] == ["2026-01-01T00:01:00Z", "2026-01-01T00:05:00Z"]
    h.restart()
    h.tick(T0 + 331)
    assert len(h.fired) == 2  # restarted again at once: nothing is due
    h.restart()
    h.tick(T0 + 360)
    assert len(h.fired) == 3


def test_a_missed_fire_older_than_a_day_is_dropped() -> None:
    h = Harness([rule("cron(0 0 1 1 ? *)")])  # New Year only
    h.tick(T0 - 10)
    h.tick(T0 + 2 * 86400)
    assert h.fired == []


def test_disabled_rules_do_not_fire_nor_catch_up() -> None:
    h = Harness([rule(enabled=False)])
    h.tick(T0 + 60)
    h.tick(T0 + 300)
    assert h.fired == []
    h.jobs.jobs = [rule()]
    h.tick(T0 + 301)
    assert h.fired == []
    h.tick(T0 + 360)
    assert len(h.fired) == 1


def test_without_permission_nothing_is_delivered() -> None:
    h = Harness([rule()], allowed=False)
    h.tick(T0 + 60)
    assert h.fired == []


def scheduled(expression: str, **extra: Any) -> Job:
    fields: dict[str, Any] = {
        "key": SCHEDULE,
        "kind": "schedule",
        "expression": expression,
        "anchor": T0,
        "targets": (LambdaTarget(FN, {"Input": '{"hello": "scheduler"}'}),),
        "account": "123456789012",
        "region": "us-east-1",
        "name": "once",
    }
    fields.update(extra)
    return Job(**fields)


def test_scheduler_at_passes_input_verbatim_and_deletes_after_completion() -> None:
    h = Harness([scheduled("at(2026-01-01T00:00:05)", delete_after=True)])
    assert h.tick(T0 + 1) == T0 + 5
    h.tick(T0 + 5)
    assert h.fired == [(FN, {"hello": "scheduler"})]
    assert h.jobs.jobs == []
    h.tick(T0 + 100)
    assert len(h.fired) == 1


def test_scheduler_at_in_a_time_zone() -> None:
    # 01:00:05 in Berlin (CET, UTC+1) is 00:00:05 UTC
    h = Harness([scheduled("at(2026-01-01T01:00:05)", timezone="Europe/Berlin")])
    h.tick(T0 + 4.9)
    assert h.fired == []
    h.tick(T0 + 5)
    assert len(h.fired) == 1


def test_scheduler_flexible_window_delays_within_it() -> None:
    h = Harness([scheduled("rate(1 hour)", flexible_minutes=10)])
    wake = h.tick(T0 + 1)
    assert T0 + 3600 <= wake <= T0 + 3600 + 600
    h.tick(T0 + 3600)
    assert h.fired == [] or wake == T0 + 3600
    h.tick(wake)
    assert len(h.fired) == 1
    h.restart()
    h.tick(wake + 1)
    assert len(h.fired) == 1  # the same delay after a restart: not fired again


def test_scheduler_end_date_stops_it() -> None:
    h = Harness([scheduled("rate(1 minute)", end=T0 + 90)])
    h.tick(T0 + 60)
    h.tick(T0 + 120)
    assert len(h.fired) == 1


def test_deleted_jobs_are_forgotten() -> None:
    times = MemoryFireTimes()
    h = Harness([rule()], times)
    h.tick(T0 + 60)
    assert RULE in times.times
    h.jobs.jobs = []
    h.tick(T0 + 61)
    assert RULE not in times.times


def test_a_cron_that_never_matches_costs_one_search_not_one_per_pass() -> None:
    h = Harness([rule("cron(* * 31 2,4,6,9,11 ? *)")])  # no such day: never fires

    async def passes() -> tuple[float, float]:
        began = time.perf_counter()
        await h.runner.tick(T0 + 1)  # the one search, to 2199
        first = time.perf_counter() - began
        began = time.perf_counter()
        for second in range(2, 102):
            assert await h.runner.tick(T0 + second) == float("inf")
        return first, (time.perf_counter() - began) / 100

    first, each = asyncio.run(passes())
    assert each < first / 5, (first, each)
    assert h.fired == []
