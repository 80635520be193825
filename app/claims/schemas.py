from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from app.core.types import InputModel, JsonExample, MoneyOut, RateIn, RateOut
from app.ledger.debtors.schemas import InsolvencyProcedure
from app.legal.figures import Half
from app.legal.interest import RateBasis
from app.legal.rates import Horizon, RateKind


class HalfYearRateOut(BaseModel):
    year: int
    half: int
    rate: RateOut
    source: str = Field(
        description="Where the figure was read: the arrêté or ECB decision and the page that "
        "reports it, the operator's source, or the ECB derivation"
    )
    verified: bool = Field(
        description="false: read in secondary sources only, not checked against the "
        "publication itself (used as published until an operator confirms it)"
    )
    origin: Literal["figures", "operator", "derived"] = Field(
        description="figures: the sourced table shipped with the service (app/legal/figures.py); "
        "operator: recorded with POST /v1/admin/rates or `relance rates add`; derived: ECB "
        "rate on 1 January / 1 July + 10 points"
    )


class UnpublishedRateOut(BaseModel):
    kind: RateKind
    horizon: Horizon = Field(description="current or next half-year, relative to today")
    year: int
    half: int
    provisional_rate: RateOut = Field(
        description="The rate claims use meanwhile, flagged provisional"
    )
    source: str = Field(description="Where the provisional rate comes from")


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
    unpublished: list[UnpublishedRateOut] = Field(
        description="The kinds whose current or next half-year has no published rate yet: an "
        "operator should record it (POST /v1/admin/rates, `relance rates add`) once the arrêté "
        "or the ECB decision is out. Also the `relance_rate_unpublished` gauge of /metrics."
    )


class RatePublish(InputModel):
    kind: RateKind
    year: int = Field(ge=2000, le=2100)
    half: Half
    rate: RateIn
    source: str = Field(min_length=1, max_length=500, examples=["JORF du 24 décembre 2026"])


class InterestPeriodOut(BaseModel):
    # Shown as `from`/`to`; read back from either name (a claim in an event payload).
    start: dt.date = Field(
        serialization_alias="from", validation_alias=AliasChoices("start", "from")
    )
    end: dt.date = Field(serialization_alias="to", validation_alias=AliasChoices("end", "to"))
    days: int
    rate: RateOut = Field(description="The rate applied in the period, percent per year")
    principal: MoneyOut
    amount: MoneyOut
    provisional: bool
    contractual_rate: RateOut | None = Field(
        default=None,
        description="The agreed late-penalty rate (invoice's, else creditor's); null unless "
        "the claim is on a contractual basis",
    )
    rate_floor: RateOut | None = Field(
        default=None,
        description="Contractual basis: the legal floor of the period's half-year, 3 x the "
        "taux d'intérêt légal (all other cases) of that half-year (C. com. L441-10 II)",
    )
    floor_applied: bool = Field(
        default=False,
        description="The agreed rate is below the floor of this half-year: the period is "
        "charged at the floor (`rate` = `rate_floor`), as L441-10 II allows no contractual "
        "rate below 3 x the taux légal. A rate valid when agreed can fall below the floor of a "
        "later half-year (10 % was below 3 x 5.07 = 15.21 % in 2024H1).",
    )


class DeclaredAmounts(BaseModel):
    principal: MoneyOut = Field(description="Unpaid on the day before the opening judgment")
    interest: MoneyOut = Field(description="Late interest up to the day before the opening")
    fixed_indemnity: MoneyOut = Field(description="Due if the invoice was late before it")
    total: MoneyOut


class InsolvencyDatesOut(BaseModel):
    procedure: InsolvencyProcedure
    opened_on: dt.date = Field(
        description="Date of the opening judgment: interest stops from this day (C. com. "
        "L622-28, L631-14, L641-3; the judgment takes effect at zero hour of its date)"
    )
    published_on: dt.date | None = Field(description="BODACC publication of the judgment")
    declaration_deadline: dt.date | None = Field(
        description="Last day to declare the claim to the mandataire judiciaire: BODACC "
        "publication + 2 months (C. com. R622-24; months counted as CPC art. 641 counts them, "
        "not moved off a weekend or holiday). 4 months for a creditor domiciled outside "
        "metropolitan France (not computed). Null while `published_on` is not recorded."
    )
    relief_from_foreclosure_deadline: dt.date | None = Field(
        description="Out of time, the creditor may ask to be relieved of the foreclosure "
        "within 6 months of the BODACC publication (C. com. L622-26)"
    )
    amounts_as_of: dt.date = Field(
        description="The day the amounts to declare are computed for: the day before the "
        "opening judgment"
    )


class ClaimInsolvencyOut(InsolvencyDatesOut):
    arose_before_opening: bool = Field(
        description="The invoice was issued before the opening judgment: a prior claim, to "
        "be declared, whose interest stops at the opening. An invoice issued on or after it is "
        "not declared (C. com. L622-17) and its interest is not stopped."
    )
    due_at_opening: bool = Field(
        description="Due before the opening (créance échue); otherwise declared as not yet due "
        "(à échoir, R622-23)"
    )
    to_declare: DeclaredAmounts | None = Field(
        description="Principal, interest and indemnity up to the opening date; null when the "
        "invoice is not a prior claim"
    )


class StatementInsolvencyOut(InsolvencyDatesOut):
    to_declare: DeclaredAmounts = Field(
        description="Totals to declare over the debtor's open invoices issued before the "
        "opening judgment"
    )


# 1250.00 due on 14 February 2026, 250.00 paid on the 20th, claimed on 2 March (B2B: ECB + 10).
CLAIM_EXAMPLE: JsonExample = {
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    "as_of": "2026-03-02",
    "currency": "EUR",
    "principal": "1000.00",
    "interest": "5.74",
    "interest_periods": [
        {
            "from": "2026-02-15",
            "to": "2026-02-19",
            "days": 5,
            "rate": "12.15",
            "principal": "1250.00",
            "amount": "2.08",
            "provisional": False,
        },
        {
            "from": "2026-02-20",
            "to": "2026-03-02",
            "days": 11,
            "rate": "12.15",
            "principal": "1000.00",
            "amount": "3.66",
            "provisional": False,
        },
    ],
    "fixed_indemnity": "40.00",
    "total": "1045.74",
    "provisional": False,
    "rate_basis": "b2b_default",
    "floor_applied": False,
    "interest_stopped_on": None,
    "insolvency": None,
}


class ClaimOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CLAIM_EXAMPLE]})

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
    floor_applied: bool = Field(
        default=False,
        description="Some period charges the contractual-rate floor instead of the agreed "
        "rate (see `interest_periods[].floor_applied`)",
    )
    interest_stopped_on: dt.date | None = Field(
        default=None,
        description="Collective proceedings opened on this day: no interest accrues from it "
        "(C. com. L622-28), whatever `as_of`",
    )
    insolvency: ClaimInsolvencyOut | None = Field(
        default=None,
        description="The debtor is under collective proceedings: the declaration deadline and "
        "the amounts to declare to the mandataire judiciaire",
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
    insolvency: StatementInsolvencyOut | None = Field(
        default=None,
        description="The debtor is under collective proceedings: the declaration deadline and "
        "the totals to declare (each invoice's share is in `invoices[].insolvency`)",
    )
