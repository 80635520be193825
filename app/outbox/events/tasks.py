"""Housekeeping: forget expired idempotency keys, events past their retention (their deliveries
and attempts go with them) and endpoints deleted that long ago. Deletes in small batches, one
transaction each, so no long lock is held and the work resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Delete, Update, delete, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.settings import Settings
from app.outbox.events.models import Event
from app.outbox.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.tenants.idempotency import IdempotencyKey

log = logging.getLogger("relance.housekeeping")

BATCH_SIZE = 1000
INTERVAL_SECONDS = 3600.0
# Monotonic time of this process's last run; None: never ran.
_last_run: float | None = None


@dataclass
class HousekeepingStats:
    idempotency_keys: int = 0
    events: int = 0
    webhook_endpoints: int = 0


async def _delete_in_batches(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: Delete | Update, batch_size: int
) -> int:
    total = 0
    while True:
        async with sessionmaker() as session:
            result = await session.execute(stmt)
            await session.commit()
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch_size:
            return total


async def housekeeping(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    batch_size: int = BATCH_SIZE,
) -> HousekeepingStats:
    now = clock.now()
    cutoff = now - dt.timedelta(days=settings.event_retention_days)
    stats = HousekeepingStats()

    expired_keys = (
        select(IdempotencyKey.owner, IdempotencyKey.key)
        .where(IdempotencyKey.expires_at < now)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    stats.idempotency_keys = await _delete_in_batches(
        sessionmaker,
        delete(IdempotencyKey).where(
            tuple_(IdempotencyKey.owner, IdempotencyKey.key).in_(expired_keys)
        ),
        batch_size,
    )
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
    await _delete_in_batches(
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
    stats.events = await _delete_in_batches(
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
    stats.webhook_endpoints = await _delete_in_batches(
        sessionmaker,
        delete(WebhookEndpoint).where(WebhookEndpoint.id.in_(deleted_endpoints)),
        batch_size,
    )
    if stats.idempotency_keys or stats.events or stats.webhook_endpoints:
        log.info("housekeeping: %s", stats)
    return stats


async def run_housekeeping_tick(app: FastAPI) -> HousekeepingStats | None:
    """The scheduler job: housekeeping at most once an hour per process."""
    global _last_run
    started = time.monotonic()
    if _last_run is not None and started - _last_run < INTERVAL_SECONDS:
        return None
    _last_run = started
    state = app.state
    return await housekeeping(
        sessionmaker=state.sessionmaker, clock=state.clock, settings=state.settings
    )
