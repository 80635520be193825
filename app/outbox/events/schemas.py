from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InputModel

# The event catalogue of API.md: what an endpoint may subscribe to (besides "*").
EVENT_TYPES: tuple[str, ...] = (
    "invoice.pre_reminder_due",
    "invoice.overdue",
    "dunning.step_due",
    "invoice.formal_notice_required",
    "formal_notice.deadline_expired",
    "payment_plan.installment_missed",
    "invoice.paid",
    "invoice.dispute_opened",
    "invoice.dispute_resolved",
    "invoice.prescription_approaching",
)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Also the `webhook-id` of its deliveries: deduplicate on it.")
    type: str
    created_at: dt.datetime
    invoice_id: str | None
    occurrence: str = Field(description="What happened to the invoice; unique per invoice.")
    occurred_on: dt.date | None
    data: dict[str, Any]


class WebhookPayload(BaseModel):
    """The body POSTed to endpoints."""

    id: str
    type: str
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
