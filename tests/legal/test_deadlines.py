"""Deadlines as C. proc. civ. 641 and 642 count them: the one computation the engine, the letters,
readiness and the timeline share."""

from __future__ import annotations

import calendar as months
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.legal import deadlines
from app.legal.calendar import FRENCH_CALENDAR, business_calendar

DAY = dt.timedelta(days=1)
days_2019_2030 = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2030, 12, 31))
calendars = st.sampled_from([FRENCH_CALENDAR, business_calendar("57"), business_calendar("974")])


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        # The case: received on Friday 4 December 2026, 8 days -> Saturday 12 ->
        # Monday 14 December.
        (dt.date(2026, 12, 4), 8, dt.date(2026, 12, 14)),
        (dt.date(2026, 2, 23), 8, dt.date(2026, 3, 3)),  # ends on a Tuesday: as is
        (dt.date(2026, 12, 17), 8, dt.date(2026, 12, 28)),  # Friday 25 December -> Monday 28
        (dt.date(2026, 4, 27), 4, dt.date(2026, 5, 4)),  # Friday 1 May (holiday) -> Monday 4
    ],
)
def test_days_after_extends_to_the_next_working_day(start, days, end):
    assert deadlines.days_after(start, days, FRENCH_CALENDAR) == end


def test_a_local_holiday_extends_in_moselle_only():
    # 26 December 2025 (Friday) is a holiday in Moselle, not in Paris: 18 + 8.
    start = dt.date(2025, 12, 18)
    assert deadlines.days_after(start, 8, FRENCH_CALENDAR) == dt.date(2025, 12, 26)
    assert deadlines.days_after(start, 8, business_calendar("57")) == dt.date(2025, 12, 29)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2026, 5, 5), dt.date(2026, 6, 5)),  # same day number
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),  # no 31 February: the last day
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 12, 15), dt.date(2027, 1, 15)),  # across the year
    ],
)
def test_add_months_keeps_the_day_number_or_takes_the_last_day(start, end):
    assert deadlines.add_months(start, 1) == end


def test_months_after_extends_a_weekend_end():
    # 31 January 2026 + 1 month = Saturday 28 February -> Monday 2 March.
    assert deadlines.months_after(dt.date(2026, 1, 31), 1, FRENCH_CALENDAR) == dt.date(2026, 3, 2)


def test_notice_start_prefers_service_then_ar_then_presentation():
    a, b, c = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    start = deadlines.notice_start
    assert start(served_on=a, acknowledged_on=b, presented_on=c) == a
    assert start(served_on=None, acknowledged_on=b, presented_on=c) == b
    assert start(served_on=None, acknowledged_on=None, presented_on=c) == c
    assert start(served_on=None, acknowledged_on=None, presented_on=None) is None
    assert (
        deadlines.formal_notice_deadline(
            served_on=None,
            acknowledged_on=None,
            presented_on=None,
            days=8,
            calendar=FRENCH_CALENDAR,
        )
        is None
    )


@settings(max_examples=300, deadline=None)
@given(days_2019_2030, st.integers(min_value=1, max_value=60), calendars)
def test_days_after_is_the_first_working_day_from_the_nominal_end(start, days, calendar):
    end = deadlines.days_after(start, days, calendar)
    nominal = start + days * DAY
    assert end >= nominal
    assert calendar.is_business_day(end)
    # Every day between the nominal end and the extended one is a day off.
    assert all(not calendar.is_business_day(nominal + i * DAY) for i in range((end - nominal).days))


@settings(max_examples=300, deadline=None)
@given(days_2019_2030, st.integers(min_value=1, max_value=24))
def test_add_months_lands_in_the_right_month_on_the_same_or_last_day(start, n):
    end = deadlines.add_months(start, n)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == n
    last = months.monthrange(end.year, end.month)[1]
    assert end.day == min(start.day, last)


@settings(max_examples=300, deadline=None)
@given(days_2019_2030, calendars)
def test_a_month_is_never_shorter_than_28_days_and_ends_on_a_working_day(start, calendar):
    end = deadlines.months_after(start, 1, calendar)
    assert (end - start).days >= 28
    assert calendar.is_business_day(end)
    assert end == calendar.roll_forward(deadlines.add_months(start, 1))
