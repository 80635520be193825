"""Golden figures for compute_claim, each computed by hand in the comments.

Formula per period: principal x rate/100 x days/365, rounded half-up to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.legal.interest import (
    Claim,
    InterestPeriod,
    Payment,
    combine_claims,
    compute_claim,
    minimum_contractual_rate,
)
from app.legal.rates import RateBook

D = Decimal
BOOK = RateBook()


def b2b(amount: str, due: dt.date, as_of: dt.date, payments=(), **kw) -> Claim:
    return compute_claim(
        amount=D(amount),
        due_date=due,
        payments=list(payments),
        as_of=as_of,
        debtor_kind="business",
        rates=kw.pop("rates", BOOK),
        **kw,
    )


def test_whole_half_year() -> None:
    # 10,000.00 due 2024-12-31: interest for 2025-01-01 .. 2025-06-30 = 31+28+31+30+31+30 = 181
    # days at 13.15 % (2025H1): 10000 x 0.1315 x 181 / 365 = 238015 / 365 = 652.0958.. -> 652.10
    claim = b2b("10000.00", dt.date(2024, 12, 31), dt.date(2025, 6, 30))
    assert claim.interest_periods == (
        InterestPeriod(
            start=dt.date(2025, 1, 1),
            end=dt.date(2025, 6, 30),
            days=181,
            rate=D("13.15"),
            principal=D("10000.00"),
            amount=D("652.10"),
            provisional=False,
        ),
    )
    assert claim.principal == D("10000.00")
    assert claim.interest == D("652.10")
    assert claim.fixed_indemnity == D("40.00")
    assert claim.total == D("10692.10")  # 10000 + 652.10 + 40
    assert not claim.provisional
    assert claim.rate_basis == "b2b_default"


def test_half_year_boundary_changes_the_rate() -> None:
    # 5,000.00 due 2025-06-15, as of 2025-07-15:
    # 2025-06-16 .. 06-30: 15 days at 13.15: 5000 x 0.1315 x 15 / 365 = 9862.5 / 365
    #   = 27.0205 -> 27.02
    # 2025-07-01 .. 07-15: 15 days at 12.15: 5000 x 0.1215 x 15 / 365 = 9112.5 / 365
    #   = 24.9657 -> 24.97
    claim = b2b("5000.00", dt.date(2025, 6, 15), dt.date(2025, 7, 15))
    assert [(p.start, p.end, p.days, p.rate, p.amount) for p in claim.interest_periods] == [
        (dt.date(2025, 6, 16), dt.date(2025, 6, 30), 15, D("13.15"), D("27.02")),
        (dt.date(2025, 7, 1), dt.date(2025, 7, 15), 15, D("12.15"), D("24.97")),
    ]
    assert claim.interest == D("51.99")
    assert claim.total == D("5091.99")  # 5000 + 51.99 + 40


def test_partial_payments() -> None:
    # 10,000.00 due 2025-01-31; 4,000.00 paid 2025-03-01, 1,000.00 paid 2025-04-15 (after as_of).
    # 2025-02-01 .. 02-28: 28 days on 10,000 at 13.15: 1315 x 28 / 365 = 100.8767 -> 100.88
    # 2025-03-01 .. 03-31: 31 days on 6,000 (the payment day is not charged for the paid part):
    #   6000 x 0.1315 x 31 / 365 = 789 x 31 / 365 = 24459 / 365 = 67.0109 -> 67.01
    payments = [
        Payment(dt.date(2025, 3, 1), D("4000.00")),
        Payment(dt.date(2025, 4, 15), D("1000.00")),
    ]
    claim = b2b("10000.00", dt.date(2025, 1, 31), dt.date(2025, 3, 31), payments)
    assert [(p.start, p.end, p.principal, p.amount) for p in claim.interest_periods] == [
        (dt.date(2025, 2, 1), dt.date(2025, 2, 28), D("10000.00"), D("100.88")),
        (dt.date(2025, 3, 1), dt.date(2025, 3, 31), D("6000.00"), D("67.01")),
    ]
    assert claim.principal == D("6000.00")
    assert claim.interest == D("167.89")
    assert claim.total == D("6207.89")  # 6000 + 167.89 + 40


def test_payment_before_the_due_date_reduces_the_principal() -> None:
    # 1,000.00 due 2025-01-31, 600.00 paid on 2025-01-20: 400 x 0.1315 x 28 / 365
    # = 1472.8 / 365 = 4.0350.. -> 4.04 (February)
    claim = b2b(
        "1000.00",
        dt.date(2025, 1, 31),
        dt.date(2025, 2, 28),
        [Payment(dt.date(2025, 1, 20), D("600.00"))],
    )
    assert claim.principal == D("400.00")
    assert claim.interest == D("4.04")
    assert claim.fixed_indemnity == D("40.00")


def test_consumer_interest_from_the_formal_notice_at_the_legal_rate() -> None:
    # 2,000.00 due 2025-03-31, mise en demeure 2025-05-15, as of 2025-08-31, business creditor:
    # 2025-05-15 .. 06-30: 17 + 30 = 47 days at 3.71: 2000 x 0.0371 x 47 / 365 = 3487.4 / 365
    #   = 9.5545 -> 9.55
    # 2025-07-01 .. 08-31: 31 + 31 = 62 days at 2.76: 2000 x 0.0276 x 62 / 365 = 3422.4 / 365
    #   = 9.3764 -> 9.38
    kw = {
        "amount": D("2000.00"),
        "due_date": dt.date(2025, 3, 31),
        "payments": [],
        "as_of": dt.date(2025, 8, 31),
        "debtor_kind": "consumer",
        "rates": BOOK,
    }
    claim = compute_claim(consumer_interest_from=dt.date(2025, 5, 15), **kw)  # type: ignore[arg-type]
    assert [(p.start, p.days, p.rate, p.amount) for p in claim.interest_periods] == [
        (dt.date(2025, 5, 15), 47, D("3.71"), D("9.55")),
        (dt.date(2025, 7, 1), 62, D("2.76"), D("9.38")),
    ]
    assert claim.interest == D("18.93")
    assert claim.fixed_indemnity == D("0.00")  # CPCE L111-8
    assert claim.total == D("2018.93")
    assert claim.rate_basis == "legal_other"

    # Creditor is an individual: 7.21 then 6.65.
    # 2000 x 0.0721 x 47 / 365 = 6777.4 / 365 = 18.5682 -> 18.57
    # 2000 x 0.0665 x 62 / 365 = 8246 / 365 = 22.5917 -> 22.59
    individual = compute_claim(
        consumer_interest_from=dt.date(2025, 5, 15),
        creditor_is_individual=True,
        **kw,  # type: ignore[arg-type]
    )
    assert individual.interest == D("41.16")
    assert individual.rate_basis == "legal_individual"

    # No mise en demeure yet: no interest, no indemnity, even with a contractual rate.
    none = compute_claim(contractual_rate=D("20"), fixed_indemnity=D("100.00"), **kw)  # type: ignore[arg-type]
    assert (none.interest, none.fixed_indemnity, none.total) == (D("0.00"), D("0.00"), D("2000.00"))
    assert none.interest_periods == ()
    assert none.rate_basis == "none"


def test_contractual_rate_is_flat_but_periods_still_split_by_half_year() -> None:
    # 1,000.00 due 2025-09-30 at 15 %, as of 2026-01-31:
    # 2025-10-01 .. 12-31: 92 days: 1000 x 0.15 x 92 / 365 = 13800 / 365 = 37.8082 -> 37.81
    # 2026-01-01 .. 01-31: 31 days: 1000 x 0.15 x 31 / 365 = 4650 / 365 = 12.7397 -> 12.74
    claim = b2b("1000.00", dt.date(2025, 9, 30), dt.date(2026, 1, 31), contractual_rate=D("15"))
    assert [(p.days, p.rate, p.amount) for p in claim.interest_periods] == [
        (92, D("15"), D("37.81")),
        (31, D("15"), D("12.74")),
    ]
    assert claim.interest == D("50.55")
    assert claim.rate_basis == "contractual"


def test_provisional_period_when_the_half_year_is_not_published() -> None:
    # 1,000.00 due 2026-12-31, as of 2027-01-31: 31 days in 2027H1, whose ECB rate (in force on
    # 1 January 2027) is not known: the last known ECB rate, 2.65, + 10 = 12.65, flagged:
    # 1000 x 0.1265 x 31 / 365 = 3921.5 / 365 = 10.7438 -> 10.74
    claim = b2b("1000.00", dt.date(2026, 12, 31), dt.date(2027, 1, 31))
    (period,) = claim.interest_periods
    assert (period.rate, period.amount, period.provisional) == (D("12.65"), D("10.74"), True)
    assert claim.provisional
    # Once an operator adds the 2027H1 rate: 1000 x 0.129 x 31 / 365 = 3999 / 365 = 10.9562
    # -> 10.96, no longer provisional.
    book = RateBook(extra=[("b2b_default", 2027, 1, D("12.90"))])
    published = b2b("1000.00", dt.date(2026, 12, 31), dt.date(2027, 1, 31), rates=book)
    assert (published.interest, published.provisional) == (D("10.96"), False)


def test_2026h2_uses_the_12_40_rate_of_the_june_2026_ecb_rise() -> None:
    # 1,000.00 due 2026-06-30, as of 2026-07-31: 31 days at 12.40 (ECB 2.40 on 1 July + 10):
    # 1000 x 0.124 x 31 / 365 = 3844 / 365 = 10.5315 -> 10.53, published.
    claim = b2b("1000.00", dt.date(2026, 6, 30), dt.date(2026, 7, 31))
    (period,) = claim.interest_periods
    assert (period.rate, period.amount, period.provisional) == (D("12.40"), D("10.53"), False)


def test_a_2022h2_consumer_period_uses_the_0_77_taux_legal() -> None:
    # 10,000.00 due 2022-09-30, mise en demeure received 2022-10-01, as of 2022-12-31: 92 days
    # at 0.77 % (2022H2, other cases): 10000 x 0.0077 x 92 / 365 = 7084 / 365 = 19.4082 -> 19.41
    claim = compute_claim(
        amount=D("10000.00"),
        due_date=dt.date(2022, 9, 30),
        payments=[],
        as_of=dt.date(2022, 12, 31),
        debtor_kind="consumer",
        rates=BOOK,
        consumer_interest_from=dt.date(2022, 10, 1),
    )
    assert [(p.days, p.rate, p.amount, p.provisional) for p in claim.interest_periods] == [
        (92, D("0.77"), D("19.41"), False)
    ]


def test_contractual_rate_below_the_floor_of_a_later_half_year_is_raised_to_it() -> None:
    # 10 % agreed; 1,000.00 due 2023-12-31, as of 2025-07-31. The floor is 3 x the taux légal
    # (other cases) of each half-year (C. com. L441-10 II):
    # 2024H1: 3 x 5.07 = 15.21 > 10: 182 days: 1000 x 0.1521 x 182 / 365 = 75.8416 -> 75.84
    # 2024H2: 3 x 4.92 = 14.76 > 10: 184 days: 1000 x 0.1476 x 184 / 365 = 74.4066 -> 74.41
    # 2025H1: 3 x 3.71 = 11.13 > 10: 181 days: 1000 x 0.1113 x 181 / 365 = 55.1926 -> 55.19
    # 2025H2: 3 x 2.76 = 8.28 <= 10, the agreed rate: 31 days: 1000 x 0.10 x 31 / 365 = 8.49
    claim = b2b("1000.00", dt.date(2023, 12, 31), dt.date(2025, 7, 31), contractual_rate=D("10"))
    assert [
        (p.start, p.days, p.rate, p.rate_floor, p.floor_applied, p.amount)
        for p in claim.interest_periods
    ] == [
        (dt.date(2024, 1, 1), 182, D("15.21"), D("15.21"), True, D("75.84")),
        (dt.date(2024, 7, 1), 184, D("14.76"), D("14.76"), True, D("74.41")),
        (dt.date(2025, 1, 1), 181, D("11.13"), D("11.13"), True, D("55.19")),
        (dt.date(2025, 7, 1), 31, D("10"), D("8.28"), False, D("8.49")),
    ]
    assert all(p.contractual_rate == D("10") for p in claim.interest_periods)
    assert claim.interest == D("213.93")
    assert claim.floor_applied
    assert claim.rate_basis == "contractual"
    assert not claim.provisional


def test_the_floor_resting_on_an_unpublished_taux_legal_is_provisional() -> None:
    # 2026H2: no taux légal published: the floor uses 2026H1's 2.62 (3 x = 7.86), provisional.
    low = b2b("1000.00", dt.date(2026, 6, 30), dt.date(2026, 7, 31), contractual_rate=D("5"))
    (period,) = low.interest_periods
    assert (period.rate, period.floor_applied, period.provisional) == (D("7.86"), True, True)
    # An agreed rate above the floor does not depend on it: not provisional.
    high = b2b("1000.00", dt.date(2026, 6, 30), dt.date(2026, 7, 31), contractual_rate=D("15"))
    (period,) = high.interest_periods
    assert (period.rate, period.floor_applied, period.provisional) == (D("15"), False, False)


def test_opening_judgment_stops_interest_from_its_date() -> None:
    # 1,000.00 due 2025-12-31; redressement opened 2026-03-01 (effective at zero hour): interest
    # through 2026-02-28 only, whatever as_of: 59 days at 12.15: 1000 x 0.1215 x 59 / 365
    # = 7168.5 / 365 = 19.6397 -> 19.64; indemnity due (late before the opening).
    opened = dt.date(2026, 3, 1)
    claim = b2b("1000.00", dt.date(2025, 12, 31), dt.date(2026, 6, 30), interest_stops_on=opened)
    assert [(p.start, p.end, p.days) for p in claim.interest_periods] == [
        (dt.date(2026, 1, 1), dt.date(2026, 2, 28), 59)
    ]
    assert (claim.interest, claim.fixed_indemnity, claim.total) == (
        D("19.64"),
        D("40.00"),
        D("1059.64"),
    )
    assert claim.interest_stopped_on == opened
    assert b2b("1000.00", dt.date(2025, 12, 31), dt.date(2026, 2, 28)).interest == D("19.64")


def test_no_interest_nor_indemnity_when_not_late_before_the_opening() -> None:
    opened = dt.date(2026, 3, 1)
    # Due the day before the opening: not one day late before it.
    claim = b2b("1000.00", dt.date(2026, 2, 28), dt.date(2026, 6, 30), interest_stops_on=opened)
    assert (claim.interest, claim.fixed_indemnity, claim.total) == (
        D("0.00"),
        D("0.00"),
        D("1000.00"),
    )
    # Due two days before: one day of interest (1000 x 0.1215 / 365 = 0.3329 -> 0.33) and 40.
    late = b2b("1000.00", dt.date(2026, 2, 27), dt.date(2026, 6, 30), interest_stops_on=opened)
    assert (late.interest, late.fixed_indemnity) == (D("0.33"), D("40.00"))


def test_payments_after_the_opening_still_reduce_the_principal() -> None:
    claim = b2b(
        "1000.00",
        dt.date(2025, 12, 31),
        dt.date(2026, 6, 30),
        [Payment(dt.date(2026, 5, 1), D("300.00"))],
        interest_stops_on=dt.date(2026, 3, 1),
    )
    assert claim.principal == D("700.00")
    assert claim.interest == D("19.64")  # on 1,000.00 until the opening


def test_paid_invoice_still_has_interest_and_indemnity() -> None:
    # 1,200.00 due 2025-01-31, paid in full on 2025-03-03, as of 2025-06-30:
    # 2025-02-01 .. 03-02: 28 + 2 = 30 days: 1200 x 0.1315 x 30 / 365 = 4734 / 365 = 12.9698
    # -> 12.97; nothing accrues after the payment.
    claim = b2b(
        "1200.00",
        dt.date(2025, 1, 31),
        dt.date(2025, 6, 30),
        [Payment(dt.date(2025, 3, 3), D("1200.00"))],
    )
    assert [(p.start, p.end, p.days) for p in claim.interest_periods] == [
        (dt.date(2025, 2, 1), dt.date(2025, 3, 2), 30)
    ]
    assert claim.principal == D("0.00")
    assert claim.interest == D("12.97")
    assert claim.fixed_indemnity == D("40.00")
    assert claim.total == D("52.97")


def test_paid_on_the_due_date_is_not_late() -> None:
    claim = b2b(
        "1200.00",
        dt.date(2025, 1, 31),
        dt.date(2025, 6, 30),
        [Payment(dt.date(2025, 1, 31), D("1200.00"))],
    )
    assert (claim.interest, claim.fixed_indemnity, claim.total) == (D("0.00"),) * 3


@pytest.mark.parametrize("as_of", [dt.date(2025, 1, 30), dt.date(2025, 1, 31)])
def test_nothing_before_or_on_the_due_date(as_of: dt.date) -> None:
    claim = b2b("1000.00", dt.date(2025, 1, 31), as_of)
    assert claim.interest_periods == ()
    assert (claim.interest, claim.fixed_indemnity, claim.total) == (
        D("0.00"),
        D("0.00"),
        D("1000.00"),
    )


def test_first_day_late() -> None:
    # One day at 13.15 on 1,000.00: 131.5 / 365 = 0.3603 -> 0.36
    claim = b2b("1000.00", dt.date(2025, 1, 31), dt.date(2025, 2, 1))
    assert (claim.interest, claim.fixed_indemnity) == (D("0.36"), D("40.00"))


def test_leap_year_still_uses_365_days() -> None:
    # 3,650.00 due 2024-01-31, as of 2024-02-29: 29 days at 14.50 (2024H1):
    # 3650 x 0.145 x 29 / 365 = 10 x 0.145 x 29 = 42.05 exactly.
    claim = b2b("3650.00", dt.date(2024, 1, 31), dt.date(2024, 2, 29))
    assert claim.interest_periods[0].days == 29
    assert claim.interest == D("42.05")


def test_rounding_is_half_up_per_period() -> None:
    # 18.25 x 10 % x 1 / 365 = 0.005 exactly -> 0.01 (banker's rounding would give 0.00).
    # (2023H1: the floor is 3 x 2.06 = 6.18, below the agreed 10 %.)
    claim = b2b("18.25", dt.date(2023, 1, 1), dt.date(2023, 1, 2), contractual_rate=D("10"))
    assert claim.interest == D("0.01")


def test_fixed_indemnity_is_at_least_the_legal_minimum() -> None:
    due, as_of = dt.date(2025, 1, 31), dt.date(2025, 2, 1)
    assert b2b("100.00", due, as_of, fixed_indemnity=D("75.00")).fixed_indemnity == D("75.00")
    assert b2b("100.00", due, as_of, fixed_indemnity=D("10.00")).fixed_indemnity == D("40.00")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        compute_claim(
            amount=100.0,  # type: ignore[arg-type]
            due_date=dt.date(2025, 1, 31),
            payments=[],
            as_of=dt.date(2025, 3, 1),
            debtor_kind="business",
            rates=BOOK,
        )


def test_minimum_contractual_rate() -> None:
    # 3 x 2.76 (legal_other 2025H2) = 8.28; 3 x 2.62 (2026H1) = 7.86
    assert minimum_contractual_rate(dt.date(2025, 9, 1), BOOK) == D("8.28")
    assert minimum_contractual_rate(dt.date(2026, 1, 1), BOOK) == D("7.86")


def test_combine_claims() -> None:
    first = b2b("10000.00", dt.date(2024, 12, 31), dt.date(2025, 6, 30))
    second = b2b("5000.00", dt.date(2025, 6, 15), dt.date(2025, 6, 30))
    both = combine_claims([first, second])
    assert both.principal == D("15000.00")
    assert both.interest == first.interest + second.interest
    assert both.fixed_indemnity == D("80.00")  # 40 per late invoice
    assert both.total == first.total + second.total
    assert len(both.interest_periods) == 2
    assert both.rate_basis == "b2b_default"
    assert both.interest_stopped_on is None
    assert not both.floor_applied
    opened = dt.date(2025, 6, 1)
    stopped = b2b("100.00", dt.date(2025, 1, 31), dt.date(2025, 6, 30), interest_stops_on=opened)
    assert combine_claims([first, stopped]).interest_stopped_on == opened
