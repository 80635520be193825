from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day, InputModel, JsonExample, MoneyOut, PositiveMoney

_PAYMENT: JsonExample = {
    "amount": "250.00",
    "paid_at": "2026-02-20",
    "method": "transfer",
    "reference": "VIR SEPA MARTIN F-2026-001",
}
PAYMENT_EXAMPLE: JsonExample = {
    "id": "pay_01M8RXWXA0VFZKKA2V7P6AVWWG",
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    **_PAYMENT,
    "created_at": "2026-02-20T16:41:02Z",
}


class PaymentCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PAYMENT]})

    amount: PositiveMoney
    paid_at: Day = Field(description="The day the money was received")
    method: str | None = Field(
        default=None,
        max_length=32,
        examples=["transfer"],
        description="transfer, card, cheque, direct_debit, cash, other...",
    )
    reference: str | None = Field(default=None, max_length=200)


class PaymentOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [PAYMENT_EXAMPLE]}
    )

    id: str
    invoice_id: str
    amount: MoneyOut
    paid_at: dt.date
    method: str | None
    reference: str | None
    created_at: dt.datetime
