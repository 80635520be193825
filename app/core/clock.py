"""The service clock. Everything time-dependent reads time through a Clock, so tests and
`/v1/admin/sweep` can set the instant. The clock knows the creditors' time zone: a step that
falls on a day becomes due at that day's local midnight."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock:
    def __init__(self, tz: ZoneInfo = PARIS) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().astimezone(self.tz).date()

    def local_day(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def start_of_day(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz)


class FrozenClock(Clock):
    """A clock that stays where it is put (tests, benchmarks)."""

    def __init__(self, instant: dt.datetime, tz: ZoneInfo = PARIS) -> None:
        super().__init__(tz)
        self.set(instant)

    def now(self) -> dt.datetime:
        return self.instant

    def set(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.instant = instant


class FixedInstant(Clock):
    """`clock` seen at one instant: what a sweep `as_of` a given time uses."""

    def __init__(self, base: Clock, instant: dt.datetime) -> None:
        super().__init__(base.tz)
        self.instant = instant

    def now(self) -> dt.datetime:
        return self.instant
