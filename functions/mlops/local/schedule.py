"""EventBridge schedule expressions: when `rate(...)` and `cron(...)` rules are due.

Cron has EventBridge's six fields (minutes hours day-of-month month day-of-week year) with
`*`, `?`, ranges, lists, steps and names; `L`, `W` and `#` are not supported locally.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MAX_FIRINGS_PER_TICK = 10_000


class ScheduleError(ValueError):
    """A schedule expression the local cloud cannot read."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: "?" (any)
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday; None: "?"
    years: frozenset[int] | None  # None: "*"

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years and day.year not in self.years):
            return False
        weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2, Sunday=6 -> 1
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        return self.days_of_week is None or weekday in self.days_of_week


def due_times(expression: str, start: datetime, after: datetime, until: datetime) -> list[datetime]:
    """Times in (after, until] at which a rule created at `start` fires."""
    rate = _RATE.match(expression.strip())
    if rate:
        step = timedelta(seconds=int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")])
        if step <= timedelta(0):
            msg = f"rate must be positive: {expression!r}"
            raise ScheduleError(msg)
        skipped = max(0, int((after - start) / step))
        times: list[datetime] = []
        moment = start + step * max(1, skipped)
        while moment <= until and len(times) < MAX_FIRINGS_PER_TICK:
            if moment > after:
                times.append(moment)
            moment += step
        return times
    cron = _CRON.match(expression.strip())
    if cron:
        return list(_cron_times(parse_cron(cron.group(1)), after, until))
    msg = f"not a schedule expression: {expression!r} (expected rate(...) or cron(...))"
    raise ScheduleError(msg)


def parse_cron(fields_text: str) -> Cron:
    fields = fields_text.split()
    if len(fields) != 6:
        msg = f"cron needs 6 fields (min hour day month weekday year), got {fields_text!r}"
        raise ScheduleError(msg)
    minutes, hours, days, months, weekdays, years = fields
    if (days == "?") == (weekdays == "?"):
        msg = f"cron: exactly one of day-of-month and day-of-week must be '?': {fields_text!r}"
        raise ScheduleError(msg)
    return Cron(
        minutes=_field(minutes, 0, 59),
        hours=_field(hours, 0, 23),
        days_of_month=None if days in {"?", "*"} else _field(days, 1, 31),
        months=_field(months, 1, 12, _MONTHS, 1),
        days_of_week=None if weekdays in {"?", "*"} else _field(weekdays, 1, 7, _DAYS, 1),
        years=None if years == "*" else _field(years, 1970, 2199),
    )


def _field(
    text: str, low: int, high: int, names: list[str] | None = None, first: int = 0
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if any(marker in part for marker in ("L", "W", "#")) and not _is_name(part, names):
            msg = f"cron field {text!r}: L, W and # are not supported locally"
            raise ScheduleError(msg)
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in {"*", "?"}:
            start, end = low, high
        elif "-" in base:
            start_text, end_text = base.split("-", 1)
            start, end = _value(start_text, names, first), _value(end_text, names, first)
        else:
            start = _value(base, names, first)
            end = high if step_text else start
        if not low <= start <= high or not low <= end <= high or step < 1:
            msg = f"cron field {text!r} is out of range {low}-{high}"
            raise ScheduleError(msg)
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _is_name(part: str, names: list[str] | None) -> bool:
    return names is not None and all(
        token.upper() in names for token in re.split(r"[-,/]", part) if not token.isdigit()
    )


def _value(text: str, names: list[str] | None, first: int) -> int:
    if names is not None and text.upper() in names:
        return names.index(text.upper()) + first
    try:
        return int(text)
    except ValueError as error:
        msg = f"cron value {text!r} is not a number"
        raise ScheduleError(msg) from error


def _cron_times(cron: Cron, after: datetime, until: datetime) -> Iterator[datetime]:
    day = after.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    count = 0
    while day <= until:
        if cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    moment = day.replace(hour=hour, minute=minute)
                    if after < moment <= until:
                        count += 1
                        if count > MAX_FIRINGS_PER_TICK:
                            return
                        yield moment
        day += timedelta(days=1)
