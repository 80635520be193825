"""Collective proceedings: the declaration deadline (R622-24), months as CPC art. 641 counts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.legal import figures as legal
from app.legal.insolvency import (
    add_months,
    amounts_as_of,
    declaration_dates,
    declaration_deadline,
    relief_from_foreclosure_deadline,
)

D = dt.date


@pytest.mark.parametrize(
    ("published_on", "deadline"),
    [
        (D(2026, 3, 10), D(2026, 5, 10)),  # a Sunday: not moved (declaring earlier is safe)
        (D(2026, 12, 31), D(2027, 2, 28)),  # no 31 February: the month's last day (CPC 641)
        (D(2027, 12, 31), D(2028, 2, 29)),  # leap year
        (D(2026, 11, 15), D(2027, 1, 15)),  # across the year
        (D(2026, 8, 31), D(2026, 10, 31)),
    ],
)
def test_declaration_deadline_is_publication_plus_two_months(
    published_on: dt.date, deadline: dt.date
) -> None:
    assert legal.INSOLVENCY_DECLARATION_MONTHS == 2
    assert declaration_deadline(published_on) == deadline


def test_no_deadline_without_the_publication_date() -> None:
    assert declaration_deadline(None) is None
    assert relief_from_foreclosure_deadline(None) is None
    dates = declaration_dates(D(2026, 3, 1), None)
    assert (dates.deadline, dates.relief_deadline) == (None, None)


def test_relief_from_foreclosure_within_six_months() -> None:
    assert relief_from_foreclosure_deadline(D(2026, 3, 10)) == D(2026, 9, 10)
    assert relief_from_foreclosure_deadline(D(2026, 8, 31)) == D(2027, 2, 28)


def test_amounts_are_those_of_the_day_before_the_judgment() -> None:
    assert amounts_as_of(D(2026, 3, 1)) == D(2026, 2, 28)
    dates = declaration_dates(D(2026, 3, 1), D(2026, 3, 12))
    assert (dates.opened_on, dates.published_on, dates.deadline) == (
        D(2026, 3, 1),
        D(2026, 3, 12),
        D(2026, 5, 12),
    )


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)), st.integers(0, 120))
def test_add_months_keeps_the_day_or_takes_the_months_last(d: dt.date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    if result.day != d.day:
        # Only when the target month is too short, and then its last day.
        assert result.day < d.day
        assert (result + dt.timedelta(days=1)).day == 1
    assert result >= d
