"""CMON's one time format: RFC 3339, UTC, milliseconds, ``Z`` (Go clients accept no other)."""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The epoch seconds ``rfc3339`` can write: years 1 to 9999.
MIN_EPOCH = -62135596800.0
MAX_EPOCH = 253402300799.0


def check_epoch(t: float, what: str = "time") -> float:
    """``t`` if it is a time ``rfc3339`` can write, else ValueError (NaN, infinity, year 10000)."""
    if not MIN_EPOCH <= t <= MAX_EPOCH:   # False for NaN too
        raise ValueError(f"The {what} is out of range: {t!r} is not between the years 1 "
                         "and 9999.")
    return t


def rfc3339(t: float | None) -> str:
    """Format epoch seconds as ``2021-02-09T09:30:56.594Z``; ``""`` for no time."""
    if t is None:
        return ""
    return _rfc3339_ms(int(round(t * 1000)))


@lru_cache(maxsize=4096)
def _rfc3339_ms(ms: int) -> str:
    """(World objects show the same few times often.)"""
    return f"{_rfc3339_second(ms // 1000)}.{ms % 1000:03d}Z"


@lru_cache(maxsize=1024)
def _rfc3339_second(second: int) -> str:
    """(Every request shows the time it was answered: strftime once a second, not per
    millisecond.)"""
    return (EPOCH + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S")


_GO_STRING = re.compile(
    r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*([+-]\d\d:?\d\d|Z)?(?:\s+[A-Z]{2,5})?$"
)


def parse_time(text: str) -> float:
    """Parse the time formats clients send (RFC 3339, Go ``time.String()``, plain dates).

    Raises ValueError with a readable message for anything else.
    """
    s = text.strip()
    m = _GO_STRING.match(s)
    if m:
        date, clock, zone = m.groups()
        zone = zone or "Z"
        if zone != "Z" and ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        iso = f"{date}T{clock}{'+00:00' if zone == 'Z' else zone}"
        try:
            return datetime.fromisoformat(iso).timestamp()
        except ValueError:
            pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Invalid time '{text}'.") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
