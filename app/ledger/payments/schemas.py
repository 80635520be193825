from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day, InputModel, MoneyOut, PositiveMoney


class PaymentCreate(InputModel):
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
    model_config = ConfigDict(from_attributes=True)

    id: str
    invoice_id: str
    amount: MoneyOut
    paid_at: dt.date
    method: str | None
    reference: str | None
    created_at: dt.datetime
