from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from app.core.types import Day, InputModel, MoneyOut, PositiveMoney

PlanStatus = Literal["active", "replaced"]  # replaced: a newer plan was agreed
InstallmentStatus = Literal["paid", "due", "missed"]  # from the payments since the plan


class InstallmentIn(InputModel):
    due_date: Day
    amount: PositiveMoney


class PaymentPlanCreate(InputModel):
    installments: list[InstallmentIn] = Field(
        min_length=1, max_length=60, description="In date order; they must sum to the balance"
    )

    @model_validator(mode="after")
    def _increasing_dates(self) -> PaymentPlanCreate:
        days = [i.due_date for i in self.installments]
        if any(b <= a for a, b in pairwise(days)):
            raise ValueError("installment due dates must be strictly increasing")
        return self


class InstallmentOut(BaseModel):
    seq: int
    due_date: dt.date
    amount: MoneyOut
    status: InstallmentStatus = Field(
        description="paid | due | missed (from payments since the plan)"
    )


class PaymentPlanOut(BaseModel):
    id: str
    invoice_id: str
    status: PlanStatus
    installments: list[InstallmentOut]
    paid_since_plan: MoneyOut
    on_track: bool
    created_at: dt.datetime
