"""Tenants and their API keys. A key is `rk_<prefix>_<secret>`: the prefix finds the row, the
SHA-256 of the whole key is compared in constant time. Keys carry 256 random bits, so a fast
hash is enough (no password-style stretching needed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.errors import NotFound
from app.core.ids import new_id
from app.tenants import repository
from app.tenants.models import ApiKey, Tenant


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The visible prefix of a well-formed key, else None."""
    parts = key.split("_", 2)  # the secret part may itself contain "_"
    if len(parts) != 3 or parts[0] != "rk" or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


async def create_api_key(session: AsyncSession, tenant_id: str) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(6)
    key = f"rk_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(id=new_id("key"), tenant_id=tenant_id, prefix=prefix, key_hash=_hash(key))
    session.add(api_key)
    await session.flush()
    await session.refresh(api_key)
    return api_key, key


async def create_tenant(session: AsyncSession, name: str) -> tuple[Tenant, str]:
    tenant = Tenant(id=new_id("ten"), name=name)
    session.add(tenant)
    await session.flush()
    _, key = await create_api_key(session, tenant.id)
    return tenant, key


async def add_api_key(session: AsyncSession, tenant_id: str) -> tuple[ApiKey, str]:
    if await repository.get_tenant(session, tenant_id) is None:
        raise NotFound(f"No tenant {tenant_id}.")
    return await create_api_key(session, tenant_id)


async def revoke_api_key(session: AsyncSession, key_id: str, clock: Clock) -> None:
    if not await repository.revoke_key(session, key_id, clock):
        raise NotFound(f"No active API key {key_id}.")


async def authenticate(session: AsyncSession, key: str) -> str | None:
    """The tenant id the key belongs to, or None."""
    prefix = split_key(key)
    if prefix is None:
        return None
    api_key = await repository.find_active_key(session, prefix)
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(key)):
        return None
    return api_key.tenant_id
