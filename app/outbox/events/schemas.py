from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal, TypeGuard, get_args

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InputModel, JsonExample

# The event catalogue of API.md: what an endpoint may subscribe to (besides "*").
EventType = Literal[
    "invoice.pre_reminder_due",
    "invoice.overdue",
    "dunning.step_due",
    "invoice.formal_notice_required",
    "formal_notice.deadline_expired",
    "formal_notice.proof_updated",
    "payment_plan.installment_missed",
    "invoice.paid",
    "invoice.dispute_opened",
    "invoice.dispute_resolved",
    "invoice.prescription_approaching",
    "invoice.lifecycle_status_received",
    # A grouped policy (grouping "debtor"): one event for all of a debtor's overdue invoices.
    "debtor.dunning_step_due",
    "debtor.formal_notice_required",
]
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)


def is_event_type(value: str) -> TypeGuard[EventType]:
    return value in EVENT_TYPES


def as_event_type(value: str) -> EventType:
    """`value` as a catalogue event type; ValueError if it is not one (app.core, below the
    outbox, names events with plain strings)."""
    if is_event_type(value):
        return value
    raise ValueError(f"unknown event type {value!r}")


EVENT_EXAMPLE: JsonExample = {
    "id": "evt_01M8RXWX952T3VW9F5A6NTY66C",
    "type": "dunning.step_due",
    "created_at": "2026-02-17T23:00:04Z",
    "invoice_id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
    "occurrence": "step:reminder_1",
    "occurred_on": "2026-02-18",
    "data": {
        "invoice": {
            "id": "inv_01M8RXWX88H94KEF3D8W10RNV5",
            "number": "F-2026-001",
            "balance": "1250.00",
            "...": "...",
        },
        "occurrence": "step:reminder_1",
        "due_on": "2026-02-18",
        "step": {
            "code": "reminder_1",
            "kind": "reminder",
            "channel": "email",
            "offset_days": 3,
            "letter_url": "/v1/invoices/inv_01M8RXWX88H94KEF3D8W10RNV5/letters/reminder_1",
        },
    },
}


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EVENT_EXAMPLE]})

    id: str = Field(description="Also the `webhook-id` of its deliveries: deduplicate on it.")
    type: EventType
    created_at: dt.datetime
    invoice_id: str | None
    debtor_id: str | None = Field(
        default=None,
        description="The debtor of a grouped event (`debtor.*`, invoice_id null); null otherwise.",
    )
    occurrence: str = Field(
        description="What happened to the invoice; unique per invoice (per debtor for a grouped "
        "event: `grouped:<day>`)."
    )
    occurred_on: dt.date | None
    data: dict[str, Any]


class WebhookPayload(BaseModel):
    """The body POSTed to endpoints."""

    id: str
    type: EventType
    created_at: dt.datetime
    data: dict[str, Any]


class RedeliverRequest(InputModel):
    endpoint_id: str | None = Field(
        default=None,
        max_length=40,
        description="Deliver to this endpoint only (even if not subscribed to the type); "
        "absent: to every enabled endpoint subscribed to the event's type.",
    )


class RedeliverOut(BaseModel):
    delivery_ids: list[str]
