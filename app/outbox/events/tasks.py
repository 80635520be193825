"""The outbox's housekeeping: the history's monthly partitions are created ahead of time and
dropped whole once past retention (app/outbox/partitions.py), and endpoints deleted that long
ago go, in small batches, one transaction each, so no long lock is held."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import delete_in_batches
from app.outbox.partitions import drop_expired_partitions, ensure_partitions
from app.outbox.webhooks.models import WebhookEndpoint


@dataclass(frozen=True)
class PurgedHistory:
    months: int  # months of events, deliveries and attempts dropped
    endpoints: int  # endpoints deleted before the cutoff, now gone


async def purge_history(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: dt.datetime,
    cutoff: dt.datetime,
    batch_size: int,
) -> PurgedHistory:
    """Partitions for the months ahead of `now`; those of months ended before `cutoff` dropped
    (unless a delivery in them is still pending); endpoints deleted before `cutoff` purged."""
    # Past retention the whole month goes, its events' payloads with it. The occurrences stay
    # exactly-once: their keys are in event_keys, which is never purged.
    # Ids carry real time, so the months ahead of real time are what inserts need; those ahead
    # of `now` as well, where a test (or a clock) says otherwise.
    for instant in {now, dt.datetime.now(dt.UTC)}:
        await ensure_partitions(engine, instant)
    dropped = await drop_expired_partitions(engine, cutoff)
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
    return PurgedHistory(len(dropped), endpoints)
