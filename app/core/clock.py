"""The service clock. Everything time-dependent reads time through a Clock, so tests and
`/v1/admin/sweep` can set the instant."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self, tz: ZoneInfo) -> dt.date:
        return self.now().astimezone(tz).date()


class FrozenClock(Clock):
    """A clock that stays where it is put (tests, benchmarks)."""

    def __init__(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.instant = instant

    def now(self) -> dt.datetime:
        return self.instant

    def set(self, instant: dt.datetime) -> None:
        self.instant = instant


def start_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """Midnight of `day` in `tz`, as an aware datetime: when a step falling on `day` becomes due."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)
