from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.core.types import InputModel, JsonExample, MoneyOut, PositiveMoney, Siren
from app.ledger.invoices.schemas import InvoiceOut
from app.legal.einvoicing import PAYMENT_ANNOUNCED_PAUSE_DAYS, STATUSES, Effect, LifecycleCode


def _code_table() -> str:
    rows = "\n".join(
        f"| `{s.code}` | {s.label} | `{s.effect}` | {s.meaning} |" for s in STATUSES.values()
    )
    return (
        "AFNOR XP Z12-012 lifecycle status code (CDAR), without the `VRBL:FR:` prefix. A code "
        "not in this table answers 422; a status that contradicts the invoice (e.g. 212 on a "
        "cancelled invoice, 209 without a prior 208, 205 after 210) answers 409.\n\n"
        "| code | label | effect | what it does |\n|---|---|---|---|\n" + rows
    )


CODE_DESCRIPTION = _code_table()

_STATUS: JsonExample = {
    "code": "207",
    "at": "2026-03-02T10:15:00+01:00",
    "reason_code": "MONTANTTOTAL_ERR",
    "reason": "Montant total erroné",
    "platform": "pa.example.fr",
    "message_id": "CDAR-2026-000123",
}


class LifecycleStatusFields(InputModel):
    code: LifecycleCode = Field(description=CODE_DESCRIPTION, examples=["207"])
    at: AwareDatetime = Field(
        description="When the platform issued the status (RFC 3339 with offset); its local day "
        "dates the effect (receipt day, payment day)"
    )
    reason_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_:.-]+$",
        examples=["MONTANTTOTAL_ERR"],
        description="CDAR StatusReasonCode (e.g. MONTANTTOTAL_ERR, TX_TVA_ERR, JUSTIF_ABS, "
        "ROUTING_ERR), kept as given",
    )
    reason: str | None = Field(
        default=None, max_length=2000, description="The reason's text, kept as given"
    )
    amount: PositiveMoney | None = Field(
        default=None,
        description="206: the approved amount (required); 212: the amount cashed (default: the "
        "whole claimable balance); ignored by the other codes",
    )
    platform: str | None = Field(
        default=None, max_length=200, examples=["pa.example.fr"], description="Which platform"
    )
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The platform's message id. Idempotency: the same message_id again (per "
        "tenant) answers the stored status with 200 and changes nothing; with a different body, "
        "409",
    )


class LifecycleStatusCreate(LifecycleStatusFields):
    model_config = ConfigDict(json_schema_extra={"examples": [_STATUS]})


class RoutedLifecycleStatusCreate(LifecycleStatusFields):
    """A status routed by invoice number, as a platform knows the invoice."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"seller_siren": "732829320", "invoice_number": "F-2026-001", **_STATUS},
                {
                    "creditor_id": "cred_01M8RXWX582EZ3P8WWJ5NCHY75",
                    "invoice_number": "F-2026-001",
                    "code": "212",
                    "at": "2026-03-10T09:00:00+01:00",
                    "amount": "1250.00",
                    "message_id": "CDAR-2026-000187",
                },
            ]
        }
    )

    creditor_id: str | None = Field(default=None, max_length=40, description="The seller")
    seller_siren: Siren | None = Field(
        default=None, description="Or the seller's SIREN (one of the tenant's creditors)"
    )
    invoice_number: str = Field(min_length=1, max_length=64, description="The invoice's number")

    @model_validator(mode="after")
    def _one_seller(self) -> RoutedLifecycleStatusCreate:
        if (self.creditor_id is None) == (self.seller_siren is None):
            raise ValueError("give exactly one of creditor_id and seller_siren")
        return self


LIFECYCLE_STATUS_EXAMPLE: JsonExample = {
    "id": "lcs_01M8RXWXB5Y3S0C3M8N1V4W2QZ",
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    **_STATUS,
    "amount": None,
    "label": "En litige",
    "effect": "dispute_opened",
    "effect_description": STATUSES["207"].meaning,
    "dispute_id": "dsp_01M8RXWXACVP817JVNF2CSEQ4P",
    "payment_id": None,
    "created_at": "2026-03-02T09:15:01Z",
}


class LifecycleStatusOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [LIFECYCLE_STATUS_EXAMPLE]}
    )

    id: str
    invoice_id: str
    code: LifecycleCode
    label: str = Field(description="The code's French label")
    at: dt.datetime
    reason_code: str | None
    reason: str | None
    amount: MoneyOut | None
    platform: str | None
    message_id: str | None
    effect: Effect = Field(
        description=f"What the status did (see `code`); payment_announced pauses "
        f"{PAYMENT_ANNOUNCED_PAUSE_DAYS} days"
    )
    effect_description: str
    dispute_id: str | None = Field(description="207: the dispute it opened")
    payment_id: str | None = Field(description="212: the payment it recorded")
    created_at: dt.datetime


class LifecycleStatusReceipt(LifecycleStatusOut):
    invoice: InvoiceOut = Field(description="The invoice once the status applied")
