"""Five-field cron expressions: when a recurring job (``recurrence``) fires next.

``minute hour day-of-month month day-of-week`` with ``*``, lists, ranges, steps
and three-letter month/day names, plus ``@hourly``, ``@daily``, ``@weekly``,
``@monthly`` and ``@yearly``. As in cron, when both day fields are restricted a
day matches if either does. The times are UTC unless the expression starts with
``TZ=<zone>`` (or ``CRON_TZ=<zone>``), as CMON takes it and the Terraform provider
writes it (``TZ=UTC 0 0 * * *``, ``TZ=Europe/Berlin 30 2 * * 1``): then they are that
zone's wall-clock times.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
           "@annually": "0 0 1 1 *"}
#: How far ahead ``next_after`` looks (Feb 29 on a Monday can be 28 years away).
_HORIZON_DAYS = 366 * 29


class Cron:
    """A parsed cron expression; ``Cron("0 3 * * *").next_after(t)``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.zone, rest = _zone(text)
        spec = _MACROS.get(rest.strip().lower(), rest)
        parts = spec.split()
        if len(parts) != 5:
            raise ValueError(f"Invalid recurrence '{text}': expected 5 fields "
                             "(minute hour day-of-month month day-of-week).")
        names: list[dict[str, int]] = [{}, {}, {}, _MONTHS, _DAYS]
        sets = [_parse_field(p, lo, hi, n, text) for p, (lo, hi), n in zip(parts, _FIELDS, names)]
        self.minutes, self.hours, self.days, self.months, weekdays = sets
        self.weekdays = {d % 7 for d in weekdays}
        self.any_day = parts[2] == "*"
        self.any_weekday = parts[4] == "*"

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, t: float) -> float:
        """The first firing time strictly after epoch second ``t``."""
        start = datetime.fromtimestamp(t, tz=self.zone).replace(second=0, microsecond=0)
        start += timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        when = day.replace(hour=h, minute=m)
                        if when >= start:
                            return when.timestamp()
            day += timedelta(days=1)
        raise ValueError(f"The recurrence '{self.text}' never fires.")


def _zone(text: str) -> tuple[tzinfo, str]:
    """The time zone a ``TZ=<zone>`` prefix names (UTC without one), and the rest."""
    head, _, rest = text.strip().partition(" ")
    key, eq, name = head.partition("=")
    if not eq or key.upper() not in ("TZ", "CRON_TZ"):
        return timezone.utc, text
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc, rest
    try:
        return ZoneInfo(name), rest
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Invalid recurrence '{text}': unknown time zone '{name}'.") from None


def _parse_field(text: str, lo: int, hi: int, names: dict[str, int], whole: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        rng, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if rng == "*":
                first, last = lo, hi
            elif "-" in rng:
                a, b = rng.split("-", 1)
                first, last = _value(a, names), _value(b, names)
            else:
                first = _value(rng, names)
                last = hi if step_text else first
        except ValueError:
            raise ValueError(f"Invalid recurrence '{whole}': bad field '{text}'.") from None
        if step < 1 or not lo <= first <= last <= hi:
            raise ValueError(f"Invalid recurrence '{whole}': '{text}' is out of range "
                             f"{lo}-{hi}.")
        values.update(range(first, last + 1, step))
    return values


def _value(text: str, names: dict[str, int]) -> int:
    key = text.strip().lower()
    if key in names:
        return names[key]
    return int(key)
