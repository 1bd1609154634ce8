"""Schedule expressions: AWS's validation, and next fire times for rate / cron / at, in UTC
and in time zones across daylight saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.events.schedules import (
    At,
    InvalidScheduleError,
    latest_due,
    parse,
    zone_named,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


ANCHOR = utc("2026-01-01T00:00:00")

# Accepted by EventBridge (spec/aws-recorded/events/test_events_schedule: PutRule answered 200).
VALID = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "cron(0 20 * * ? *)",
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0/30 20-23 ? * MON-FRI *)",
    "cron(0/30 0-2 ? * MON-FRI *)",
    "cron(0 2 ? * SAT *)",
    "cron(0 12 * * ? *)",
    "cron(5,35 14 * * ? *)",
    "cron(15 10 ? * 6L 2002-2005)",
    "cron(0 2 ? * SAT#3 *)",
    "cron(* * ? * SAT#3 *)",
    "cron(0/5 5 ? JAN 1-5 2022)",
    "cron(0 0 L * ? *)",
    "cron(0 0 15W * ? *)",
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
    "cron(*/5 * * * ? *)",
]

# Refused with "Parameter ScheduleExpression is not valid." (the first five recorded on AWS).
INVALID = [
    "cron(INVALID)",
    "cron(0 dummy ? * MON-FRI *)",
    "cron(7 20 * * NOT *)",
    "cron(71 8 1 * ? *)",
    "cron(0 1 * * * *)",  # day-of-month and day-of-week both given
    "cron(7 20 * * 1-7 *)",
    "cron(0 0 ? * ? *)",  # neither given
    "cron(0 0 * * ?)",  # five fields
    "cron(0 24 * * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 * 13 ? *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 * * ? 1969)",
    "cron(0/0 * * * ? *)",
    "cron(0,,5 * * * ? *)",
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(0 minutes)",
    "rate(-1 minutes)",
    "rate(5 seconds)",
    "rate(5  minutes)",
    "rate(minutes)",
    "at(2026-01-01T00:00:00)",  # rules take no at()
    "every 5 minutes",
    "",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_parse(expression: str) -> None:
    parse(expression, ANCHOR)


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidScheduleError):
        parse(expression, ANCHOR)


# (expression, time zone, after, the next fire time in UTC)
NEXT = [
    ("rate(5 minutes)", None, "2026-01-01T00:00:00", "2026-01-01T00:05:00"),
    ("rate(5 minutes)", None, "2026-01-01T00:04:59", "2026-01-01T00:05:00"),
    ("rate(5 minutes)", None, "2026-01-01T00:05:00", "2026-01-01T00:10:00"),
    ("rate(1 hour)", None, "2026-01-01T10:30:00", "2026-01-01T11:00:00"),
    ("rate(1 day)", None, "2025-12-01T00:00:00", "2026-01-02T00:00:00"),  # before the anchor
    ("cron(0 20 * * ? *)", None, "2026-03-10T19:59:59", "2026-03-10T20:00:00"),
    ("cron(0 20 * * ? *)", None, "2026-03-10T20:00:00", "2026-03-11T20:00:00"),
    ("cron(0/15 * * * ? *)", None, "2026-03-10T10:01:00", "2026-03-10T10:15:00"),
    ("cron(5,35 14 * * ? *)", None, "2026-03-10T14:06:00", "2026-03-10T14:35:00"),
    # 2026-03-13 is a Friday: MON-FRI at 18:00 goes on to Monday the 16th
    ("cron(0 18 ? * MON-FRI *)", None, "2026-03-13T18:00:00", "2026-03-16T18:00:00"),
    ("cron(0 8 1 * ? *)", None, "2026-01-15T00:00:00", "2026-02-01T08:00:00"),
    ("cron(0 0 L * ? *)", None, "2026-02-01T00:00:00", "2026-02-28T00:00:00"),
    ("cron(0 0 L * ? *)", None, "2028-02-01T00:00:00", "2028-02-29T00:00:00"),  # leap year
    # 2026-03-15 is a Sunday: the nearest weekday is Monday the 16th
    ("cron(0 0 15W * ? *)", None, "2026-03-01T00:00:00", "2026-03-16T00:00:00"),
    # 2026-08-01 is a Saturday: 1W is Monday the 3rd (not July)
    ("cron(0 0 1W * ? *)", None, "2026-07-31T12:00:00", "2026-08-03T00:00:00"),
    ("cron(0 2 ? * SAT#3 *)", None, "2026-03-01T00:00:00", "2026-03-21T02:00:00"),
    ("cron(0 0 ? * 6L *)", None, "2026-03-01T00:00:00", "2026-03-27T00:00:00"),  # last Friday
    ("cron(0 12 ? * SUN *)", None, "2026-03-10T00:00:00", "2026-03-15T12:00:00"),
    ("cron(0 12 ? * 1 *)", None, "2026-03-10T00:00:00", "2026-03-15T12:00:00"),  # 1 = SUN
    ("cron(0 0 ? * FRI-MON *)", None, "2026-03-10T00:00:00", "2026-03-13T00:00:00"),  # wraps
    ("cron(0 22-2 * * ? *)", None, "2026-03-10T02:30:00", "2026-03-10T22:00:00"),
    ("cron(0/5 5 ? JAN 1-5 2022)", None, "2026-01-01T00:00:00", None),  # only in 2022
    ("cron(0 0 30 FEB ? *)", None, "2026-01-01T00:00:00", None),  # never
    ("cron(0 0 1 JAN ? 2030)", None, "2026-06-01T00:00:00", "2030-01-01T00:00:00"),
    # Time zones: 09:00 in New York is 14:00 UTC in winter, 13:00 UTC in summer
    ("cron(0 9 * * ? *)", "America/New_York", "2026-01-10T00:00:00", "2026-01-10T14:00:00"),
    ("cron(0 9 * * ? *)", "America/New_York", "2026-07-10T00:00:00", "2026-07-10T13:00:00"),
    ("cron(30 5 * * ? *)", "Asia/Kolkata", "2026-01-10T00:00:00", "2026-01-11T00:00:00"),
    # Spring forward (New York, 2026-03-08: 02:00 → 03:00): 02:30 does not happen, skipped
    ("cron(30 2 * * ? *)", "America/New_York", "2026-03-07T08:00:00", "2026-03-09T06:30:00"),
    # Fall back (New York, 2026-11-01: 02:00 → 01:00): 01:30 happens twice, fires once
    ("cron(30 1 * * ? *)", "America/New_York", "2026-11-01T04:00:00", "2026-11-01T05:30:00"),
    ("cron(30 1 * * ? *)", "America/New_York", "2026-11-01T05:30:00", "2026-11-02T06:30:00"),
    # Berlin's spring forward (2026-03-29, 02:00 → 03:00) skips the hourly 02:00
    ("cron(0 * * * ? *)", "Europe/Berlin", "2026-03-29T00:30:00", "2026-03-29T01:00:00"),
    ("at(2026-05-01T10:00:00)", None, "2026-04-01T00:00:00", "2026-05-01T10:00:00"),
    ("at(2026-05-01T10:00:00)", None, "2026-05-01T10:00:00", None),
    ("at(2026-05-01T10:00:00)", "Europe/Berlin", "2026-04-01T00:00:00", "2026-05-01T08:00:00"),
    # an at() in a skipped hour fires when the clocks reach it
    ("at(2026-03-08T02:30:00)", "America/New_York", "2026-03-01T00:00:00", "2026-03-08T07:30:00"),
]


@pytest.mark.parametrize(("expression", "zone", "after", "expected"), NEXT)
def test_next_fire_time(
    expression: str, zone: str | None, after: str, expected: str | None
) -> None:
    schedule = parse(expression, ANCHOR, zone_named(zone), allow_at=True)
    found = schedule.next_after(utc(after))
    assert found == (utc(expected) if expected else None)


def test_berlin_hourly_skips_the_missing_hour() -> None:
    schedule = parse("cron(0 * * * ? *)", ANCHOR, zone_named("Europe/Berlin"))
    # 01:00 UTC is 03:00 CEST: local 02:00 never happened, so 00:00 UTC (01:00 CET) → 01:00 UTC
    assert schedule.next_after(utc("2026-03-29T00:00:00")) == utc("2026-03-29T01:00:00")


def test_latest_due_coalesces_missed_fires() -> None:
    schedule = parse("rate(1 minute)", ANCHOR)
    since, now = utc("2026-01-01T00:00:30"), utc("2026-01-01T00:10:10")
    assert latest_due(schedule, since, now) == utc("2026-01-01T00:10:00")
    assert latest_due(schedule, utc("2026-01-01T00:10:00"), now) is None


def test_latest_due_of_a_one_time_schedule() -> None:
    schedule = At(utc("2026-01-01T00:05:00"))
    assert latest_due(schedule, ANCHOR, utc("2026-01-01T00:04:59")) is None
    assert latest_due(schedule, ANCHOR, utc("2026-01-01T00:05:00")) == utc("2026-01-01T00:05:00")
    assert latest_due(schedule, utc("2026-01-01T00:05:00"), utc("2026-02-01T00:00:00")) is None


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidScheduleError):
        zone_named("Mars/Olympus_Mons")
    with pytest.raises(InvalidScheduleError):
        zone_named("../etc/passwd")


def test_at_with_an_impossible_date_is_refused() -> None:
    with pytest.raises(InvalidScheduleError):
        parse("at(2026-02-30T10:00:00)", ANCHOR, allow_at=True)
