"""The outbox seam: every event concerning integrators is written here, in the caller's
transaction, with its webhook deliveries: committed (or not) together with the change. And the
events API's reads, which see the events of their retention period only."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import driver_fetch
from app.core.errors import NotFound
from app.core.ids import new_id
from app.core.metrics import EVENTS_CREATED
from app.core.pagination import Page, PageParams, page_of
from app.core.settings import Settings
from app.outbox.events.models import Event
from app.outbox.events.schemas import EventOut, EventType
from app.outbox.webhooks import service as webhooks
from app.outbox.webhooks.repository import DELIVERY_PAIRS, INSERT_PAIRS, delivery_params


@dataclass(frozen=True)
class NewEvent:
    tenant_id: str
    invoice_id: str | None
    occurrence: str  # (invoice_id, occurrence) is unique: the event is written once
    type: EventType
    data: dict[str, Any]
    occurred_on: dt.date | None = None


# The events, their exactly-once keys and their deliveries in one statement (it was three, each
# a round trip and, through the ORM, several times the statement's CPU: bench/README.md, tenth
# session). The keys first: an occurrence already keyed is skipped, and a concurrent writer of
# the same key waits for the first to commit; then the events of the keys won and those about
# no invoice (which have no key); then their deliveries (DELIVERY_PAIRS, INSERT_PAIRS).
_EMIT = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:ids AS varchar[]), CAST(:tenant_ids AS varchar[]),
            CAST(:invoice_ids AS varchar[]), CAST(:occurrences AS varchar[]),
            CAST(:types AS varchar[]), CAST(:occurred_ons AS date[]), CAST(:data AS jsonb[])
        ) AS v(id, tenant_id, invoice_id, occurrence, type, occurred_on, data)
    ), keyed AS (
        INSERT INTO event_keys
            (invoice_id, occurrence, tenant_id, event_id, type, occurred_on, created_at)
        SELECT invoice_id, occurrence, tenant_id, id, type, occurred_on, CAST(:now AS timestamptz)
        FROM input WHERE invoice_id IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING event_id
    ), created AS (
        INSERT INTO events
            (id, tenant_id, invoice_id, occurrence, type, occurred_on, data, created_at)
        SELECT id, tenant_id, invoice_id, occurrence, type, occurred_on, data,
               CAST(:now AS timestamptz)
        FROM input
        WHERE invoice_id IS NULL OR id IN (SELECT event_id FROM keyed)
        RETURNING id, tenant_id, type, created_at
    ), {DELIVERY_PAIRS.format(events="created")}, delivered AS ({INSERT_PAIRS} RETURNING 1)
    SELECT id, type FROM created ORDER BY id
    """  # noqa: S608 - no input in the text
)


async def emit_many(
    session: AsyncSession, events: Sequence[NewEvent], *, now: dt.datetime
) -> list[tuple[str, EventType]]:
    """Write the events that do not exist yet, and their deliveries, in one statement (`_EMIT`);
    returns (id, type) of those created."""
    if not events:
        return []
    params = _emit_params(events, now) | {"invoice_ids": [e.invoice_id for e in events]}
    return [(r["id"], r["type"]) for r in await _write_events(session, _EMIT, params)]


def _emit_params(events: Sequence[NewEvent | NewDebtorEvent], now: dt.datetime) -> dict[str, Any]:
    """The parameters `_EMIT` and `_EMIT_GROUPED` share: each event's new id and columns."""
    return {
        "ids": [new_id("evt") for _ in events],
        "tenant_ids": [e.tenant_id for e in events],
        "occurrences": [e.occurrence for e in events],
        "types": [e.type for e in events],
        "occurred_ons": [e.occurred_on for e in events],
        # As text: the driver's JSONB codec (SQLAlchemy's) takes it serialized.
        "data": [json.dumps(e.data) for e in events],
        "now": now,
        **delivery_params(due_at=None),
    }


async def _write_events(
    session: AsyncSession, statement: TextClause, params: dict[str, Any]
) -> list[Any]:
    """Run `_EMIT` or `_EMIT_GROUPED`; the rows of the events created, counted."""
    records = await driver_fetch(await session.connection(), statement, params)
    for record in records:
        EVENTS_CREATED.labels(record["type"]).inc()
    return records


@dataclass(frozen=True)
class NewDebtorEvent:
    """A grouped event: about a debtor's invoices together (invoice_id null)."""

    tenant_id: str
    debtor_id: str
    occurrence: str  # (debtor_id, occurrence) is written once (debtor_event_keys)
    type: EventType
    data: dict[str, Any]
    occurred_on: dt.date


# `_EMIT` for grouped events: their key is (debtor_id, occurrence), and every one has a key.
_EMIT_GROUPED = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:ids AS varchar[]), CAST(:tenant_ids AS varchar[]),
            CAST(:debtor_ids AS varchar[]), CAST(:occurrences AS varchar[]),
            CAST(:types AS varchar[]), CAST(:occurred_ons AS date[]),
            CAST(:channels AS varchar[]), CAST(:data AS jsonb[])
        ) AS v(id, tenant_id, debtor_id, occurrence, type, occurred_on, channel, data)
    ), keyed AS (
        INSERT INTO debtor_event_keys
            (debtor_id, occurrence, tenant_id, event_id, type, occurred_on, channel)
        SELECT debtor_id, occurrence, tenant_id, id, type, occurred_on, channel FROM input
        ON CONFLICT DO NOTHING
        RETURNING event_id
    ), created AS (
        INSERT INTO events
            (id, tenant_id, debtor_id, occurrence, type, occurred_on, data, created_at)
        SELECT id, tenant_id, debtor_id, occurrence, type, occurred_on, data,
               CAST(:now AS timestamptz)
        FROM input
        WHERE id IN (SELECT event_id FROM keyed)
        RETURNING id, tenant_id, debtor_id, type, created_at
    ), {DELIVERY_PAIRS.format(events="created")}, delivered AS ({INSERT_PAIRS} RETURNING 1)
    SELECT id, debtor_id, type FROM created ORDER BY id
    """  # noqa: S608 - no input in the text
)


async def emit_debtor_events(
    session: AsyncSession, events: Sequence[NewDebtorEvent], *, now: dt.datetime
) -> dict[str, tuple[str, EventType]]:
    """Write the grouped events that do not exist yet, and their deliveries, in one statement
    (`_EMIT_GROUPED`); returns debtor id -> (event id, type) of those created."""
    if not events:
        return {}
    params = _emit_params(events, now) | {
        "debtor_ids": [e.debtor_id for e in events],
        "channels": [(e.data.get("step") or {}).get("channel") for e in events],
    }
    records = await _write_events(session, _EMIT_GROUPED, params)
    return {r["debtor_id"]: (r["id"], r["type"]) for r in records}


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
    conn: AsyncConnection,
    tenant_id: str,
    page: PageParams,
    settings: Settings,
    clock: Clock,
    *,
    type: str | None = None,
    invoice_id: str | None = None,
) -> Page[EventOut]:
    """One page of the tenant's events still kept: Core rows on a read connection (no ORM
    object per event)."""
    stmt = select(*Event.__table__.columns).where(
        Event.tenant_id == tenant_id, Event.created_at >= retention_cutoff(settings, clock)
    )
    if type is not None:
        stmt = stmt.where(Event.type == type)
    if invoice_id is not None:
        stmt = stmt.where(Event.invoice_id == invoice_id)
    return await page_of(conn, stmt, Event.id, page, EventOut.model_validate)


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
