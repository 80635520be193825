"""How deadlines are counted: one computation for the escalation engine, the letters, readiness
and the timeline, so that what a letter states is what the engine waits for.

The rules are those of the Code de procédure civile, which French practice applies to the
deadline a mise en demeure grants:

- C. proc. civ. art. 641 al. 1: a deadline in days does not count the day of the act or event
  that starts it: 8 days from a receipt on the 4th end on the 12th.
- C. proc. civ. art. 641 al. 2: a deadline in months ends on the day of the last month with the
  same number as the starting day; failing that number (31 January + 1 month), on the last day
  of that month.
- C. proc. civ. art. 642: every deadline ends on its last day at midnight; one that would end
  on a Saturday, a Sunday or a public holiday is extended to the next working day.
  (doctrine.fr, "Article 642 du Code de procédure civile", LEGIARTI000006411003; useyourlaw.com,
  "L'article 641 du Code de procédure civile: les délais de procédure".)

Which days are working days is the creditor's business calendar (app/legal/calendar.py: weekends
and French public holidays, with the creditor's subdivision). Pure: no clock, no I/O.
"""

from __future__ import annotations

import calendar as _months
import datetime as dt

from app.legal.calendar import BusinessCalendar


def days_after(start: dt.date, days: int, calendar: BusinessCalendar) -> dt.date:
    """The last day of a deadline of `days` days running from `start` (641 al. 1, 642)."""
    return calendar.add_days(start, days)


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day number `months` months later, or that month's last day (641 al. 2)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, _months.monthrange(year, month)[1]))


def months_after(start: dt.date, months: int, calendar: BusinessCalendar) -> dt.date:
    """The last day of a deadline of `months` months running from `start` (641 al. 2, 642)."""
    return calendar.roll_forward(add_months(start, months))


def notice_start(
    *,
    served_on: dt.date | None,
    acknowledged_on: dt.date | None,
    presented_on: dt.date | None,
) -> dt.date | None:
    """The day a mise en demeure takes effect, from which its deadline runs.

    Served by a commissaire de justice: the date of service of the act (DOMAIN.md, "Rules added
    on 2026-12-01"). By registered letter: the AR when it was accepted, else its first
    presentation (a refused, neglected or unclaimed letter takes effect when first presented).
    None until one of them is known."""
    return served_on or acknowledged_on or presented_on


def formal_notice_deadline(
    *,
    served_on: dt.date | None,
    acknowledged_on: dt.date | None,
    presented_on: dt.date | None,
    days: int,
    calendar: BusinessCalendar,
) -> dt.date | None:
    """The last day to pay a mise en demeure: `days` days from the day it took effect, extended
    to the next working day; None while that day is unknown."""
    start = notice_start(
        served_on=served_on, acknowledged_on=acknowledged_on, presented_on=presented_on
    )
    return None if start is None else days_after(start, days, calendar)
