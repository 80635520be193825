"""The creditor's business days: steps fall due on them (API.md, "Event catalogue").

A business day is Monday to Friday and not a French public holiday (metropolitan France by default;
`subdiv="57"` etc. for Alsace-Moselle and the overseas departments, as the `holidays` package names
them). Pure and deterministic: the answer depends on the date only, never on the clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Literal

import holidays

# The subdivisions of the `holidays` package whose public holidays differ from metropolitan
# France's: Moselle (57) and Alsace (6AE: Bas-Rhin, Haut-Rhin) add Good Friday and 26 December;
# the overseas departments and collectivities add their own (abolition of slavery...).
HolidaySubdivision = Literal[
    "57", "6AE", "971", "972", "973", "974", "976", "BL", "MF", "NC", "PF", "PM", "TF", "WF"
]


class BusinessCalendar:
    def __init__(self, subdiv: str | None = None) -> None:
        # Built once here so that an unknown subdivision fails at construction, not mid-sweep.
        holidays.country_holidays("FR", subdiv=subdiv, years=())
        self.subdiv = subdiv
        # Holidays per year, computed once: the engine asks about the same few years constantly.
        self._by_year: dict[int, frozenset[dt.date]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar(subdiv={self.subdiv!r})"

    def holidays_in(self, year: int) -> frozenset[dt.date]:
        cached = self._by_year.get(year)
        if cached is None:
            table = holidays.country_holidays("FR", subdiv=self.subdiv, years=year)
            cached = frozenset(d for d in table if d.year == year)
            self._by_year[year] = cached
        return cached

    def is_holiday(self, d: dt.date) -> bool:
        return d in self.holidays_in(d.year)

    def is_business_day(self, d: dt.date) -> bool:
        return d.weekday() < 5 and not self.is_holiday(d)

    def roll_forward(self, d: dt.date) -> dt.date:
        """`d` if it is a business day, else the next one."""
        while not self.is_business_day(d):
            d += dt.timedelta(days=1)
        return d

    def add_days(self, d: dt.date, n: int) -> dt.date:
        """`d` + `n` calendar days (n may be negative), moved to the next business day if needed."""
        return self.roll_forward(d + dt.timedelta(days=n))


FRENCH_CALENDAR = BusinessCalendar()


@functools.cache
def business_calendar(subdiv: str | None) -> BusinessCalendar:
    """The calendar of a subdivision (None: metropolitan France), built once per process."""
    return FRENCH_CALENDAR if subdiv is None else BusinessCalendar(subdiv)
