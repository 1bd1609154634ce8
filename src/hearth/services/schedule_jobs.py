"""What fires on a schedule, read out of the embedded services: EventBridge rules with a
ScheduleExpression and EventBridge Scheduler's schedules, as plain records.

`MotoJobs` reads moto's models on moto's thread (the only place they may be touched);
`MemoryJobs` is its twin for tests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hearth.services.embedded import EmbeddedServices


@dataclass(frozen=True)
class LambdaTarget:
    arn: str
    # A rule target's Input / InputPath / InputTransformer (as EventBridge stores them), or a
    # schedule target's Input.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One rule or schedule. `key` is its ARN (rules: the rule's; schedules: the schedule's)."""

    key: str
    kind: str  # "rule" | "schedule"
    expression: str
    anchor: float  # where a rate counts from (created, or the schedule's StartDate)
    targets: tuple[LambdaTarget, ...]
    enabled: bool = True
    timezone: str | None = None
    start: float | None = None
    end: float | None = None
    flexible_minutes: int = 0  # FlexibleTimeWindow FLEXIBLE's MaximumWindowInMinutes
    delete_after: bool = False  # ActionAfterCompletion DELETE
    account: str = ""
    region: str = ""
    group: str = "default"
    name: str = ""


class Jobs(Protocol):
    """The scheduled things as they stand now. `current` is a consistent read (one pass on
    moto's thread); `completed` ends a one-time schedule whose ActionAfterCompletion is
    DELETE (it is gone from every later `current`)."""

    async def current(self) -> list[Job]: ...

    async def completed(self, job: Job) -> None: ...


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp()


def _is_lambda(arn: str) -> bool:
    return arn.split(":")[2:3] == ["lambda"]


def read_rules(backends: Any) -> list[Job]:
    """Scheduled rules with Lambda targets from moto's events backends."""
    jobs = []
    for account, regions in backends.items():
        for region, backend in regions.items():
            for bus in backend.event_buses.values():
                for rule in bus.rules.values():
                    if not rule.scheduled_expression:
                        continue
                    targets = tuple(
                        LambdaTarget(t["Arn"], dict(t))
                        for t in rule.targets
                        if _is_lambda(t["Arn"])
                    )
                    jobs.append(
                        Job(
                            key=rule.arn,
                            kind="rule",
                            expression=rule.scheduled_expression,
                            anchor=float(getattr(rule, "hearth_created", 0.0)),
                            targets=targets,
                            enabled=rule.state == "ENABLED",
                            account=account,
                            region=region,
                            name=rule.name,
                        )
                    )
    return jobs


def read_schedules(backends: Any) -> list[Job]:
    """EventBridge Scheduler's schedules whose target is a Lambda function."""
    jobs = []
    for account, regions in backends.items():
        for region, backend in regions.items():
            for group in backend.schedule_groups.values():
                for schedule in group.schedules.values():
                    target = schedule.target or {}
                    if not _is_lambda(str(target.get("Arn", ""))):
                        continue
                    window = schedule.flexible_time_window or {}
                    flexible = (
                        int(window.get("MaximumWindowInMinutes") or 0)
                        if window.get("Mode") == "FLEXIBLE"
                        else 0
                    )
                    start = _epoch(schedule.start_date)
                    jobs.append(
                        Job(
                            key=schedule.arn,
                            kind="schedule",
                            expression=schedule.schedule_expression,
                            anchor=start if start is not None else float(schedule.creation_date),
                            targets=(LambdaTarget(target["Arn"], {"Input": target.get("Input")}),),
                            enabled=schedule.state == "ENABLED",
                            timezone=schedule.schedule_expression_timezone,
                            start=start,
                            end=_epoch(schedule.end_date),
                            flexible_minutes=flexible,
                            delete_after=schedule.action_after_completion == "DELETE",
                            account=account,
                            region=region,
                            group=group.name,
                            name=schedule.name,
                        )
                    )
    return jobs


class MotoJobs:
    def __init__(self, embedded: EmbeddedServices) -> None:
        self._embedded = embedded

    async def current(self) -> list[Job]:
        return await self._embedded.run(self._read)

    def _read(self) -> list[Job]:
        # A backend no request used holds nothing (and importing it costs seconds).
        touched = self._embedded.touched
        jobs: list[Job] = []
        if "events" in touched:
            from moto.events.models import events_backends  # noqa: PLC0415

            jobs.extend(read_rules(events_backends))
        if "scheduler" in touched:
            from moto.scheduler.models import scheduler_backends  # noqa: PLC0415

            jobs.extend(read_schedules(scheduler_backends))
        return jobs

    async def completed(self, job: Job) -> None:
        def delete() -> None:
            from moto.scheduler.models import scheduler_backends  # noqa: PLC0415

            group = scheduler_backends[job.account][job.region].schedule_groups.get(job.group)
            if group is not None:
                group.schedules.pop(job.name, None)
                self._embedded.mark_changed()

        await self._embedded.run(delete)


class MemoryJobs:
    def __init__(self, jobs: list[Job] | None = None) -> None:
        self.jobs = list(jobs or [])

    async def current(self) -> list[Job]:
        return list(self.jobs)

    async def completed(self, job: Job) -> None:
        self.jobs = [j for j in self.jobs if j.key != job.key]


# (function ARN, payload as it reaches the function) → durable on return.
Fire = Callable[[str, bytes], Awaitable[None]]


def schedule_payload(target: LambdaTarget) -> bytes:
    """Scheduler passes a target's Input verbatim; with none, an empty JSON object."""
    text = target.settings.get("Input")
    return (text if isinstance(text, str) and text else json.dumps({})).encode()
