from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.ledger.invoices.schemas import DunningStage, PauseReason
from app.outbox.events.schemas import EventType


class TimelineItem(BaseModel):
    kind: Literal["lifecycle_status", "action", "payment", "event", "due", "planned"] = Field(
        description="lifecycle_status: an e-invoice status received (type "
        "`lifecycle_status.<code>`, detail: label, effect, reason); action/payment: recorded; "
        "event: emitted; due: falls due at the next sweep "
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
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"as_of": "2026-03-02T06:00:00+01:00"},
                {"as_of": "2026-03-09T06:00:00+01:00", "dry_run": True},
            ]
        },
    }

    as_of: dt.datetime = Field(description="The instant to sweep as of (RFC 3339 with offset)")
    force: bool = Field(
        default=False,
        description="Sweep as of a future instant (more than a minute ahead of the server's "
        "clock) for real: the reminders due by then are emitted and delivered now. Without it, "
        "a future `as_of` is refused (422) unless `dry_run`.",
    )
    dry_run: bool = Field(
        default=False,
        description="Write and deliver nothing: answer the events the sweep would emit "
        "(`would_emit`). Allowed for any `as_of`, a future one too.",
    )


class PlannedEventOut(BaseModel):
    tenant_id: str
    invoice_id: str | None = Field(description="null for a grouped event (`debtor_id`)")
    debtor_id: str | None = Field(
        default=None, description="The debtor of a grouped event (grouping `debtor`)"
    )
    type: EventType
    occurrence: str = Field(
        description="What the event is about, unique per invoice (per debtor if grouped)"
    )
    due_on: dt.date = Field(description="The day it fell due")


class SweepResult(BaseModel):
    as_of: dt.datetime
    dry_run: bool = Field(description="True: nothing was written or delivered")
    invoices_swept: int = Field(description="Invoices due at `as_of` (looked at, for a dry run)")
    events_created: int = Field(description="Events written (0 for a dry run)")
    events_by_type: dict[str, int] = Field(
        description="Events written by type; for a dry run, the events it would write"
    )
    deliveries: dict[str, int] = Field(
        description="Webhook deliveries attempted during this sweep, by outcome (none for a dry "
        "run)"
    )
    would_emit: list[PlannedEventOut] | None = Field(
        default=None,
        description="Dry run: the events the sweep would emit, in the order it meets them (at "
        "most 1000; `events_by_type` counts them all); null otherwise",
    )
