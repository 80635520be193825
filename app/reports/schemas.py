"""Report shapes: aged balance, DSO, the D441-6 payment-terms table, recovery by escalation step."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.core.types import MoneyOut


def _fixed(places: int) -> PlainSerializer:
    quantum = Decimal(1).scaleb(-places)

    def render(value: Decimal) -> str:
        rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
        return f"{abs(rounded) if rounded == 0 else rounded:.{places}f}"  # never "-0.0"

    return PlainSerializer(render, return_type=str)


# Decimals as strings, like money: never a binary float on the way out.
OneDecimal = Annotated[
    Decimal,
    _fixed(1),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d$", "examples": ["42.5"]}),
]
Percent = Annotated[
    Decimal,
    _fixed(2),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["3.75"], "description": "%"}
    ),
]

LateBucket = Literal["1_30", "31_60", "61_90", "over_90"]  # days past the due date
LATE_BUCKETS: tuple[LateBucket, ...] = get_args(LateBucket)
AgingBucket = Literal["not_due", LateBucket]
AGING_BUCKETS: tuple[AgingBucket, ...] = get_args(AgingBucket)


class CountAmount(BaseModel):
    count: int = Field(description="Number of invoices")
    amount: MoneyOut = Field(description="Sum of their balances")


class AgingBucketLine(BaseModel):
    bucket: AgingBucket
    count: int
    amount: MoneyOut


class AgingBuckets(BaseModel):
    """The five buckets of one debtor, keyed like the `bucket` values of the report."""

    model_config = ConfigDict(populate_by_name=True)

    not_due: CountAmount
    days_1_30: CountAmount = Field(alias="1_30")
    days_31_60: CountAmount = Field(alias="31_60")
    days_61_90: CountAmount = Field(alias="61_90")
    over_90: CountAmount


class DebtorAging(BaseModel):
    debtor_id: str
    name: str
    buckets: AgingBuckets
    total: CountAmount


class AgedBalance(BaseModel):
    as_of: dt.date
    currency: str
    creditor_id: str | None = Field(description="null: all the tenant's creditors")
    buckets: list[AgingBucketLine] = Field(
        description="In order not_due, 1_30, 31_60, 61_90, over_90"
    )
    total: CountAmount
    debtors: list[DebtorAging] = Field(description="Debtors with a balance, largest total first")


class Dso(BaseModel):
    as_of: dt.date
    days: int
    currency: str
    creditor_id: str | None
    receivables: MoneyOut = Field(description="Balances outstanding at `as_of`")
    sales: MoneyOut = Field(description="Amounts invoiced over the `days` days up to `as_of`")
    dso: OneDecimal | None = Field(description="receivables / sales x days; null when sales = 0")
    method: str


class PaymentTermsColumn(BaseModel):
    bucket: LateBucket | Literal["total"]
    label: str = Field(examples=["1 à 30 jours"])
    count: int = Field(description="Nombre de factures concernées")
    amount: MoneyOut = Field(description="Montant total des factures concernées TTC")
    revenue_share: Percent | None = Field(
        description="Pourcentage du chiffre d'affaires TTC de l'exercice; null when it is 0"
    )


class PaymentTermsExcluded(BaseModel):
    count: int = Field(description="Nombre des factures exclues")
    amount: MoneyOut = Field(description="Montant total des factures exclues TTC")


class PaymentTerms(BaseModel):
    creditor_id: str
    currency: str
    fiscal_year_start: dt.date
    fiscal_year_end: dt.date
    revenue: MoneyOut = Field(
        description="Chiffre d'affaires TTC: invoices issued in the fiscal year, except cancelled"
    )
    buckets: list[PaymentTermsColumn] = Field(
        description="(A) Tranches de retard de paiement: 1_30, 31_60, 61_90, over_90 (91 jours "
        "et plus)"
    )
    total: PaymentTermsColumn = Field(description="Total (1 jour et plus)")
    excluded: PaymentTermsExcluded = Field(
        description="(B) Factures exclues du (A) relatives à des créances litigieuses: past due, "
        "unpaid and under dispute at the closing date"
    )
    reference_terms: str = Field(
        description="(C) Délais de paiement de référence utilisés pour le calcul des retards"
    )


RecoveryStep = Annotated[
    str,
    Field(
        description="before_due | after_due | after_<reminder step code> | after_formal_notice | "
        "in_litigation",
        examples=["after_reminder_1"],
    ),
]


class RecoveryTotals(BaseModel):
    count: int = Field(description="Invoices paid in full")
    amount: MoneyOut = Field(description="Their amounts")
    average_days_to_pay: OneDecimal | None = Field(
        description="Mean of (payment date - issue date); null without invoices"
    )
    average_days_late: OneDecimal | None = Field(
        description="Mean of (payment date - due date); negative: paid before the due date"
    )


class RecoveryLine(RecoveryTotals):
    step: RecoveryStep


class Recovery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    creditor_id: str | None
    currency: str
    closed_from: dt.date | None = Field(alias="from")
    closed_to: dt.date | None = Field(alias="to")
    steps: list[RecoveryLine] = Field(
        description="Furthest step reached before payment, in escalation order"
    )
    total: RecoveryTotals
