"""The outbox seam: every state change that concerns integrators writes its event here, in the
caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.ids import new_id
from app.core.metrics import EVENTS_CREATED
from app.events.models import Event
from app.webhooks.service import fan_out


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
    """Write the event of (invoice, occurrence) unless it exists; returns its id if created."""
    stmt = (
        insert(Event)
        .values(
            id=new_id("evt"),
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            occurrence=occurrence,
            type=type,
            occurred_on=occurred_on,
            data=data,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Event.invoice_id, Event.occurrence])
        .returning(Event.id)
    )
    event_id: str | None = (await session.execute(stmt)).scalar_one_or_none()
    if event_id is not None:
        EVENTS_CREATED.labels(type).inc()
        # Same transaction: the event and its deliveries are committed (or not) together.
        await fan_out(session, [event_id], now=now)
    return event_id
