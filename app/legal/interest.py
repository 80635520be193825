"""What an overdue invoice is worth on a given day: principal, late interest, fixed indemnity.

Convention (pure computation; money in Decimal only, never float):

- **Simple interest on the unpaid principal**, day by day. Interest accrues for each day ``d``
  with ``start <= d <= as_of``:
  - business debtor: ``start`` = due date + 1 day (C. com. L441-10: penalties are due from the
    day after the due date, without any reminder);
  - consumer debtor: ``start`` = the date of the mise en demeure (C. civ. 1231-6, 1344-1); no
    interest at all while none has been sent. Interest never starts before the day after the
    due date, even if the notice is dated earlier.
- **Payments**: the principal of day ``d`` is the amount minus the payments made on or before
  ``d``. A payment stops interest on the paid part **from its own day**: the day of payment is
  not charged for the paid part (just as paying on the due date costs nothing).
- **Periods** split at each half-year boundary (1 January, 1 July: the rate changes) and at each
  payment date. Days with a zero principal accrue nothing and belong to no period. Period ends
  are inclusive: ``days = end - start + 1``.
- **Amount of a period** = principal x rate / 100 x days / 365 (a 365-day year, leap years
  included), rounded half-up to the cent per period; the interest is the sum of the periods.
- **Rate**: business debtor: the default rate of the half-year (ECB rate on 1 January / 1 July
  + 10 points), or the contractual rate when one is agreed; consumer debtor: the taux
  d'intérêt légal of the half-year ("all other cases", or "creditor is an individual").
  When a half-year's rate is not published yet, the last known one is used and the period,
  and the claim, are flagged ``provisional``.
- **Contractual-rate floor, per half-year** (C. com. L441-10 II: "Sauf disposition contraire qui
  ne peut toutefois fixer un taux inférieur à trois fois le taux d'intérêt légal, ce taux est
  égal au taux [...] de la Banque centrale européenne [...] majoré de 10 points"). The taux
  légal changes every six months, so a rate valid when agreed can fall below the floor of a
  later half-year (10 % was valid in 2022, when 3 x 0.77 = 2.31 %, but below 3 x 5.07 = 15.21 %
  in 2024H1). The text allows a contractual rate only down to the floor: in a period where the
  agreed rate is below 3 x the taux légal ("all other cases": the creditor is a professional)
  of that half-year, the claim applies the floor itself, and flags the period
  (``floor_applied``, with the agreed rate and the floor). This is the reading of the practice
  guides ("la clause ne tient pas : le minimum de trois fois le taux légal s'applique",
  originlabs relances-impayes-fr, 2026); another reading holds the clause void for that period,
  so that the default ECB + 10 rate applies: the flag lets a lawyer choose. Where the floor
  rests on a taux légal not yet published, the period is also ``provisional``.
- **Collective proceedings** (``interest_stops_on``, the date of the opening judgment): the
  judgment stops legal, contractual and late interest (C. com. L622-28, L631-14, L641-3) from
  its date (zero hour: R621-4, R631-7, R641-1), so the last day bearing interest is the day
  before; the fixed indemnity is due only if the invoice was already late then. The principal
  is still the one unpaid on ``as_of`` (later payments, dividends, reduce it).
- **Fixed indemnity** (C. com. D441-5): business debtor whose invoice was still unpaid after the
  due date: the creditor's amount, never less than 40 EUR; consumer debtor: none (C. conso
  L111-8: no recovery fees may be charged to a consumer).
- ``principal`` = amount - payments made on or before ``as_of`` (never negative);
  ``total`` = principal + interest + fixed indemnity. Interest and indemnity stay claimable
  after the principal is paid in full: a late payment still leaves a claim.
- ``as_of`` on or before the due date: no interest and no indemnity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from app.legal import figures as legal
from app.legal.rates import RateBook, RateKind, half_year_of, next_half_year_start

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE_DAY = dt.timedelta(days=1)

DebtorKind = Literal["business", "consumer"]
# Claim.rate_basis values: which rate the periods use ("none": no interest can run yet).
RateBasis = Literal[
    "b2b_default", "contractual", "legal_other", "legal_individual", "none", "mixed"
]


@dataclass(frozen=True)
class Payment:
    paid_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class InterestPeriod:
    start: dt.date
    end: dt.date  # inclusive
    days: int
    rate: Decimal  # percent per year: the rate applied
    principal: Decimal
    amount: Decimal
    provisional: bool
    # Contractual basis only: the agreed rate, the floor of the half-year (3 x taux légal) and
    # whether the floor replaced the agreed rate in this period (C. com. L441-10).
    contractual_rate: Decimal | None = None
    rate_floor: Decimal | None = None
    floor_applied: bool = False


@dataclass(frozen=True)
class Claim:
    principal: Decimal
    interest: Decimal
    interest_periods: tuple[InterestPeriod, ...]
    fixed_indemnity: Decimal
    total: Decimal
    provisional: bool
    rate_basis: RateBasis
    floor_applied: bool = False  # some period applied the contractual-rate floor
    interest_stopped_on: dt.date | None = None  # collective proceedings opened on this day


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _require_decimal(name: str, value: object) -> None:
    # Binary floats would silently lose cents: refuse them at the boundary.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {value!r}")


def period_interest(principal: Decimal, rate: Decimal, days: int) -> Decimal:
    """principal x rate/100 x days/365, rounded half-up to the cent."""
    return _money(principal * rate * days / (100 * legal.DAYS_IN_YEAR))


def compute_claim(
    *,
    amount: Decimal,
    due_date: dt.date,
    payments: Sequence[Payment],
    as_of: dt.date,
    debtor_kind: DebtorKind,
    rates: RateBook,
    contractual_rate: Decimal | None = None,
    creditor_is_individual: bool = False,
    consumer_interest_from: dt.date | None = None,
    fixed_indemnity: Decimal = legal.FIXED_INDEMNITY_EUR,
    interest_stops_on: dt.date | None = None,
) -> Claim:
    """The claim on ``as_of`` under the convention of the module docstring."""
    _check_inputs(
        amount=amount,
        payments=payments,
        debtor_kind=debtor_kind,
        contractual_rate=contractual_rate,
        fixed_indemnity=fixed_indemnity,
    )
    principal = _money(_unpaid_on(amount, payments, as_of))
    kind, start, basis = _rate_from(
        debtor_kind,
        due_date,
        contractual_rate=contractual_rate,
        creditor_is_individual=creditor_is_individual,
        consumer_interest_from=consumer_interest_from,
    )
    # The last day that bears interest (and by which lateness earns the indemnity).
    last_day = as_of if interest_stops_on is None else min(as_of, interest_stops_on - ONE_DAY)
    periods: list[InterestPeriod] = []
    if start is not None and start <= last_day:
        periods = _periods(
            amount,
            payments,
            start,
            last_day,
            kind=kind,
            contractual_rate=contractual_rate,
            rates=rates,
        )
    interest = sum((p.amount for p in periods), ZERO)
    indemnity = _indemnity(
        amount,
        payments,
        due_date,
        last_day,
        debtor_kind=debtor_kind,
        fixed_indemnity=fixed_indemnity,
    )
    return Claim(
        principal=principal,
        interest=interest,
        interest_periods=tuple(periods),
        fixed_indemnity=indemnity,
        total=principal + interest + indemnity,
        provisional=any(p.provisional for p in periods),
        rate_basis=basis,
        floor_applied=any(p.floor_applied for p in periods),
        interest_stopped_on=interest_stops_on,
    )


def _check_inputs(
    *,
    amount: Decimal,
    payments: Sequence[Payment],
    debtor_kind: DebtorKind,
    contractual_rate: Decimal | None,
    fixed_indemnity: Decimal,
) -> None:
    if debtor_kind not in ("business", "consumer"):
        raise ValueError(f"unknown debtor kind: {debtor_kind!r}")
    _require_decimal("amount", amount)
    _require_decimal("fixed_indemnity", fixed_indemnity)
    if contractual_rate is not None:
        _require_decimal("contractual_rate", contractual_rate)
        if contractual_rate < 0:
            raise ValueError("contractual_rate must not be negative")
    if amount < 0:
        raise ValueError("amount must not be negative")
    for p in payments:
        _require_decimal("payment amount", p.amount)


def _unpaid_on(amount: Decimal, payments: Sequence[Payment], d: dt.date) -> Decimal:
    """Principal of day d: payments made on or before d no longer bear interest."""
    paid = sum((p.amount for p in payments if p.paid_on <= d), ZERO)
    return max(amount - paid, ZERO)


def _rate_from(
    debtor_kind: DebtorKind,
    due_date: dt.date,
    *,
    contractual_rate: Decimal | None,
    creditor_is_individual: bool,
    consumer_interest_from: dt.date | None,
) -> tuple[RateKind | None, dt.date | None, RateBasis]:
    """Which rate (None: the contractual one), from which day (None: no interest runs yet)."""
    kind: RateKind | None
    start: dt.date | None
    if debtor_kind == "business":
        start = due_date + ONE_DAY
        kind = None if contractual_rate is not None else "b2b_default"
        basis: RateBasis = "contractual" if contractual_rate is not None else "b2b_default"
    else:
        # The consumer rules ignore any contractual rate: taux légal from the notice only.
        kind = "legal_individual" if creditor_is_individual else "legal_other"
        start = None
        basis = "none"
        if consumer_interest_from is not None:
            start = max(consumer_interest_from, due_date + ONE_DAY)
            basis = kind
    return kind, start, basis


def _periods(
    amount: Decimal,
    payments: Sequence[Payment],
    start: dt.date,
    as_of: dt.date,
    *,
    kind: RateKind | None,
    contractual_rate: Decimal | None,
    rates: RateBook,
) -> list[InterestPeriod]:
    # A new period begins at each 1 Jan / 1 Jul and on each payment day.
    cuts = {start}
    boundary = next_half_year_start(start)
    while boundary <= as_of:
        cuts.add(boundary)
        boundary = next_half_year_start(boundary)
    cuts.update(p.paid_on for p in payments if start < p.paid_on <= as_of)
    ordered = sorted(cuts)
    periods: list[InterestPeriod] = []
    for i, p_start in enumerate(ordered):
        p_end = ordered[i + 1] - ONE_DAY if i + 1 < len(ordered) else as_of
        p_principal = _unpaid_on(amount, payments, p_start)
        if p_principal <= 0:
            continue
        days = (p_end - p_start).days + 1
        if kind is None:
            assert contractual_rate is not None
            periods.append(
                _contractual_period(p_start, p_end, days, p_principal, contractual_rate, rates)
            )
            continue
        found = rates.rate_for(kind, *half_year_of(p_start))
        periods.append(
            InterestPeriod(
                start=p_start,
                end=p_end,
                days=days,
                rate=found.rate,
                principal=_money(p_principal),
                amount=period_interest(p_principal, found.rate, days),
                provisional=found.provisional,
            )
        )
    return periods


def _contractual_period(
    start: dt.date,
    end: dt.date,
    days: int,
    principal: Decimal,
    contractual_rate: Decimal,
    rates: RateBook,
) -> InterestPeriod:
    """A period at the agreed rate, or at the floor of its half-year when the agreed rate is
    below it (L441-10 II; see the module docstring)."""
    legal_rate = rates.rate_for("legal_other", *half_year_of(start))
    floor = legal.MIN_CONTRACTUAL_RATE_MULTIPLIER * legal_rate.rate
    below = contractual_rate < floor
    rate = floor if below else contractual_rate
    return InterestPeriod(
        start=start,
        end=end,
        days=days,
        rate=rate,
        principal=_money(principal),
        amount=period_interest(principal, rate, days),
        # The floor is only as certain as the taux légal it is made of.
        provisional=below and legal_rate.provisional,
        contractual_rate=contractual_rate,
        rate_floor=floor,
        floor_applied=below,
    )


def _indemnity(
    amount: Decimal,
    payments: Sequence[Payment],
    due_date: dt.date,
    as_of: dt.date,
    *,
    debtor_kind: DebtorKind,
    fixed_indemnity: Decimal,
) -> Decimal:
    # D441-5: due per *late* invoice, so only if something was still unpaid after the due date.
    if (
        debtor_kind == "business"
        and as_of > due_date
        and _unpaid_on(amount, payments, due_date + ONE_DAY) > 0
    ):
        return _money(max(fixed_indemnity, legal.FIXED_INDEMNITY_EUR))
    if debtor_kind == "consumer":
        return _money(legal.CONSUMER_FIXED_INDEMNITY_EUR)
    return ZERO


def combine_claims(claims: Sequence[Claim]) -> Claim:
    """Several invoices' claims as one (e.g. for a letter about several invoices): sums, all
    periods in order, one fixed indemnity per late invoice."""
    bases = {c.rate_basis for c in claims if c.rate_basis != "none"}
    # One debtor, one opening judgment: the claims share it (or none has one).
    stops = [c.interest_stopped_on for c in claims if c.interest_stopped_on is not None]
    return Claim(
        principal=sum((c.principal for c in claims), ZERO),
        interest=sum((c.interest for c in claims), ZERO),
        interest_periods=tuple(p for c in claims for p in c.interest_periods),
        fixed_indemnity=sum((c.fixed_indemnity for c in claims), ZERO),
        total=sum((c.total for c in claims), ZERO),
        provisional=any(c.provisional for c in claims),
        rate_basis=bases.pop() if len(bases) == 1 else ("mixed" if bases else "none"),
        floor_applied=any(c.floor_applied for c in claims),
        interest_stopped_on=min(stops, default=None),
    )


def minimum_contractual_rate(on: dt.date, rates: RateBook) -> Decimal:
    """The floor of a contractual late-penalty rate on ``on``: 3 x the taux d'intérêt légal
    ("all other cases") of that half-year (C. com. L441-10)."""
    legal_rate = rates.rate_for("legal_other", *half_year_of(on)).rate
    return legal.MIN_CONTRACTUAL_RATE_MULTIPLIER * legal_rate
