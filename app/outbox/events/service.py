"""The outbox seam: every event concerning integrators is written here, in the caller's
transaction, with its webhook deliveries: committed (or not) together with the change. And the
events API's reads, which see the events of their retention period only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.errors import NotFound
from app.core.ids import new_id
from app.core.metrics import EVENTS_CREATED
from app.core.pagination import Page, PageParams, page_of
from app.core.settings import Settings
from app.outbox.events.models import Event, EventKey
from app.outbox.events.schemas import EventOut, EventType
from app.outbox.webhooks import service as webhooks
from app.outbox.webhooks.service import fan_out


@dataclass(frozen=True)
class NewEvent:
    tenant_id: str
    invoice_id: str | None
    occurrence: str  # (invoice_id, occurrence) is unique: the event is written once
    type: EventType
    data: dict[str, Any]
    occurred_on: dt.date | None = None


async def emit_many(
    session: AsyncSession, events: Sequence[NewEvent], *, now: dt.datetime
) -> list[tuple[str, EventType]]:
    """Write the events that do not exist yet, and their deliveries; returns (id, type) of
    those created. Two statements: the exactly-once keys first (an occurrence already keyed is
    skipped; a concurrent writer of the same key waits for the first to commit), then the
    events of the keys won and of events about no invoice (which have no key)."""
    if not events:
        return []
    rows = [
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
    ]
    won = await _claim_keys(session, [r for r in rows if r["invoice_id"] is not None])
    rows = [r for r in rows if r["invoice_id"] is None or r["id"] in won]
    if not rows:
        return []
    result = await session.execute(insert(Event).returning(Event.id, Event.type), rows)
    created = [(event_id, type_) for event_id, type_ in result]
    for _, type_ in created:
        EVENTS_CREATED.labels(type_).inc()
    await fan_out(session, [event_id for event_id, _ in created])
    return created


async def _claim_keys(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the (invoice_id, occurrence) keys not taken yet; the event ids of those inserted."""
    if not rows:
        return set()
    keys = [
        {
            "invoice_id": r["invoice_id"],
            "occurrence": r["occurrence"],
            "tenant_id": r["tenant_id"],
            "event_id": r["id"],
            "type": r["type"],
            "occurred_on": r["occurred_on"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]
    result = await session.execute(
        insert(EventKey).on_conflict_do_nothing().returning(EventKey.event_id), keys
    )
    return set(result.scalars())


async def emit(
    session: AsyncSession,
    *,
    tenant_id: str,
    invoice_id: str | None,
    occurrence: str,
    type: EventType,
    data: dict[str, Any],
    now: dt.datetime,
    occurred_on: dt.date | None = None,
) -> str | None:
    """One event (see `emit_many`); its id if it was created."""
    event = NewEvent(tenant_id, invoice_id, occurrence, type, data, occurred_on)
    created = await emit_many(session, [event], now=now)
    return created[0][0] if created else None


def retention_cutoff(settings: Settings, clock: Clock) -> dt.datetime:
    return clock.now() - dt.timedelta(days=settings.event_retention_days)


async def list_events(
    session: AsyncSession,
    tenant_id: str,
    page: PageParams,
    settings: Settings,
    clock: Clock,
    *,
    type: str | None = None,
    invoice_id: str | None = None,
) -> Page[EventOut]:
    stmt = select(Event).where(
        Event.tenant_id == tenant_id, Event.created_at >= retention_cutoff(settings, clock)
    )
    if type is not None:
        stmt = stmt.where(Event.type == type)
    if invoice_id is not None:
        stmt = stmt.where(Event.invoice_id == invoice_id)
    return await page_of(session, stmt, Event.id, page, EventOut.model_validate)


async def visible_event(
    session: AsyncSession, tenant_id: str, event_id: str, settings: Settings, clock: Clock
) -> Event:
    event = await get_owned(session, Event, tenant_id, event_id)
    if event.created_at < retention_cutoff(settings, clock):
        raise NotFound(f"Event {event_id} is past its retention period.")
    return event


async def redeliver(
    session: AsyncSession,
    tenant_id: str,
    event_id: str,
    endpoint_id: str | None,
    settings: Settings,
    clock: Clock,
) -> list[str]:
    """New deliveries of a visible event (see `webhooks.redeliver`); their ids."""
    await visible_event(session, tenant_id, event_id, settings, clock)
    return await webhooks.redeliver(session, tenant_id, event_id, endpoint_id, clock)
