"""The tenants' housekeeping: idempotency keys past their replay window are forgotten."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import delete_in_batches
from app.tenants.idempotency import IdempotencyKey


async def purge_expired_keys(
    sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime, batch_size: int
) -> int:
    expired = (
        select(IdempotencyKey.owner, IdempotencyKey.key)
        .where(IdempotencyKey.expires_at < now)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    return await delete_in_batches(
        sessionmaker,
        delete(IdempotencyKey).where(tuple_(IdempotencyKey.owner, IdempotencyKey.key).in_(expired)),
        batch_size,
    )
