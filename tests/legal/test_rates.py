"""RateBook: published, ECB-derived, provisional and operator-added half-year rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from app.legal import figures as legal
from app.legal.rates import RATE_KINDS, RateBook


@pytest.fixture
def book() -> RateBook:
    return RateBook()


def test_published_b2b_rate(book: RateBook) -> None:
    found = book.rate_for("b2b_default", 2025, 1)
    assert found.rate == Decimal("13.15")
    assert not found.provisional
    assert found.source == "published 2025H1"


@pytest.mark.parametrize("entry", legal.B2B_DEFAULT_PENALTY_RATE, ids=str)
def test_ecb_plus_margin_matches_every_published_b2b_half_year(
    book: RateBook, entry: legal.HalfYearRate
) -> None:
    # Cross-checks the two tables of legal.py against each other.
    assert book.ecb_derived_b2b_rate(entry.year, entry.half) == entry.rate


def test_b2b_derived_from_ecb_before_the_published_table(book: RateBook) -> None:
    found = book.rate_for("b2b_default", 2019, 1)
    assert found == found.__class__(
        Decimal("10.00"), False, "derived 2019H1: ECB 0.00 on 2019-01-01 + 10 points"
    )


def test_b2b_2026h2_is_provisional_because_ecb_knowledge_ends_in_february_2026(
    book: RateBook,
) -> None:
    assert book.ecb_derived_b2b_rate(2026, 2) is None
    found = book.rate_for("b2b_default", 2026, 2)
    assert found.rate == Decimal("12.15")
    assert found.provisional
    assert found.source == "last known 2026H1 (2026H2 not yet published)"


def test_before_the_earliest_entry_uses_it_flagged(book: RateBook) -> None:
    # The ECB table starts 2016-03-16, so 2016H1 (from 1 January) is not covered.
    b2b = book.rate_for("b2b_default", 2016, 1)
    assert (b2b.rate, b2b.provisional) == (Decimal("10.00"), True)
    assert b2b.source == "earliest known 2016H2 (2016H1 precedes the rate table)"
    other = book.rate_for("legal_other", 2020, 2)
    assert (other.rate, other.provisional) == (Decimal("2.06"), True)
    assert "precedes" in other.source


def test_legal_rates_published_and_provisional(book: RateBook) -> None:
    assert book.rate_for("legal_individual", 2025, 2).rate == Decimal("6.65")
    assert book.rate_for("legal_other", 2025, 2).rate == Decimal("2.76")
    later = book.rate_for("legal_individual", 2027, 1)
    assert (later.rate, later.provisional) == (Decimal("6.67"), True)
    assert later.source == "last known 2026H1 (2027H1 not yet published)"


def test_extra_extends_and_overrides() -> None:
    book = RateBook(
        extra=[
            ("b2b_default", 2026, 2, Decimal("12.40")),
            ("legal_other", 2025, 1, Decimal("9.99")),
        ]
    )
    found = book.rate_for("b2b_default", 2026, 2)
    assert (found.rate, found.provisional) == (Decimal("12.40"), False)
    assert found.source == "published 2026H2 (added)"
    assert book.rate_for("legal_other", 2025, 1).rate == Decimal("9.99")
    # The next unpublished half-year now falls back on the added one.
    assert (
        book.rate_for("b2b_default", 2027, 1).source
        == "last known 2026H2 (2027H1 not yet published)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("b2b_default", 2026, 3, Decimal("1")), "half must be 1 or 2"),
        (("b2b_default", 2026, 2, Decimal("-1")), "non-negative Decimal"),
        (("nope", 2026, 2, Decimal("1")), "unknown rate kind"),
        (("b2b_default", 2026, 2, 1.5), "non-negative Decimal"),
    ],
)
def test_extra_validated(extra: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateBook(extra=[extra])


def test_half_years_lists_exactly_the_non_provisional_ones(book: RateBook) -> None:
    for kind in RATE_KINDS:
        rows = book.half_years(kind)
        assert rows == sorted(rows)
        for year, half, rate in rows:
            found = book.rate_for(kind, year, half)
            assert (found.rate, found.provisional) == (rate, False)
    b2b = book.half_years("b2b_default")
    assert b2b[0] == (2016, 2, Decimal("10.00"))
    assert b2b[-1] == (2026, 1, Decimal("12.15"))
    assert book.half_years("legal_other")[0] == (2023, 1, Decimal("2.06"))


def test_ecb_rate_on(book: RateBook) -> None:
    assert book.ecb_rate_on(dt.date(2016, 3, 16)) == Decimal("0.00")
    assert book.ecb_rate_on(dt.date(2024, 6, 11)) == Decimal("4.50")
    assert book.ecb_rate_on(dt.date(2024, 6, 12)) == Decimal("4.25")
    assert book.ecb_rate_on(dt.date(2026, 2, 28)) == Decimal("2.15")
    for unknown in (dt.date(2016, 3, 15), dt.date(2026, 3, 1)):
        with pytest.raises(LookupError):
            book.ecb_rate_on(unknown)
