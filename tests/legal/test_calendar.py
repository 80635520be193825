import datetime as dt

import pytest

from app.legal.calendar import FRENCH_CALENDAR, BusinessCalendar

D = dt.date


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2026, 1, 1), "New Year"),
        (D(2026, 4, 6), "Easter Monday"),
        (D(2026, 5, 1), "Labour Day (a Friday)"),
        (D(2026, 5, 8), "Victory in Europe Day"),
        (D(2026, 5, 14), "Ascension"),
        (D(2026, 5, 25), "Whit Monday"),
        (D(2026, 7, 14), "Bastille Day"),
        (D(2026, 11, 11), "Armistice"),
        (D(2026, 12, 25), "Christmas"),
    ],
)
def test_public_holidays_on_weekdays_are_not_business_days(day, name):
    assert day.weekday() < 5, name
    assert not FRENCH_CALENDAR.is_business_day(day), name


def test_assumption_2026_falls_on_a_saturday():
    assert D(2026, 8, 15).weekday() == 5
    assert FRENCH_CALENDAR.is_holiday(D(2026, 8, 15))
    assert FRENCH_CALENDAR.roll_forward(D(2026, 8, 15)) == D(2026, 8, 17)


def test_weekends_are_not_business_days():
    assert not FRENCH_CALENDAR.is_business_day(D(2026, 3, 7))  # Saturday
    assert not FRENCH_CALENDAR.is_business_day(D(2026, 3, 8))  # Sunday
    assert FRENCH_CALENDAR.is_business_day(D(2026, 3, 9))  # Monday


def test_ordinary_weekdays_are_business_days():
    assert FRENCH_CALENDAR.is_business_day(D(2026, 3, 10))
    # Good Friday and 26 December are holidays only in Alsace-Moselle.
    assert FRENCH_CALENDAR.is_business_day(D(2026, 4, 3))
    assert FRENCH_CALENDAR.is_business_day(D(2026, 12, 24))


def test_roll_forward():
    assert FRENCH_CALENDAR.roll_forward(D(2026, 3, 10)) == D(2026, 3, 10)
    assert FRENCH_CALENDAR.roll_forward(D(2026, 3, 7)) == D(2026, 3, 9)
    # Friday 1 May, then the weekend -> Monday 4 May.
    assert FRENCH_CALENDAR.roll_forward(D(2026, 5, 1)) == D(2026, 5, 4)
    # Saturday 4 April, Sunday, Easter Monday -> Tuesday 7 April.
    assert FRENCH_CALENDAR.roll_forward(D(2026, 4, 4)) == D(2026, 4, 7)
    assert FRENCH_CALENDAR.roll_forward(D(2026, 5, 23)) == D(2026, 5, 26)  # Whit Monday
    assert FRENCH_CALENDAR.roll_forward(D(2026, 5, 14)) == D(2026, 5, 15)  # Ascension
    # Across a year boundary: Friday 1 January 2027.
    assert FRENCH_CALENDAR.roll_forward(D(2026, 12, 31)) == D(2026, 12, 31)
    assert FRENCH_CALENDAR.roll_forward(D(2027, 1, 1)) == D(2027, 1, 4)


def test_add_days_counts_calendar_days_then_rolls():
    assert FRENCH_CALENDAR.add_days(D(2026, 7, 11), 3) == D(2026, 7, 15)  # 14 July -> 15
    assert FRENCH_CALENDAR.add_days(D(2026, 3, 10), 3) == D(2026, 3, 13)
    assert FRENCH_CALENDAR.add_days(D(2026, 3, 10), -7) == D(2026, 3, 3)
    # Negative offsets still roll forward, never backward.
    assert FRENCH_CALENDAR.add_days(D(2026, 5, 8), -7) == D(2026, 5, 4)
    assert FRENCH_CALENDAR.add_days(D(2026, 3, 10), 0) == D(2026, 3, 10)


def test_alsace_moselle_has_good_friday_and_saint_stephen():
    alsace = BusinessCalendar(subdiv="57")
    assert not alsace.is_business_day(D(2026, 4, 3))
    assert not alsace.is_business_day(D(2025, 12, 26))  # a Friday
    assert alsace.is_business_day(D(2026, 4, 2))


def test_unknown_subdivision_is_refused_at_construction():
    with pytest.raises(NotImplementedError):
        BusinessCalendar(subdiv="XX")


def test_deterministic_across_years_and_calls():
    days = [D(2025, 1, 1) + dt.timedelta(days=i) for i in range(800)]
    first = [FRENCH_CALENDAR.is_business_day(d) for d in days]
    fresh = BusinessCalendar()
    assert first == [fresh.is_business_day(d) for d in reversed(days)][::-1]
    # About 252 business days a year in France.
    assert (
        245
        <= sum(
            FRENCH_CALENDAR.is_business_day(D(2026, 1, 1) + dt.timedelta(days=i))
            for i in range(365)
        )
        <= 256
    )
