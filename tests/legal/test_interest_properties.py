"""Properties of compute_claim over random invoices, payments and dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from decimal import Decimal
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.legal import figures as legal
from app.legal.interest import Claim, Payment, compute_claim
from app.legal.rates import RateBook, RateKind, half_year_of

BOOK = RateBook()
ONE_DAY = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Case:
    amount: Decimal
    due_date: dt.date
    payments: list[Payment]
    as_of: dt.date
    debtor_kind: Literal["business", "consumer"]
    contractual_rate: Decimal | None
    creditor_is_individual: bool
    consumer_interest_from: dt.date | None

    def claim(self, as_of: dt.date | None = None) -> Claim:
        return compute_claim(
            amount=self.amount,
            due_date=self.due_date,
            payments=self.payments,
            as_of=as_of or self.as_of,
            debtor_kind=self.debtor_kind,
            rates=BOOK,
            contractual_rate=self.contractual_rate,
            creditor_is_individual=self.creditor_is_individual,
            consumer_interest_from=self.consumer_interest_from,
        )

    def unpaid_on(self, d: dt.date) -> Decimal:
        return self.amount - sum((p.amount for p in self.payments if p.paid_on <= d), Decimal(0))

    def accruing_days(self) -> list[dt.date]:
        """Brute force, day by day: the days that bear interest under the stated convention."""
        if self.debtor_kind == "business":
            start = self.due_date + ONE_DAY
        elif self.consumer_interest_from is None:
            return []
        else:
            start = max(self.consumer_interest_from, self.due_date + ONE_DAY)
        days = []
        d = start
        while d <= self.as_of:
            if self.unpaid_on(d) > 0:
                days.append(d)
            d += ONE_DAY
        return days

    def rate_on(self, d: dt.date) -> Decimal:
        if self.debtor_kind == "business":
            if self.contractual_rate is not None:
                # Never below the floor of the day's half-year (C. com. L441-10 II).
                return max(self.contractual_rate, floor_on(d))
            return BOOK.rate_for("b2b_default", *half_year_of(d)).rate
        kind: RateKind = "legal_individual" if self.creditor_is_individual else "legal_other"
        return BOOK.rate_for(kind, *half_year_of(d)).rate


def floor_on(d: dt.date) -> Decimal:
    return (
        legal.MIN_CONTRACTUAL_RATE_MULTIPLIER * BOOK.rate_for("legal_other", *half_year_of(d)).rate
    )


dates = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2027, 12, 31))
money = st.integers(min_value=1, max_value=10**9).map(lambda cents: Decimal(cents) / 100)
cases = st.builds(
    Case,
    amount=money,
    due_date=dates,
    payments=st.lists(st.builds(Payment, paid_on=dates, amount=money), max_size=5),
    as_of=dates,
    debtor_kind=st.sampled_from(["business", "consumer"]),
    contractual_rate=st.none() | st.decimals(min_value=0, max_value=50, places=2),
    creditor_is_individual=st.booleans(),
    consumer_interest_from=st.none() | dates,
)


@settings(max_examples=200, deadline=None)
@given(cases, st.integers(min_value=0, max_value=400))
def test_interest_is_monotone_in_as_of(case: Case, extra_days: int) -> None:
    later = case.claim(case.as_of + dt.timedelta(days=extra_days))
    assert later.interest >= case.claim().interest


@settings(max_examples=300, deadline=None)
@given(cases)
def test_never_negative_and_totals_add_up(case: Case) -> None:
    claim = case.claim()
    assert claim.principal >= 0
    assert claim.interest >= 0
    assert claim.fixed_indemnity >= 0
    assert all(p.amount >= 0 and p.principal > 0 for p in claim.interest_periods)
    assert claim.interest == sum((p.amount for p in claim.interest_periods), Decimal(0))
    assert claim.total == claim.principal + claim.interest + claim.fixed_indemnity
    assert claim.provisional == any(p.provisional for p in claim.interest_periods)
    if case.debtor_kind == "consumer":
        assert claim.fixed_indemnity == 0
    for value in (claim.principal, claim.interest, claim.fixed_indemnity, claim.total):
        assert value == value.quantize(Decimal("0.01"))


@settings(max_examples=300, deadline=None)
@given(cases)
def test_periods_contiguous_non_overlapping_within_one_half_year(case: Case) -> None:
    periods = case.claim().interest_periods
    for p in periods:
        assert p.start <= p.end <= case.as_of
        assert p.days == (p.end - p.start).days + 1
        assert half_year_of(p.start) == half_year_of(p.end)
    for prev, nxt in itertools.pairwise(periods):
        # Payments only lower the principal, so accrual never resumes after a gap.
        assert nxt.start == prev.end + ONE_DAY


@settings(max_examples=300, deadline=None)
@given(cases)
def test_days_and_amounts_match_a_day_by_day_computation(case: Case) -> None:
    claim = case.claim()
    days = case.accruing_days()
    assert sum(p.days for p in claim.interest_periods) == len(days)
    if days:
        assert claim.interest_periods[0].start == days[0]
        assert claim.interest_periods[-1].end == days[-1]
    # Unrounded daily sum vs per-period rounding: at most half a cent off per period.
    exact = sum(
        (case.unpaid_on(d) * case.rate_on(d) / 100 / legal.DAYS_IN_YEAR for d in days),
        Decimal(0),
    )
    tolerance = Decimal("0.005") * len(claim.interest_periods) + Decimal("1e-12")
    assert abs(claim.interest - exact) <= tolerance


contractual_cases = st.builds(
    Case,
    amount=money,
    due_date=dates,
    payments=st.lists(st.builds(Payment, paid_on=dates, amount=money), max_size=5),
    as_of=dates,
    debtor_kind=st.just("business"),
    contractual_rate=st.decimals(min_value=0, max_value=30, places=2),
    creditor_is_individual=st.booleans(),
    consumer_interest_from=st.none(),
)


@settings(max_examples=300, deadline=None)
@given(contractual_cases)
def test_contractual_floor_is_checked_per_period(case: Case) -> None:
    """Each period is charged max(agreed, 3 x taux légal of its half-year), flagged exactly
    when the floor wins, and says both rates."""
    agreed = case.contractual_rate
    assert agreed is not None
    claim = case.claim()
    for p in claim.interest_periods:
        floor = floor_on(p.start)
        assert p.rate_floor == floor
        assert p.contractual_rate == agreed
        assert p.rate == max(agreed, floor)
        assert p.floor_applied == (agreed < floor)
        assert p.rate >= floor
    assert claim.floor_applied == any(p.floor_applied for p in claim.interest_periods)


@settings(max_examples=200, deadline=None)
@given(contractual_cases, st.decimals(min_value=0, max_value=10, places=2))
def test_a_higher_agreed_rate_never_claims_less(case: Case, more: Decimal) -> None:
    assert case.contractual_rate is not None
    higher = dataclasses.replace(case, contractual_rate=case.contractual_rate + more)
    assert higher.claim().interest >= case.claim().interest


@settings(max_examples=200, deadline=None)
@given(contractual_cases)
def test_an_agreed_rate_below_every_floor_claims_the_floors(case: Case) -> None:
    """Agreeing 0 % is the same as agreeing exactly the floor, half-year by half-year."""
    zero = dataclasses.replace(case, contractual_rate=Decimal("0")).claim()
    for p in zero.interest_periods:
        assert p.rate == p.rate_floor
        assert p.floor_applied == (p.rate_floor is not None and p.rate_floor > 0)


@settings(max_examples=300, deadline=None)
@given(cases, dates)
def test_the_opening_judgment_stops_interest(case: Case, opened_on: dt.date) -> None:
    """With proceedings opened on a day, interest and indemnity are those of the day before
    (whatever as_of), no period reaches the opening day, and the principal is as_of's."""
    stopped = compute_claim(
        amount=case.amount,
        due_date=case.due_date,
        payments=case.payments,
        as_of=case.as_of,
        debtor_kind=case.debtor_kind,
        rates=BOOK,
        contractual_rate=case.contractual_rate,
        creditor_is_individual=case.creditor_is_individual,
        consumer_interest_from=case.consumer_interest_from,
        interest_stops_on=opened_on,
    )
    eve = case.claim(min(case.as_of, opened_on - ONE_DAY))
    assert all(p.end < opened_on for p in stopped.interest_periods)
    assert stopped.interest_periods == eve.interest_periods
    assert (stopped.interest, stopped.fixed_indemnity) == (eve.interest, eve.fixed_indemnity)
    assert stopped.principal == case.claim().principal
    assert stopped.interest <= case.claim().interest
    assert stopped.interest_stopped_on == opened_on
