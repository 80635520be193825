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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from app.legal.calendar import BusinessCalendar

# What a registered-mail provider reports about a letter (paper LRAR or electronic LRE):
# deposited with the provider, presented to the recipient (the postman's first visit, or the
# LRE's notification e-mail), accepted (the AR signed, the LRE opened), refused, neglected (an
# LRE left unopened for 15 days), not claimed (an LRAR left at the post office), returned
# (address unknown, NPAI: it never reached the recipient).
ProofStatus = Literal[
    "deposited", "presented", "accepted", "refused", "neglected", "not_claimed", "returned"
]
PROOF_STATUSES: Final[tuple[ProofStatus, ...]] = get_args(ProofStatus)
# A letter the recipient could have received but did not take takes effect when first
# presented (DOMAIN.md, "A refused, neglected or unclaimed registered letter").
_NOT_TAKEN: Final[frozenset[ProofStatus]] = frozenset({"refused", "neglected", "not_claimed"})


@dataclass(frozen=True)
class ProofFact:
    """One proof event as the law reads it: what happened, on which local day."""

    status: ProofStatus
    on: dt.date


@dataclass(frozen=True)
class NoticeEffect:
    """When a mise en demeure took effect (None while unknown), and whether it came back
    undelivered and must be sent again (then no deadline runs)."""

    start: dt.date | None
    resend: bool = False


def _first(facts: Iterable[ProofFact], *statuses: ProofStatus) -> dt.date | None:
    return min((f.on for f in facts if f.status in statuses), default=None)


def letter_effect(proof: Sequence[ProofFact], presented_on: dt.date | None) -> NoticeEffect:
    """What a registered letter's proof events say, whatever order they arrived in.

    Accepted: from the AR (the earliest, if a provider reported it twice). Refused, neglected
    or not claimed: from the first presentation (a presentation event, else the
    `presented_on` typed in; a refusal with neither counts from its own day, which is never
    earlier). Returned (NPAI) with nothing better: no deadline, send it again. Otherwise
    pending: the `presented_on` typed in, as before proof events existed."""
    accepted = _first(proof, "accepted")
    if accepted is not None:
        return NoticeEffect(accepted)
    if any(f.status in _NOT_TAKEN for f in proof):
        presented = min(
            [d for d in (_first(proof, "presented"), presented_on) if d is not None],
            default=None,
        )
        return NoticeEffect(presented or _first(proof, "refused"))
    if any(f.status == "returned" for f in proof):
        return NoticeEffect(None, resend=True)
    return NoticeEffect(presented_on)


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


def notice_effect(
    *,
    served_on: dt.date | None,
    acknowledged_on: dt.date | None,
    presented_on: dt.date | None,
    proof: Sequence[ProofFact] = (),
) -> NoticeEffect:
    """The day a mise en demeure takes effect, from which its deadline runs.

    Served by a commissaire de justice: the date of service of the act (DOMAIN.md, "Rules added
    on 2026-12-01"). By registered letter (paper or electronic): the AR typed in, else what its
    proof events say (`letter_effect`). None until one of them is known."""
    if served_on or acknowledged_on:
        return NoticeEffect(served_on or acknowledged_on)
    return letter_effect(proof, presented_on)


def notice_start(
    *,
    served_on: dt.date | None,
    acknowledged_on: dt.date | None,
    presented_on: dt.date | None,
    proof: Sequence[ProofFact] = (),
) -> dt.date | None:
    """The day a mise en demeure takes effect (`notice_effect`), None while unknown."""
    return notice_effect(
        served_on=served_on, acknowledged_on=acknowledged_on, presented_on=presented_on, proof=proof
    ).start


def formal_notice_deadline(
    *,
    served_on: dt.date | None,
    acknowledged_on: dt.date | None,
    presented_on: dt.date | None,
    days: int,
    calendar: BusinessCalendar,
    proof: Sequence[ProofFact] = (),
) -> dt.date | None:
    """The last day to pay a mise en demeure: `days` days from the day it took effect, extended
    to the next working day; None while that day is unknown (or the letter came back)."""
    start = notice_start(
        served_on=served_on, acknowledged_on=acknowledged_on, presented_on=presented_on, proof=proof
    )
    return None if start is None else days_after(start, days, calendar)
