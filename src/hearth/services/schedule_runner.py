"""The loop that fires schedules: rules' `rate` / `cron` and Scheduler's schedules, as async
invokes through Hearth's durable queue.

Each pass reads the jobs (`Jobs`), and for each one finds the latest fire time that is due
since its last fire (`schedules.latest_due`): missed fires (a restart, a stall) coalesce into
one late fire, never a burst, and fires older than `catch_up_seconds` (24 hours: the default
maximum event age of EventBridge and Scheduler) are dropped. The last fire time of every job
is kept in a file in the data dir (`FireTimes`), written after the fire is in the queue: a
restart fires a missed time once and a fired one never again. (A crash in the microseconds
between the queue's write and this file's can fire that one time twice: at least once, as
AWS's own schedules promise.)

The clock is passed in (`tick(now)`), so tests drive it without sleeping; `run` sleeps until
the earliest next fire, at most `refresh_seconds` (rules created meanwhile are seen then).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hearth.arns import parse_function_ref
from hearth.events.schedules import InvalidScheduleError, Schedule, latest_due, parse, zone_named
from hearth.services.eventbridge_events import eventbridge_event, target_input
from hearth.services.s3_permissions import MayInvoke
from hearth.services.schedule_jobs import Fire, Job, Jobs, schedule_payload

logger = logging.getLogger("hearth.services")

CATCH_UP_SECONDS = 86400.0
REFRESH_SECONDS = 1.0


class FireTimes(Protocol):
    """The last fire time (epoch seconds, the nominal time) per job. `save` is durable on
    return."""

    def load(self) -> dict[str, float]: ...

    def save(self, times: dict[str, float]) -> None: ...


class FileFireTimes:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> dict[str, float]:
        try:
            saved = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            logger.exception("schedule fire times unreadable at %s; starting afresh", self._path)
            return {}
        return {str(k): float(v) for k, v in saved.get("last_fired", {}).items()}

    def save(self, times: dict[str, float]) -> None:
        tmp = self._path.with_suffix(".tmp")
        with tmp.open("w") as file:
            json.dump({"format": 1, "last_fired": times}, file)
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(self._path)


class MemoryFireTimes:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def load(self) -> dict[str, float]:
        return dict(self.times)

    def save(self, times: dict[str, float]) -> None:
        self.times = dict(times)


def flexible_delay(job: Job, nominal: float) -> float:
    """A FLEXIBLE window's random delay, drawn from the job and the fire time: the same after
    a restart, so a pending fire is not re-drawn (and not fired twice)."""
    if job.flexible_minutes <= 0:
        return 0.0
    return random.Random(f"{job.key}|{nominal}").uniform(0, job.flexible_minutes * 60)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def scheduled_event(job: Job, fire: datetime) -> dict[str, object]:
    """AWS's Scheduled Event for a rule (spec/aws-recorded/events/test_events_schedule)."""
    return eventbridge_event(
        {
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": job.account,
            "time": fire.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": job.region,
            "resources": [job.key],
            "detail": {},
        }
    )


class ScheduleRunner:
    def __init__(
        self,
        jobs: Jobs,
        fire: Fire,
        times: FireTimes,
        may_invoke: MayInvoke,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        catch_up_seconds: float = CATCH_UP_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._jobs = jobs
        self._fire = fire
        self._store = times
        self._may_invoke = may_invoke
        self._clock = clock
        self._sleep = sleep
        self._catch_up = catch_up_seconds
        self._refresh = refresh_seconds
        self._last = times.load()
        # Per job: (its definition, its last fire, its schedule, its next nominal fire).
        self._plans: dict[str, tuple[tuple[object, ...], float, Schedule | None, float | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.fired = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            now = self._clock()
            try:
                wake = await self.tick(now)
            except Exception:
                logger.exception("schedules: a pass failed")
                wake = now + self._refresh
            await self._sleep(max(0.0, min(wake, self._clock() + self._refresh) - self._clock()))

    async def tick(self, now: float) -> float:
        """Fire what is due at `now`; the time of the next fire (infinity: none)."""
        jobs = await self._jobs.current()
        wake = math.inf
        changed = False
        for job in jobs:
            if job.key not in self._last:
                # First seen: it counts from its creation (or StartDate), not from before.
                self._last[job.key] = max(job.anchor, job.start or 0.0) if job.anchor else now
                changed = True
            if not job.enabled:
                # A disabled job does not catch up on what it missed while disabled.
                self._last[job.key] = max(self._last[job.key], now)
                continue
            schedule, following = self._plan(job)
            if schedule is None or following is None:
                continue  # refused when stored (PutRule / CreateSchedule check), or done
            if following + flexible_delay(job, following) > now:
                wake = min(wake, following + flexible_delay(job, following))
                continue
            changed = await self._fire_due(job, schedule, now) or changed
            _, following = self._plan(job)
            if following is not None:
                wake = min(wake, following + flexible_delay(job, following))
        known = {job.key for job in jobs}
        for gone in [key for key in self._last if key not in known]:
            del self._last[gone]
            self._plans.pop(gone, None)
            changed = True
        if changed:
            self._store.save(self._last)
        return wake

    def _plan(self, job: Job) -> tuple[Schedule | None, float | None]:
        """The job's schedule and its next nominal fire after its last one, kept until the
        job or its last fire changes: a pass costs a lookup per job, not a search (a cron
        that never matches, 31 FEB, would otherwise scan to 2199 every second)."""
        definition = (job.kind, job.expression, job.timezone, job.anchor, job.start, job.end)
        last = self._last[job.key]
        cached = self._plans.get(job.key)
        if cached is not None and cached[0] == definition and cached[1] == last:
            return cached[2], cached[3]
        try:
            schedule: Schedule | None = parse(
                job.expression,
                _at(job.anchor),
                zone_named(job.timezone),
                allow_at=job.kind == "schedule",
            )
        except InvalidScheduleError:
            schedule = None
        following = None
        if schedule is not None:
            found = schedule.next_after(_at(last))
            if found is not None and (job.end is None or found.timestamp() <= job.end):
                following = found.timestamp()
        self._plans[job.key] = (definition, last, schedule, following)
        return schedule, following

    async def _fire_due(self, job: Job, schedule: Schedule, now: float) -> bool:
        """Fire the latest time due since the job's last fire (missed ones coalesce into
        it); one older than the catch-up window is dropped. Whether the last fire moved."""
        since = max(self._last[job.key], now - self._catch_up)
        due = latest_due(schedule, _at(since), _at(now))
        if due is not None and job.end is not None and due.timestamp() > job.end:
            due = None
        if due is None:
            self._last[job.key] = now  # what was missed is too old to fire
            return True
        if due.timestamp() + flexible_delay(job, due.timestamp()) > now:
            return False  # its random delay is still running
        await self._deliver(job, due)
        self._last[job.key] = due.timestamp()
        self.fired += 1
        if job.delete_after and schedule.next_after(due) is None:
            await self._jobs.completed(job)
        return True

    async def _deliver(self, job: Job, due: datetime) -> None:
        if job.kind == "schedule":
            # Scheduler invokes with its execution role: no resource policy is asked for.
            for target in job.targets:
                await self._fire(target.arn, schedule_payload(target))
            return
        event = scheduled_event(job, due)
        for target in job.targets:
            function = parse_function_ref(target.arn)
            if not self._may_invoke(function, "events.amazonaws.com", job.key, job.account):
                logger.warning(
                    "rule %s may not invoke %s: no permission for events.amazonaws.com",
                    job.key,
                    target.arn,
                )
                continue
            payload = target_input(target.settings, dict(event))
            await self._fire(target.arn, json.dumps(payload).encode())
