from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.tenants.models import ApiKey, Tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def find_active_key(session: AsyncSession, prefix: str) -> tuple[ApiKey, bool] | None:
    """The active key with this prefix and whether its tenant is a sandbox (one round trip)."""
    stmt = (
        select(ApiKey, Tenant.sandbox)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])


# The test clock of a sandbox tenant: None for a live tenant (or no such tenant).
CLOCK_NOW = select(Tenant.clock_now).where(Tenant.sandbox, Tenant.id == bindparam("tenant_id"))


async def lock_test_clock(session: AsyncSession, tenant_id: str) -> dt.datetime | None:
    """The sandbox tenant's clock, its row locked until the caller's transaction ends: advances
    of one tenant run one after the other. None for a live tenant. FOR NO KEY UPDATE, not FOR
    UPDATE: the rows the advance's sweeps insert meanwhile (events, deliveries) check their
    foreign key to the tenant with FOR KEY SHARE, which FOR UPDATE would block."""
    stmt = CLOCK_NOW.with_for_update(key_share=True)
    return (await session.execute(stmt, {"tenant_id": tenant_id})).scalar_one_or_none()


async def set_test_clock(session: AsyncSession, tenant_id: str, now: dt.datetime) -> None:
    await session.execute(
        update(Tenant).where(Tenant.id == tenant_id, Tenant.sandbox).values(clock_now=now)
    )


async def revoke_key(session: AsyncSession, key_id: str, clock: Clock) -> bool:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .returning(ApiKey.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
