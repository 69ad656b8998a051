"""Awake hours: when a stack that sleeps runs, as text (``MON-FRI 07:00-20:00``), as schedules and as hours a month.

Pure functions, no Pulumi: :class:`components.sleep.Sleep` turns an :class:`AwakeHours` into schedules, the stack
file's reader checks the text, and the cost estimate (``slipway/cost.py``) reads the schedules back from a graph to
price the hours awake.

Cron expressions are the six-field form that both Application Auto Scaling's ``PutScheduledAction`` and
EventBridge Scheduler take (botocore's ``application-autoscaling`` model: "[Minutes] [Hours] [Day_of_Month] [Month]
[Day_of_Week] [Year]"; "Schedule types on EventBridge Scheduler"): ``cron(0 7 ? * MON-FRI *)``, evaluated in an
IANA time zone given beside it (``Timezone`` / ``ScheduleExpressionTimezone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
HOURS_PER_WEEK = 168
DB_LEAD_MINUTES = 15
"""The service wakes this long after the database's start call. RDS documents no start duration
(StartDBInstance returns while the instance is ``starting``); third-party schedulers report "several minutes".
15 minutes is a margin, not a measurement: a task that starts earlier only fails its database calls until then
(``/healthz`` does not touch the database, so the load balancer keeps it)."""
MIN_AWAKE_MINUTES = 60
_TEXT = re.compile(r"^\s*(?P<days>[A-Za-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
_CRON = re.compile(r"^cron\((?P<minute>\d{1,2}) (?P<hour>\d{1,2}) \? \* (?P<days>[A-Z,\-]+) \*\)$")
EXAMPLE = "MON-FRI 07:00-20:00"


@dataclass(frozen=True)
class AwakeHours:
    """Days of the week (in week order) and one window on each, minutes after local midnight."""

    days: tuple[str, ...]
    start: int
    end: int

    @property
    def days_expression(self) -> str:
        """The days as cron's day-of-week field: runs of 3 or more as ranges (``MON-FRI``), else a list."""
        idx = sorted(DAYS.index(d) for d in self.days)
        parts: list[str] = []
        run = [idx[0]]
        for i in idx[1:]:
            if i == run[-1] + 1:
                run.append(i)
                continue
            parts.append(_run(run))
            run = [i]
        parts.append(_run(run))
        return ",".join(parts)

    def cron(self, minute_of_day: int) -> str:
        """``cron(M H ? * <days> *)`` at ``minute_of_day`` (local time) on these days."""
        return f"cron({minute_of_day % 60} {minute_of_day // 60} ? * {self.days_expression} *)"

    @property
    def db_start(self) -> str:
        return self.cron(self.start)

    @property
    def service_wake(self) -> str:
        return self.cron(self.start + DB_LEAD_MINUTES)

    @property
    def service_sleep(self) -> str:
        return self.cron(self.end)

    @property
    def db_stop(self) -> str:
        return self.cron(self.end)


def _run(run: list[int]) -> str:
    if len(run) >= 3:
        return f"{DAYS[run[0]]}-{DAYS[run[-1]]}"
    return ",".join(DAYS[i] for i in run)


def _minutes(text: str) -> Optional[int]:
    hours, minutes = (int(x) for x in text.split(":"))
    return hours * 60 + minutes if hours <= 23 and minutes <= 59 else None


def _days(text: str) -> tuple[str, ...]:
    out: list[int] = []
    for item in text.upper().split(","):
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{item!r} is not a day or a range of days ({', '.join(DAYS)})")
        lo, hi = DAYS.index(first), DAYS.index(last or first)
        if hi < lo:
            raise ValueError(f"{item!r} runs backwards: write the week from MON to SUN (e.g. SAT-SUN,MON)")
        out += [i for i in range(lo, hi + 1) if i not in out]
    return tuple(DAYS[i] for i in sorted(out))


def parse_awake_hours(text: object) -> AwakeHours:
    """``"MON-FRI 07:00-20:00"`` -> AwakeHours; ValueError saying why otherwise. Days: ``MON``..``SUN``, ranges and
    lists (``MON-FRI``, ``MON,WED,FRI``, ``MON-THU,SAT``); one window a day, 24-hour local time, ending the same day,
    at least an hour long (the service wakes 15 minutes after the database)."""
    if not isinstance(text, str):
        raise ValueError(f"must be text like {EXAMPLE!r}")
    match = _TEXT.match(text)
    if not match:
        raise ValueError(f"must be '<days> <HH:MM>-<HH:MM>', e.g. {EXAMPLE!r}")
    days = _days(match["days"])
    start, end = _minutes(match["start"]), _minutes(match["end"])
    if start is None or end is None:
        raise ValueError("hours are 00:00 to 23:59")
    if end - start < MIN_AWAKE_MINUTES:
        raise ValueError(
            f"the window must end the same day at least {MIN_AWAKE_MINUTES} minutes after it starts "
            f"(the service wakes {DB_LEAD_MINUTES} minutes after the database)"
        )
    return AwakeHours(days, start, end)


def parse_cron(expression: object) -> Optional[tuple[int, tuple[str, ...]]]:
    """``cron(M H ? * <days> *)`` as written by :meth:`AwakeHours.cron` -> (minute of day, days); None for any
    other expression."""
    match = _CRON.match(str(expression))
    if not match:
        return None
    try:
        days = _days(match["days"])
    except ValueError:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    return (hour * 60 + minute, days) if hour <= 23 and minute <= 59 else None


def weekly_hours(on: object, off: object) -> Optional[float]:
    """Hours a week between an "on" and an "off" cron of :meth:`AwakeHours.cron` on the same days (None when they
    are not such a pair)."""
    start, end = parse_cron(on), parse_cron(off)
    if start is None or end is None or start[1] != end[1] or end[0] <= start[0]:
        return None
    return len(start[1]) * (end[0] - start[0]) / 60


def monthly_hours(weekly: float, hours_per_month: float) -> float:
    """Hours awake a month: hours a week x weeks a month, a month being ``hours_per_month`` (730) / 168 h."""
    return weekly * hours_per_month / HOURS_PER_WEEK
