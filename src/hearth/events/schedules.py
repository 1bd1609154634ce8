"""Schedule expressions as EventBridge and EventBridge Scheduler define them, and their next
fire times. Pure: no clock, no I/O; times are timezone-aware `datetime`s.

- `rate(value unit)`: unit `minute(s)`, `hour(s)`, `day(s)`; singular exactly when value is 1.
  Fires at anchor + k * period (the anchor is when the rule or schedule came to be, or
  Scheduler's StartDate).
- `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: AWS's six fields, `, - * /` in
  every field, `?` in one of day-of-month / day-of-week (exactly one of them), `L` and `W` in
  day-of-month, `L` and `#` in day-of-week (1 = SUN ... 7 = SAT), names JAN-DEC and SUN-SAT.
- `at(yyyy-mm-ddThh:mm:ss)`: Scheduler's one-time schedule.

Time zones (Scheduler's ScheduleExpressionTimezone; rules are UTC) follow AWS's daylight
saving rules: a local time the clocks skip in spring does not fire; a local time that happens
twice in autumn fires once (the first time).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The years a cron expression may name (AWS: 1970-2199); past the last, nothing fires.
FIRST_YEAR, LAST_YEAR = 1970, 2199

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class InvalidScheduleError(ValueError):
    """The expression is not one AWS accepts."""


class Schedule(Protocol):
    """When a schedule fires. `next_after` is strictly after `moment`; None: never again."""

    def next_after(self, moment: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class Rate:
    seconds: int
    anchor: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        if moment < self.anchor:
            return self.anchor + timedelta(seconds=self.seconds)
        elapsed = (moment - self.anchor).total_seconds()
        periods = int(elapsed // self.seconds) + 1
        return self.anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class At:
    when: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.when if self.when > moment else None


@dataclass(frozen=True)
class _DayOfMonth:
    days: frozenset[int]  # 1..31
    last: bool = False  # L: the month's last day
    last_offset: int = 0  # L-3: three days before it
    nearest_weekday: int | None = None  # 15W: the weekday nearest the 15th
    last_weekday: bool = False  # LW: the month's last weekday
    any: bool = False  # ?

    def matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.last and day.day == last - self.last_offset:
            return True
        if self.last_weekday:
            target = last
            while date(day.year, day.month, target).weekday() >= 5:
                target -= 1
            if day.day == target:
                return True
        wanted = self.nearest_weekday
        if wanted is not None and day.day == _nearest_weekday(day.year, day.month, wanted, last):
            return True
        return day.day in self.days


def _nearest_weekday(year: int, month: int, wanted: int, last: int) -> int:
    """The weekday nearest `wanted` that stays in the month (Quartz's and AWS's W)."""
    wanted = min(wanted, last)
    weekday = date(year, month, wanted).weekday()  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return wanted - 1 if wanted > 1 else wanted + 2
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return wanted + 1 if wanted < last else wanted - 2
    return wanted


@dataclass(frozen=True)
class _DayOfWeek:
    days: frozenset[int]  # 1 = SUN ... 7 = SAT
    last_of: int | None = None  # 6L: the month's last Friday
    nth: tuple[int, int] | None = None  # 6#3: (day, n) the month's third Friday
    any: bool = False

    def matches(self, day: date) -> bool:
        aws_day = (day.weekday() + 1) % 7 + 1  # Monday 0 → 2; Sunday 6 → 1
        if self.last_of is not None and aws_day == self.last_of:
            last = calendar.monthrange(day.year, day.month)[1]
            if day.day + 7 > last:
                return True
        if self.nth is not None and (aws_day, (day.day - 1) // 7 + 1) == self.nth:
            return True
        return aws_day in self.days


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: _DayOfMonth
    months: frozenset[int]
    day_of_week: _DayOfWeek
    years: frozenset[int]
    zone: tzinfo = UTC

    def _day_matches(self, day: date) -> bool:
        if self.day_of_month.any:
            return self.day_of_week.matches(day)
        return self.day_of_month.matches(day)

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self.zone)
        start_day = local.date()
        for year in sorted(y for y in self.years if y >= start_day.year):
            for month in sorted(self.months):
                if (year, month) < (start_day.year, start_day.month):
                    continue
                last = calendar.monthrange(year, month)[1]
                for day_number in range(1, last + 1):
                    day = date(year, month, day_number)
                    if day < start_day or not self._day_matches(day):
                        continue
                    found = self._first_time_on(day, moment)
                    if found is not None:
                        return found
        return None

    def _first_time_on(self, day: date, moment: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                naive = datetime(day.year, day.month, day.day, hour, minute)
                fire = _local(naive, self.zone)
                if fire is not None and fire > moment:
                    return fire
        return None


def _local(naive: datetime, zone: tzinfo) -> datetime | None:
    """`naive` in `zone` as an aware UTC time; None when the clocks skip it (spring forward).
    A time that happens twice is its first occurrence (fold 0)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    in_utc = aware.astimezone(UTC)
    if in_utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return in_utc


def _number(text: str, names: list[str] | None, low: int, high: int) -> int:
    upper = text.upper()
    if names is not None and upper in names:
        return names.index(upper) + low
    if not text.isdigit():
        raise InvalidScheduleError(text)
    value = int(text)
    if not low <= value <= high:
        raise InvalidScheduleError(text)
    return value


def _values(field: str, low: int, high: int, names: list[str] | None = None) -> frozenset[int]:
    """A field of `, - * /` over [low, high]; a range may wrap (FRI-MON, 22-2)."""
    found: set[int] = set()
    for part in field.split(","):
        if not part:
            raise InvalidScheduleError(field)
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise InvalidScheduleError(field)
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _number(first_text, names, low, high)
            last = _number(last_text, names, low, high)
        else:
            first = _number(base, names, low, high)
            last = high if slash else first
        size = high - low + 1
        span = (last - first) % size
        found.update(low + (first - low + offset) % size for offset in range(0, span + 1, step))
    return frozenset(found)


def _day_of_month(field: str) -> _DayOfMonth:
    if field == "?":
        return _DayOfMonth(frozenset(), any=True)
    if field == "L":
        return _DayOfMonth(frozenset(), last=True)
    if field == "LW":
        return _DayOfMonth(frozenset(), last_weekday=True)
    offset = re.fullmatch(r"L-(\d{1,2})", field)
    if offset:
        if int(offset.group(1)) > 30:
            raise InvalidScheduleError(field)
        return _DayOfMonth(frozenset(), last=True, last_offset=int(offset.group(1)))
    weekday = re.fullmatch(r"(\d{1,2})W", field)
    if weekday:
        return _DayOfMonth(frozenset(), nearest_weekday=_number(weekday.group(1), None, 1, 31))
    return _DayOfMonth(_values(field, 1, 31))


def _day_of_week(field: str) -> _DayOfWeek:
    if field == "?":
        return _DayOfWeek(frozenset(), any=True)
    upper = field.upper()
    if upper == "L":
        return _DayOfWeek(frozenset({7}))
    last = re.fullmatch(r"([1-7]|[A-Z]{3})L", upper)
    if last:
        return _DayOfWeek(frozenset(), last_of=_number(last.group(1), _DAYS, 1, 7))
    nth = re.fullmatch(r"([1-7]|[A-Z]{3})#([1-5])", upper)
    if nth:
        return _DayOfWeek(frozenset(), nth=(_number(nth.group(1), _DAYS, 1, 7), int(nth.group(2))))
    return _DayOfWeek(_values(field, 1, 7, _DAYS))


def parse_cron(body: str, zone: tzinfo = UTC) -> Cron:
    fields = body.split(" ")
    if len(fields) != 6:
        raise InvalidScheduleError(body)
    minutes, hours, dom, months, dow, years = fields
    day_of_month, day_of_week = _day_of_month(dom), _day_of_week(dow)
    if day_of_month.any == day_of_week.any:
        raise InvalidScheduleError("one of day-of-month and day-of-week must be ?")
    return Cron(
        _values(minutes, 0, 59),
        _values(hours, 0, 23),
        day_of_month,
        _values(months, 1, 12, _MONTHS),
        day_of_week,
        _values(years, FIRST_YEAR, LAST_YEAR),
        zone,
    )


def parse_rate(expression: str, anchor: datetime) -> Rate:
    found = _RATE.fullmatch(expression)
    if found is None:
        raise InvalidScheduleError(expression)
    value, unit = int(found.group(1)), found.group(2)
    if value == 0 or (value == 1) != (not unit.endswith("s")):
        raise InvalidScheduleError(expression)  # rate(1 minutes), rate(5 minute)
    return Rate(value * _UNIT_SECONDS[unit.rstrip("s")], anchor)


def zone_named(name: str | None) -> tzinfo:
    """An IANA time zone (Scheduler's ScheduleExpressionTimezone); None or empty is UTC."""
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidScheduleError(name) from error


def parse(
    expression: str, anchor: datetime, zone: tzinfo = UTC, *, allow_at: bool = False
) -> Schedule:
    """A schedule from its expression. `anchor` is where a rate counts from; `zone` is where
    cron and at read their fields (rules: UTC); `at()` is Scheduler's only."""
    if expression.startswith("rate("):
        return parse_rate(expression, anchor)
    cron = _CRON.fullmatch(expression)
    if cron:
        return parse_cron(cron.group(1), zone)
    at = _AT.fullmatch(expression) if allow_at else None
    if at:
        try:
            year, month, day, hour, minute, second = (int(part) for part in at.groups())
            naive = datetime(year, month, day, hour, minute, second)
        except ValueError as error:
            raise InvalidScheduleError(expression) from error
        when = _local(naive, zone)
        if when is None:  # a local time the clocks skip: the first instant after the gap
            when = naive.replace(tzinfo=zone).astimezone(UTC)
        return At(when)
    raise InvalidScheduleError(expression)


def latest_due(schedule: Schedule, since: datetime, now: datetime) -> datetime | None:
    """The last fire time in (since, now], or None: after a pause (a restart), the fires
    missed in between coalesce into one, as a late fire, not a burst."""
    found: datetime | None = None
    moment = since
    while True:
        following = schedule.next_after(moment)
        if following is None or following > now:
            return found
        found = moment = following
