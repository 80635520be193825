from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types import (
    Currency,
    Day,
    ExternalId,
    InputModel,
    JsonExample,
    MoneyOut,
    PatchModel,
    PositiveMoney,
    RateIn,
    RateOut,
)
from app.ledger.documents.schemas import DocumentOut

InvoiceStatus = Literal["open", "paid", "cancelled", "written_off"]
# The dunning state the escalation engine answers, stored on the invoice.
DunningStage = Literal[
    "not_due",
    "overdue",
    "reminders",
    "formal_notice_required",
    "formal_notice_sent",
    "litigation",
    "closed",
    # E-invoice lifecycle outcomes (app.legal.einvoicing): the creditor never chases these.
    "refused",
    "undelivered",
    "factored",
]
PauseReason = Literal[
    "dispute", "promise_to_pay", "payment_plan", "insolvency", "suspended", "payment_announced"
]
InvoiceNumber = str

_INVOICE: JsonExample = {
    "creditor_id": "cred_01M8RXWX582EZ3P8WWJ5NCHY75",
    "debtor_id": "debt_01M8RXWX62BF21R4FRX6K5QKXH",
    "number": "F-2026-001",
    "issue_date": "2026-01-15",
    "amount": "1250.00",
    "currency": "EUR",
    "external_id": "inv_77812",
}
# An invoice 16 days late, partly paid, after its first reminder.
INVOICE_EXAMPLE: JsonExample = {
    "id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    **_INVOICE,
    "due_date": "2026-02-14",
    "late_penalty_rate": None,
    "paid_amount": "250.00",
    "balance": "1000.00",
    "status": "open",
    "closed_reason": None,
    "days_overdue": 16,
    "disputed": False,
    "received_on": "2026-01-15",
    "approved": True,
    "approved_amount": None,
    "dunning": {
        "stage": "reminders",
        "last_step": "reminder_1",
        "next_step": "reminder_2",
        "next_action_at": "2026-03-02T00:00:00+01:00",
        "paused": False,
        "paused_reason": None,
        "formal_notice_deadline": None,
    },
    "limitation_ends_on": "2031-02-14",
    "warnings": [],
    "created_at": "2026-01-15T10:05:37Z",
    "updated_at": "2026-02-20T16:41:02Z",
}


class InvoiceCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_INVOICE]})

    creditor_id: str = Field(max_length=40)
    debtor_id: str = Field(max_length=40)
    number: str = Field(min_length=1, max_length=64, description="Unique per creditor")
    issue_date: Day
    due_date: Day | None = Field(
        default=None, description="Default: issue date + the creditor's payment_terms_days"
    )
    amount: PositiveMoney = Field(description="Amount due, VAT included")
    currency: Currency = "EUR"
    late_penalty_rate: RateIn | None = Field(
        default=None,
        description="Contractual rate for this invoice (percent per year); null: the creditor's, "
        "else the legal default",
    )
    external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> InvoiceCreate:
        if self.due_date is not None and self.due_date < self.issue_date:
            raise ValueError("due_date must not be before issue_date")
        return self


class InvoiceUpdate(PatchModel):
    required_fields = ("issue_date", "due_date", "amount", "currency")

    issue_date: Day | None = None
    due_date: Day | None = None
    amount: PositiveMoney | None = None
    currency: Currency | None = None
    late_penalty_rate: RateIn | None = None
    external_id: ExternalId | None = None


class DunningOut(BaseModel):
    stage: DunningStage = Field(
        description="not_due | overdue | reminders | formal_notice_required | "
        "formal_notice_sent | litigation | closed; from e-invoice lifecycle statuses: refused "
        "(210: never chased), undelivered (213 rejected or 221 routing error: never delivered, "
        "no dunning, no penalties), factored (225: the claim belongs to the factor)"
    )
    last_step: str | None
    next_step: str | None
    next_action_at: dt.datetime | None
    paused: bool
    paused_reason: PauseReason | None = Field(
        description="dispute | promise_to_pay | payment_plan | insolvency | suspended (e-invoice "
        "status 208, until 209) | payment_announced (status 211, for a bounded number of days)"
    )
    formal_notice_deadline: dt.date | None


class InvoiceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [INVOICE_EXAMPLE]})

    id: str
    creditor_id: str
    debtor_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount: MoneyOut
    currency: str
    late_penalty_rate: RateOut | None
    external_id: str | None
    paid_amount: MoneyOut
    balance: MoneyOut
    status: InvoiceStatus
    closed_reason: str | None
    days_overdue: int = Field(description="Days past the due date (service clock), 0 if not late")
    disputed: bool
    received_on: dt.date | None = Field(
        default=None,
        description="The day the debtor received the e-invoice (lifecycle status 202 or 203): "
        "proof of delivery",
    )
    approved: bool = Field(
        default=False,
        description="The debtor approved the e-invoice (lifecycle status 204, 205 or 206)",
    )
    approved_amount: MoneyOut | None = Field(
        default=None,
        description="Partial approval (status 206): the claim, its interest and the dunning "
        "balance are limited to this amount; null: the whole amount",
    )
    dunning: DunningOut
    limitation_ends_on: dt.date | None = Field(
        description="Prescription: the last day to sue (5 years B2B, 2 years against a consumer, "
        "from the due date; moved by an acknowledgment or a court action)"
    )
    warnings: list[str] = Field(
        description="Lawful but noteworthy facts, e.g. payment terms beyond the legal maximum"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class InvoiceFilters:
    """What `GET /v1/invoices` narrows to; None: no condition. Due dates are inclusive."""

    creditor_id: str | None = None
    debtor_id: str | None = None
    number: str | None = None
    external_id: str | None = None
    status: InvoiceStatus | None = None
    stage: DunningStage | None = None
    overdue: bool | None = None
    due_after: dt.date | None = None
    due_before: dt.date | None = None


class BatchInvoices(InputModel):
    invoices: list[dict[str, object]] = Field(
        min_length=1,
        max_length=1000,
        description="Up to 1000 invoices (InvoiceCreate); upserted by (creditor_id, number)",
    )


class BatchItemError(BaseModel):
    index: int = Field(description="Position of the item in `invoices`, from 0")
    problem: dict[str, object] = Field(
        description="Why the item was refused, as a problem+json body; its `errors[].loc` "
        'point into the request, e.g. `["body", "invoices", 3, "amount"]`',
        examples=[
            {
                "type": "https://relance.dev/problems/validation-error",
                "title": "Invalid request",
                "status": 422,
                "detail": "amount: must be greater than 0",
                "errors": [
                    {"loc": ["body", "invoices", 3, "amount"], "msg": "must be greater than 0"}
                ],
            }
        ],
    )


class BatchResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[BatchItemError]


class CloseInvoice(InputModel):
    reason: str = Field(min_length=1, max_length=2000)


# --- e-invoice intake -----------------------------------------------------------------------------

EInvoiceFormatOut = Literal["facturx", "cii", "ubl"]
ImportOutcome = Literal["created", "updated", "unchanged", "cancelled", "credited"]


class EInvoiceIntake(BaseModel):
    """What `POST /v1/invoices/import` detected in the file and did with it."""

    format: EInvoiceFormatOut = Field(
        description="facturx: a Factur-X PDF (its CII XML read); cii: a CII XML "
        "(rsm:CrossIndustryInvoice); ubl: a UBL 2.1 Invoice XML"
    )
    profile: str | None = Field(
        description="The Factur-X / EN 16931 level its guideline id (BT-24) names: minimum, "
        "basicwl, basic, en16931, extended, extended-ctc-fr; null when it names none",
        examples=["en16931"],
    )
    type_code: str = Field(
        description="Document type (BT-3, UNTDID 1001): 380 commercial invoice, 384 corrected, "
        "389 self-billed, 386 prepayment...",
        examples=["380"],
    )
    outcome: ImportOutcome = Field(
        description="created (201); updated: the invoice with this number changed (200); "
        "unchanged: already imported as it is (200); for a credit note (200), on the invoice "
        "it credits: cancelled (the whole amount) or credited (its amount lowered)"
    )
    debtor_created: bool = Field(
        description="true when no debtor of the creditor had the buyer's identifier or SIREN "
        "and one was created"
    )
    document: DocumentOut = Field(description="The document keeping the file (kind `invoice`)")


_IMPORTED_EXAMPLE: JsonExample = {
    **INVOICE_EXAMPLE,
    "paid_amount": "0.00",
    "balance": "1250.00",
    "days_overdue": 0,
    "dunning": {
        "stage": "not_due",
        "last_step": None,
        "next_step": "pre_reminder",
        "next_action_at": "2026-02-07T00:00:00+01:00",
        "paused": False,
        "paused_reason": None,
        "formal_notice_deadline": None,
    },
    "intake": {
        "format": "facturx",
        "profile": "en16931",
        "type_code": "380",
        "outcome": "created",
        "debtor_created": True,
        "document": {
            "id": "doc_01M8RXWX9Q3N4Y7T2E5B8C1D0F",
            "invoice_id": INVOICE_EXAMPLE["id"],
            "kind": "invoice",
            "reference": "F-2026-001",
            "date": "2026-01-15",
            "note": "E-invoice imported: Factur-X PDF (en16931), type 380.",
            "file": {
                "name": "F-2026-001.pdf",
                "content_type": "application/pdf",
                "size": 48213,
                "sha256": "9f2c4e0b7d1a...",
                "url": f"/v1/invoices/{INVOICE_EXAMPLE['id']}/documents/"
                "doc_01M8RXWX9Q3N4Y7T2E5B8C1D0F/file",
            },
            "created_at": "2026-01-15T10:05:37Z",
        },
    },
}


class ImportedInvoice(InvoiceOut):
    """The invoice as `GET /v1/invoices/{id}` shows it, and what the import detected."""

    model_config = ConfigDict(json_schema_extra={"examples": [_IMPORTED_EXAMPLE]})

    intake: EInvoiceIntake
