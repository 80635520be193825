from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.core.types import InputModel, MoneyOut, RateIn, RateOut
from app.legal.figures import Half
from app.legal.interest import RateBasis
from app.legal.rates import RateKind


class HalfYearRateOut(BaseModel):
    year: int
    half: int
    rate: RateOut


class RatesOut(BaseModel):
    b2b_default: list[HalfYearRateOut] = Field(
        description="Default B2B late-penalty rate: ECB main refinancing rate on 1 January / "
        "1 July + 10 points (C. com. L441-10)"
    )
    legal_individual: list[HalfYearRateOut] = Field(
        description="Taux d'intérêt légal, creditor an individual not acting professionally"
    )
    legal_other: list[HalfYearRateOut] = Field(
        description="Taux d'intérêt légal, all other cases (business creditors)"
    )
    ecb_main_refinancing: list[dict[str, str]] = Field(
        description="ECB main refinancing rate history: [{from, rate}]"
    )
    current: dict[str, dict[str, object]] = Field(
        description="The rate of each kind today, with `provisional` when not yet published"
    )


class RatePublish(InputModel):
    kind: RateKind
    year: int = Field(ge=2000, le=2100)
    half: Half
    rate: RateIn
    source: str = Field(min_length=1, max_length=500, examples=["JORF du 24 décembre 2026"])


class InterestPeriodOut(BaseModel):
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    days: int
    rate: RateOut
    principal: MoneyOut
    amount: MoneyOut
    provisional: bool


class ClaimOut(BaseModel):
    invoice_id: str
    as_of: dt.date
    currency: str
    principal: MoneyOut
    interest: MoneyOut
    interest_periods: list[InterestPeriodOut]
    fixed_indemnity: MoneyOut
    total: MoneyOut
    provisional: bool = Field(description="A period uses a rate not yet published")
    rate_basis: RateBasis = Field(
        description="b2b_default | contractual | legal_other | legal_individual | none | mixed"
    )


class StatementLine(ClaimOut):
    number: str
    issue_date: dt.date
    due_date: dt.date


class StatementTotals(BaseModel):
    principal: MoneyOut
    interest: MoneyOut
    fixed_indemnity: MoneyOut
    total: MoneyOut


class Statement(BaseModel):
    debtor_id: str
    as_of: dt.date
    currency: str
    invoices: list[StatementLine]
    totals: StatementTotals
