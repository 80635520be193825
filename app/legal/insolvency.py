"""Collective proceedings (sauvegarde, redressement, liquidation judiciaire): what the creditor
must declare to the mandataire judiciaire, and by when. Pure: dates in, dates out.

- **Interest stops** at the opening judgment (C. com. L622-28, L631-14, L641-3), which takes
  effect at zero hour of its date (R621-4, R631-7, R641-1): the amounts to declare are the claim
  on the day before, computed by app.legal.interest with ``interest_stops_on``.
- **Declaration deadline**: 2 months from the publication of the judgment in the BODACC
  (L622-24, R622-24 al. 1). Unknown while the publication date is not recorded. A creditor
  domiciled outside metropolitan France has 4 months (R622-24 al. 2): not computed, say so.
- **Relief from foreclosure** (relevé de forclusion): to be asked within 6 months of the same
  publication (L622-26 al. 3).
- **Months** are counted as the code of civil procedure counts them (CPC art. 641): the period
  ends on the day of the last month with the same number as the starting day, or on the last
  day of that month when it has no such day (published 31 December: deadline 28 or 29
  February). The date shown is not moved off a weekend or public holiday: CPC art. 642 would
  extend it to the next working day, but declaring by the earlier date is always safe.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from app.legal import figures as legal

ONE_DAY = dt.timedelta(days=1)


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` + ``months`` months, CPC art. 641: same day of the month, else the month's last."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(d.day, last))


def declaration_deadline(published_on: dt.date | None) -> dt.date | None:
    """Last day to declare the claim: BODACC publication + 2 months (R622-24)."""
    if published_on is None:
        return None
    return add_months(published_on, legal.INSOLVENCY_DECLARATION_MONTHS)


def relief_from_foreclosure_deadline(published_on: dt.date | None) -> dt.date | None:
    """Last day to ask to be relieved of the foreclosure: publication + 6 months (L622-26)."""
    if published_on is None:
        return None
    return add_months(published_on, legal.INSOLVENCY_RELIEF_FROM_FORECLOSURE_MONTHS)


def amounts_as_of(opened_on: dt.date) -> dt.date:
    """The day whose claim is declared: the day before the judgment (effective at zero hour)."""
    return opened_on - ONE_DAY


@dataclass(frozen=True)
class DeclarationDates:
    opened_on: dt.date
    published_on: dt.date | None
    deadline: dt.date | None
    relief_deadline: dt.date | None


def declaration_dates(opened_on: dt.date, published_on: dt.date | None) -> DeclarationDates:
    return DeclarationDates(
        opened_on=opened_on,
        published_on=published_on,
        deadline=declaration_deadline(published_on),
        relief_deadline=relief_from_foreclosure_deadline(published_on),
    )
