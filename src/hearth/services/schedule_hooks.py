"""Schedule expressions checked as AWS checks them, before moto stores a rule or schedule.

moto accepts any `cron(...)` (and Scheduler's any expression at all); EventBridge refuses what
it cannot run with `ValidationException: Parameter ScheduleExpression is not valid.`
(spec/aws-recorded/events/test_events_schedule), Scheduler with `ValidationException: Invalid
Schedule Expression <expression>.`. A rule also gets the time it was created, which moto does
not keep and a `rate` counts from. Runs on moto's thread, like every hook.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from hearth.events.schedules import InvalidScheduleError, parse, zone_named


def _valid(expression: str, timezone: str | None = None, *, allow_at: bool = False) -> bool:
    try:
        parse(expression, datetime.now(UTC), zone_named(timezone), allow_at=allow_at)
    except InvalidScheduleError:
        return False
    return True


def install() -> None:
    _install_rules()
    _install_scheduler()


def _install_rules() -> None:
    from moto.events import models  # noqa: PLC0415
    from moto.events.exceptions import ValidationException  # noqa: PLC0415

    backend_class = models.EventsBackend
    original_put_rule = backend_class.put_rule

    def put_rule(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        bus = self._normalize_event_bus_arn(kwargs.get("event_bus_arn"))
        # moto answers a schedule on another bus first, as AWS does.
        if expression and bus == "default" and not _valid(expression):
            raise ValidationException("Parameter ScheduleExpression is not valid.")
        rule: Any = original_put_rule(self, name, *args, **kwargs)
        rule.hearth_created = time.time()  # pickled with the rule in the services' snapshot
        return rule

    backend_class.put_rule = put_rule  # type: ignore[method-assign]


def _install_scheduler() -> None:
    from moto.scheduler import models  # noqa: PLC0415
    from moto.scheduler.exceptions import ValidationException  # noqa: PLC0415

    backend_class = models.EventBridgeSchedulerBackend

    def checked(original: Any) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            expression = kwargs.get("schedule_expression") or ""
            timezone = kwargs.get("schedule_expression_timezone")
            try:
                zone_named(timezone)
            except InvalidScheduleError:
                raise ValidationException(f"Invalid time zone {timezone}.") from None
            if not _valid(expression, timezone, allow_at=True):
                raise ValidationException(f"Invalid Schedule Expression {expression}.")
            window = kwargs.get("flexible_time_window") or {}
            if window.get("Mode") == "FLEXIBLE" and not window.get("MaximumWindowInMinutes"):
                raise ValidationException(
                    "MaximumWindowInMinutes must be provided when Mode is FLEXIBLE."
                )
            return original(self, *args, **kwargs)

        return method

    backend_class.create_schedule = checked(backend_class.create_schedule)  # type: ignore[method-assign]
    backend_class.update_schedule = checked(backend_class.update_schedule)  # type: ignore[method-assign]
