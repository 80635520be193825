from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.tenants.models import ApiKey, Tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def find_active_key(session: AsyncSession, prefix: str) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_key(session: AsyncSession, key_id: str, clock: Clock) -> bool:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .returning(ApiKey.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None
