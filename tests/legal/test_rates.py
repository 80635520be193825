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


@pytest.mark.parametrize(
    "entry", legal.B2B_DEFAULT_PENALTY_RATE, ids=lambda e: f"{e.year}H{e.half}"
)
def test_ecb_plus_margin_matches_every_published_b2b_half_year(
    book: RateBook, entry: legal.HalfYearRate
) -> None:
    # Cross-checks the two tables of legal.py against each other.
    assert book.ecb_derived_b2b_rate(entry.year, entry.half) == entry.rate


def test_b2b_derived_from_ecb_before_the_published_table(book: RateBook) -> None:
    found = book.rate_for("b2b_default", 2018, 2)
    assert found == found.__class__(
        Decimal("10.00"), False, "derived 2018H2: ECB 0.00 on 2018-07-01 + 10 points"
    )


def test_b2b_2026h2_is_published_at_12_40_from_the_2026_ecb_rise(book: RateBook) -> None:
    # ECB 2.40 from 2026-06-17, in force on 1 July 2026: 2.40 + 10 = 12.40 (not 12.15).
    assert book.ecb_rate_on(dt.date(2026, 7, 1)) == Decimal("2.40")
    assert book.ecb_derived_b2b_rate(2026, 2) == Decimal("12.40")
    found = book.rate_for("b2b_default", 2026, 2)
    assert (found.rate, found.provisional) == (Decimal("12.40"), False)
    assert found.source == "published 2026H2"


def test_b2b_2027h1_is_estimated_from_the_last_known_ecb_rate(book: RateBook) -> None:
    # The rate in force on 1 January 2027 is not known (December 2026 decision): the last known
    # ECB rate, 2.65 since 2026-09-16, + 10 = 12.65, provisional.
    assert book.ecb_derived_b2b_rate(2027, 1) is None
    found = book.rate_for("b2b_default", 2027, 1)
    assert (found.rate, found.provisional) == (Decimal("12.65"), True)
    assert found.source.startswith("estimated 2027H1: last known ECB 2.65 (on 2026-12-01)")
    # Once an operator records 2027H1, a later unknown half-year falls back on it.
    added = RateBook(extra=[("b2b_default", 2027, 1, Decimal("12.90"), "ECB 2.90 + 10")])
    later = added.rate_for("b2b_default", 2027, 2)
    assert (later.rate, later.provisional) == (Decimal("12.90"), True)
    assert later.source == "last known 2027H1 (2027H2 not yet published)"


def test_before_the_earliest_entry_uses_it_flagged(book: RateBook) -> None:
    # The ECB table starts 2016-03-16, so 2016H1 (from 1 January) is not covered.
    b2b = book.rate_for("b2b_default", 2016, 1)
    assert (b2b.rate, b2b.provisional) == (Decimal("10.00"), True)
    assert b2b.source == "earliest known 2016H2 (2016H1 precedes the rate table)"
    other = book.rate_for("legal_other", 2018, 2)
    assert (other.rate, other.provisional) == (Decimal("0.86"), True)
    assert "precedes" in other.source


# As published by the arrêtés (see the sources in app/legal/figures.py): individual / other.
TAUX_LEGAL = {
    (2019, 1): ("3.40", "0.86"),
    (2019, 2): ("3.26", "0.87"),
    (2020, 1): ("3.15", "0.87"),
    (2020, 2): ("3.11", "0.84"),
    (2021, 1): ("3.14", "0.79"),
    (2021, 2): ("3.12", "0.76"),
    (2022, 1): ("3.13", "0.76"),
    (2022, 2): ("3.15", "0.77"),
    (2023, 1): ("4.47", "2.06"),
    (2023, 2): ("6.82", "4.22"),
    (2024, 1): ("8.01", "5.07"),
    (2024, 2): ("8.16", "4.92"),
    (2025, 1): ("7.21", "3.71"),
    (2025, 2): ("6.65", "2.76"),
    (2026, 1): ("6.67", "2.62"),
}


@pytest.mark.parametrize(("half_year", "rates"), TAUX_LEGAL.items(), ids=str)
def test_every_taux_legal_since_2019_is_published(
    book: RateBook, half_year: tuple[int, int], rates: tuple[str, str]
) -> None:
    individual = book.rate_for("legal_individual", *half_year)
    other = book.rate_for("legal_other", *half_year)
    assert (individual.rate, other.rate) == (Decimal(rates[0]), Decimal(rates[1]))
    assert not individual.provisional
    assert not other.provisional


def test_a_2022h2_consumer_period_uses_0_77_not_a_later_rate(book: RateBook) -> None:
    assert book.rate_for("legal_other", 2022, 2).rate == Decimal("0.77")


def test_every_half_year_since_2019_has_a_sourced_entry_in_figures() -> None:
    for table in (
        legal.B2B_DEFAULT_PENALTY_RATE,
        legal.LEGAL_INTEREST_RATE_INDIVIDUAL,
        legal.LEGAL_INTEREST_RATE_OTHER,
    ):
        listed = [(r.year, r.half) for r in table]
        assert listed == sorted(set(listed)), "one entry per half-year, in order"
        assert listed[0] == (2019, 1)
        assert all(r.source.strip() for r in table)
    b2b = [(r.year, r.half) for r in legal.B2B_DEFAULT_PENALTY_RATE]
    assert b2b[-1] == (2026, 2)
    assert len(b2b) == 16  # 2019H1 .. 2026H2, no gap
    # Only the 2026 ECB rise is unverified (secondary sources only).
    unverified = [
        (r.year, r.half)
        for table in (
            legal.B2B_DEFAULT_PENALTY_RATE,
            legal.LEGAL_INTEREST_RATE_INDIVIDUAL,
            legal.LEGAL_INTEREST_RATE_OTHER,
        )
        for r in table
        if not r.verified
    ]
    assert unverified == [(2026, 2)]


def test_legal_rates_published_and_provisional(book: RateBook) -> None:
    assert book.rate_for("legal_individual", 2025, 2).rate == Decimal("6.65")
    assert book.rate_for("legal_other", 2025, 2).rate == Decimal("2.76")
    later = book.rate_for("legal_individual", 2027, 1)
    assert (later.rate, later.provisional) == (Decimal("6.67"), True)
    assert later.source == "last known 2026H1 (2027H1 not yet published)"
    # 2026H2: no arrêté found: the 2026H1 rates, flagged.
    current = book.rate_for("legal_other", 2026, 2)
    assert (current.rate, current.provisional) == (Decimal("2.62"), True)


def test_extra_extends_and_overrides() -> None:
    book = RateBook(
        extra=[
            ("legal_other", 2026, 2, Decimal("2.70"), "arrêté du 20 juin 2026"),
            ("legal_other", 2025, 1, Decimal("9.99")),
        ]
    )
    found = book.rate_for("legal_other", 2026, 2)
    assert (found.rate, found.provisional) == (Decimal("2.70"), False)
    assert found.source == "published 2026H2 (added)"
    assert book.rate_for("legal_other", 2025, 1).rate == Decimal("9.99")
    # The next unpublished half-year now falls back on the added one.
    assert (
        book.rate_for("legal_other", 2027, 1).source
        == "last known 2026H2 (2027H1 not yet published)"
    )
    added = {(k.year, k.half): k for k in book.known_rates("legal_other")}
    assert (added[(2026, 2)].source, added[(2026, 2)].origin) == (
        "arrêté du 20 juin 2026",
        "operator",
    )
    assert (added[(2025, 1)].source, added[(2025, 1)].verified) == ("operator", True)
    assert added[(2024, 1)].origin == "figures"


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
    assert b2b[-1] == (2026, 2, Decimal("12.40"))
    assert book.half_years("legal_other")[0] == (2019, 1, Decimal("0.86"))
    assert book.half_years("legal_other")[-1] == (2026, 1, Decimal("2.62"))


def test_known_rates_carry_their_source(book: RateBook) -> None:
    b2b = {(k.year, k.half): k for k in book.known_rates("b2b_default")}
    assert b2b[(2016, 2)].origin == "derived"  # before the sourced table: ECB + 10
    assert b2b[(2016, 2)].source.startswith("derived 2016H2: ECB 0.00")
    assert b2b[(2026, 2)].origin == "figures"
    assert not b2b[(2026, 2)].verified
    assert "2.40" in b2b[(2026, 2)].source
    other = {(k.year, k.half): k for k in book.known_rates("legal_other")}
    assert "ECOT2218806A" in other[(2022, 2)].source
    assert other[(2022, 2)].verified


@pytest.mark.parametrize(
    ("today", "gaps"),
    [
        # 1 December 2026: 2026H2 has no taux légal; 2027H1 has neither taux légal nor ECB.
        (
            dt.date(2026, 12, 1),
            {
                ("b2b_default", "next", "2027H1"),
                ("legal_individual", "current", "2026H2"),
                ("legal_individual", "next", "2027H1"),
                ("legal_other", "current", "2026H2"),
                ("legal_other", "next", "2027H1"),
            },
        ),
        # 2 March 2026: everything of 2026H1 is published, 2026H2's taux légal is not.
        (
            dt.date(2026, 3, 2),
            {("legal_individual", "next", "2026H2"), ("legal_other", "next", "2026H2")},
        ),
        (dt.date(2025, 3, 2), set()),
    ],
)
def test_coverage_gaps(book: RateBook, today: dt.date, gaps: set[tuple[str, str, str]]) -> None:
    assert {(g.kind, g.horizon, g.label) for g in book.coverage_gaps(today)} == gaps


def test_coverage_gaps_close_when_an_operator_records_the_rates() -> None:
    book = RateBook(
        extra=[
            ("legal_individual", 2026, 2, Decimal("6.70")),
            ("legal_other", 2026, 2, Decimal("2.70")),
        ]
    )
    assert {(g.kind, g.label) for g in book.coverage_gaps(dt.date(2026, 12, 1))} == {
        ("b2b_default", "2027H1"),
        ("legal_individual", "2027H1"),
        ("legal_other", "2027H1"),
    }


def test_ecb_rate_on(book: RateBook) -> None:
    assert book.ecb_rate_on(dt.date(2016, 3, 16)) == Decimal("0.00")
    assert book.ecb_rate_on(dt.date(2024, 6, 11)) == Decimal("4.50")
    assert book.ecb_rate_on(dt.date(2024, 6, 12)) == Decimal("4.25")
    assert book.ecb_rate_on(dt.date(2026, 2, 28)) == Decimal("2.15")
    assert book.ecb_rate_on(dt.date(2026, 6, 16)) == Decimal("2.15")
    assert book.ecb_rate_on(dt.date(2026, 6, 17)) == Decimal("2.40")
    assert book.ecb_rate_on(dt.date(2026, 9, 16)) == Decimal("2.65")
    assert book.ecb_rate_on(dt.date(2026, 12, 1)) == Decimal("2.65")
    for unknown in (dt.date(2016, 3, 15), dt.date(2026, 12, 2), dt.date(2027, 1, 1)):
        with pytest.raises(LookupError):
            book.ecb_rate_on(unknown)
