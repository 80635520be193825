"""The outbox's housekeeping: events past their retention lose their payload and their
deliveries (attempts go with them), and endpoints deleted that long ago go. Deletes in small
batches, one transaction each, so no long lock is held and the work resumes where it stopped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import delete_in_batches
from app.outbox.events.models import Event
from app.outbox.webhooks.models import WebhookDelivery, WebhookEndpoint


async def purge_history(
    sessionmaker: async_sessionmaker[AsyncSession], cutoff: dt.datetime, batch_size: int
) -> tuple[int, int]:
    """(events purged, endpoints deleted) older than `cutoff`."""
    # Past retention an event loses its payload and its deliveries (attempts cascade), but the
    # row stays: its (invoice, occurrence) key is what keeps every occurrence exactly-once (the
    # engine reads which occurrences were emitted). Uses ix_events_created_at.
    old_deliveries = (
        select(WebhookDelivery.id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(Event.created_at < cutoff)
        .limit(batch_size)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    await delete_in_batches(
        sessionmaker,
        delete(WebhookDelivery).where(WebhookDelivery.id.in_(old_deliveries)),
        batch_size,
    )
    unpurged = (
        select(Event.id)
        .where(Event.created_at < cutoff, Event.data != literal({}, JSONB))
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    events = await delete_in_batches(
        sessionmaker,
        update(Event).where(Event.id.in_(unpurged)).values(data=literal({}, JSONB)),
        batch_size,
    )
    deleted_endpoints = (
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.deleted_at < cutoff)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    endpoints = await delete_in_batches(
        sessionmaker,
        delete(WebhookEndpoint).where(WebhookEndpoint.id.in_(deleted_endpoints)),
        batch_size,
    )
    return events, endpoints
