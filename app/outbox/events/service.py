"""The outbox seam: every event concerning integrators is written here, in the caller's
transaction, with its webhook deliveries: committed (or not) together with the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.ids import new_id
from app.core.metrics import EVENTS_CREATED
from app.outbox.events.models import Event
from app.outbox.webhooks.service import fan_out


@dataclass(frozen=True)
class NewEvent:
    tenant_id: str
    invoice_id: str | None
    occurrence: str  # (invoice_id, occurrence) is unique: the event is written once
    type: str
    data: dict[str, Any]
    occurred_on: dt.date | None = None


async def emit_many(
    session: AsyncSession, events: Sequence[NewEvent], *, now: dt.datetime
) -> list[tuple[str, str]]:
    """Write the events that do not exist yet (one statement), and their deliveries; returns
    (id, type) of those created."""
    if not events:
        return []
    result = await session.execute(
        insert(Event)
        .on_conflict_do_nothing(index_elements=[Event.invoice_id, Event.occurrence])
        .returning(Event.id, Event.type),
        [
            {
                "id": new_id("evt"),
                "tenant_id": e.tenant_id,
                "invoice_id": e.invoice_id,
                "occurrence": e.occurrence,
                "type": e.type,
                "occurred_on": e.occurred_on,
                "data": e.data,
                "created_at": now,
            }
            for e in events
        ],
    )
    created = [(event_id, type_) for event_id, type_ in result]
    for _, type_ in created:
        EVENTS_CREATED.labels(type_).inc()
    if created:
        await fan_out(session, [event_id for event_id, _ in created])
    return created


async def emit(
    session: AsyncSession,
    *,
    tenant_id: str,
    invoice_id: str | None,
    occurrence: str,
    type: str,
    data: dict[str, Any],
    now: dt.datetime,
    occurred_on: dt.date | None = None,
) -> str | None:
    """One event (see `emit_many`); its id if it was created."""
    event = NewEvent(tenant_id, invoice_id, occurrence, type, data, occurred_on)
    created = await emit_many(session, [event], now=now)
    return created[0][0] if created else None
