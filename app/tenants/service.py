"""Tenants and their API keys. A key is `rk_<prefix>_<secret>`: the prefix finds the row, the
SHA-256 of the whole key is compared in constant time. Keys carry 256 random bits, so a fast
hash is enough (no password-style stretching needed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict

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
    forget_key(key_id)


# Authentication without a query on the hot path: a process remembers a verified key's tenant for
# KEY_CACHE_SECONDS. A revoked key therefore keeps working for at most that long on the other
# processes and replicas that verified it just before (README, "Authentication"); the process that
# revokes it forgets it at once.
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 10_000
# SHA-256 of the key -> (tenant id, key id, monotonic expiry), oldest first.
_verified: OrderedDict[str, tuple[str, str, float]] = OrderedDict()


def forget_key(key_id: str) -> None:
    for digest in [d for d, (_, kid, _) in _verified.items() if kid == key_id]:
        del _verified[digest]


def known_tenant(key: str) -> str | None:
    """The tenant of a key this process verified less than KEY_CACHE_SECONDS ago, else None."""
    known = _verified.get(_hash(key))
    return known[0] if known is not None and known[2] > time.monotonic() else None


async def authenticate(session: AsyncSession, key: str) -> str | None:
    """The tenant id the key belongs to, or None."""
    if (tenant_id := known_tenant(key)) is not None:
        return tenant_id
    digest = _hash(key)
    now = time.monotonic()
    prefix = split_key(key)
    if prefix is None:
        return None
    api_key = await repository.find_active_key(session, prefix)
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        _verified.pop(digest, None)
        return None
    _verified[digest] = (api_key.tenant_id, api_key.id, now + KEY_CACHE_SECONDS)
    _verified.move_to_end(digest)
    while len(_verified) > KEY_CACHE_SIZE:
        _verified.popitem(last=False)
    return api_key.tenant_id
