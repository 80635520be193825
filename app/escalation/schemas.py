from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.ledger.invoices.schemas import DunningStage, PauseReason


class TimelineItem(BaseModel):
    kind: Literal["action", "payment", "event", "due", "planned"] = Field(
        description="action/payment: recorded; event: emitted; due: falls due at the next sweep "
        "(a procedure step: its day has come, it can be taken); planned: the engine's plan if "
        "nothing changes"
    )
    date: dt.date
    type: str = Field(
        description="action type, event type, or the planned occurrence's event type. After a "
        "`commandement_de_payer`, the uncontested claims procedure's next steps: "
        "`uncontested_claim.awaiting_service` (no date of service yet), "
        "`uncontested_claim.contest_period_ends` (the last day of the debtor's month to pay or "
        "contest), `uncontested_claim.pv_non_contestation` (the first day the commissaire de "
        "justice may draw the PV), `uncontested_claim.titre_executoire` (ask the clerk to make "
        "the PV enforceable), `uncontested_claim.execution` (enforcement), "
        "`uncontested_claim.ended_by_contest` (a dispute ended the procedure); their `detail` "
        "has a French `explanation` for the creditor and the procedure's dates"
    )
    code: str | None = Field(default=None, description="policy step code, when it is one")
    channel: str | None = None
    id: str | None = Field(default=None, description="the action, payment or event id")
    detail: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    invoice_id: str
    stage: DunningStage
    paused: bool
    paused_reason: PauseReason | None
    items: list[TimelineItem]


class SweepRequest(BaseModel):
    model_config = {"extra": "forbid"}

    as_of: dt.datetime = Field(description="The instant to sweep as of (RFC 3339 with offset)")


class SweepResult(BaseModel):
    as_of: dt.datetime
    invoices_swept: int
    events_created: int
    events_by_type: dict[str, int]
    deliveries: dict[str, int] = Field(
        description="Webhook deliveries attempted during this sweep, by outcome"
    )
