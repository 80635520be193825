from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from app.core.types import InputModel, MoneyOut, NonNegativeMoney
from app.escalation.policy import Channel, Grouping, StepKind
from app.legal import figures as legal
from app.legal.calendar import HolidaySubdivision


class StepIn(InputModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["reminder_1"])
    kind: StepKind
    channel: Channel
    offset_days: int = Field(
        ge=-90, le=365, description="Days from the due date (negative: before)"
    )
    min_amount: NonNegativeMoney | None = Field(
        default=None, description="Skip this step for invoices below this amount"
    )


class PolicyCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    steps: list[StepIn] = Field(min_length=1, max_length=20)
    formal_notice_deadline_days: int = Field(
        default=legal.FORMAL_NOTICE_DEADLINE_DEFAULT_DAYS,
        description=f"Deadline given by the mise en demeure, from its AR "
        f"({legal.FORMAL_NOTICE_DEADLINE_MIN_DAYS} to "
        f"{legal.FORMAL_NOTICE_DEADLINE_MAX_DAYS} days)",
    )
    promise_grace_days: int = Field(
        default=3, description="Days after a promised payment date before the escalation resumes"
    )
    holiday_subdivision: HolidaySubdivision | None = Field(
        default=None,
        description="The creditor's calendar: steps and deadlines avoid weekends and the public "
        "holidays of metropolitan France (null), or of a subdivision as the `holidays` package "
        "names them: 57 Moselle, 6AE Alsace (both add Good Friday and 26 December), 971 "
        "Guadeloupe, 972 Martinique, 973 Guyane, 974 La Réunion, 976 Mayotte, BL, MF, NC, PF, "
        "PM, TF, WF.",
    )
    grouping: Grouping = Field(
        default="invoice",
        description="`invoice`: each invoice runs its own escalation. `debtor`: the reminders "
        "and the mise en demeure of all of a debtor's open overdue invoices are sent together, "
        "one `debtor.dunning_step_due` (or `debtor.formal_notice_required`) at the highest level "
        "due among them, at most one a day, the amicable caps counted per debtor.",
        examples=["debtor"],
    )


class StepOut(BaseModel):
    code: str
    kind: StepKind
    channel: Channel
    offset_days: int
    min_amount: MoneyOut | None


class PolicyOut(BaseModel):
    id: str
    name: str
    steps: list[StepOut]
    formal_notice_deadline_days: int
    promise_grace_days: int
    holiday_subdivision: HolidaySubdivision | None
    grouping: Grouping = Field(description="`invoice` (default) or `debtor`")
    created_at: dt.datetime | None


def definition_of(body: PolicyCreate) -> dict[str, Any]:
    return {
        "steps": [s.model_dump(mode="json") for s in body.steps],
        "formal_notice_deadline_days": body.formal_notice_deadline_days,
        "promise_grace_days": body.promise_grace_days,
        "holiday_subdivision": body.holiday_subdivision,
        "grouping": body.grouping,
    }
