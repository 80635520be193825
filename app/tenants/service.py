"""Tenants and their API keys. A key is `rk_<prefix>_<secret>`: the prefix finds the row, the
SHA-256 of the whole key is compared in constant time. Keys carry 256 random bits, so a fast
hash is enough (no password-style stretching needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.clock import Clock, FixedInstant
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


async def create_tenant(
    session: AsyncSession, name: str, *, sandbox_from: dt.datetime | None = None
) -> tuple[Tenant, str]:
    """A tenant and its first key; `sandbox_from`: a sandbox tenant whose clock starts there."""
    tenant = Tenant(
        id=new_id("ten"), name=name, sandbox=sandbox_from is not None, clock_now=sandbox_from
    )
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
    forget_key(key_id)


@dataclass(frozen=True)
class KnownTenant:
    """What authentication tells about a key's tenant: only what never changes, so it may be
    cached. A sandbox tenant's clock moves: it is read at each request (`tenant_clock_now`)."""

    id: str
    sandbox: bool


# Authentication without a query on the hot path: a process remembers a verified key's tenant for
# KEY_CACHE_SECONDS. A revoked key therefore keeps working for at most that long on the other
# processes and replicas that verified it just before (README, "Authentication"); the process that
# revokes it forgets it at once.
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 10_000
# SHA-256 of the key -> (tenant, key id, monotonic expiry), oldest first.
_verified: OrderedDict[str, tuple[KnownTenant, str, float]] = OrderedDict()


def forget_key(key_id: str) -> None:
    for digest in [d for d, (_, kid, _) in _verified.items() if kid == key_id]:
        del _verified[digest]


def known_tenant(key: str) -> KnownTenant | None:
    """The tenant of a key this process verified less than KEY_CACHE_SECONDS ago, else None."""
    known = _verified.get(_hash(key))
    return known[0] if known is not None and known[2] > time.monotonic() else None


async def authenticate(session: AsyncSession, key: str) -> KnownTenant | None:
    """The tenant the key belongs to, or None."""
    if (tenant := known_tenant(key)) is not None:
        return tenant
    digest = _hash(key)
    now = time.monotonic()
    prefix = split_key(key)
    if prefix is None:
        return None
    found = await repository.find_active_key(session, prefix)
    if found is None or not hmac.compare_digest(found[0].key_hash, digest):
        _verified.pop(digest, None)
        return None
    api_key, sandbox = found
    tenant = KnownTenant(api_key.tenant_id, sandbox)
    _verified[digest] = (tenant, api_key.id, now + KEY_CACHE_SECONDS)
    _verified.move_to_end(digest)
    while len(_verified) > KEY_CACHE_SIZE:
        _verified.popitem(last=False)
    return tenant


async def tenant_clock(
    db: AsyncSession | AsyncConnection, tenant: KnownTenant, service: Clock
) -> Clock:
    """The tenant's "today": a sandbox tenant's test clock (read now, one query: an advance shows
    at once on every process), else the service clock (no query)."""
    if not tenant.sandbox:
        return service
    now = (await db.execute(repository.CLOCK_NOW, {"tenant_id": tenant.id})).scalar_one()
    assert now is not None  # a sandbox tenant always has its clock (a check constraint)
    return FixedInstant(service, now)
