from __future__ import annotations

from sqlalchemy import func

from app.tenants.service import split_key


def test_split_key_accepts_secrets_with_underscores():
    # Regression: token_urlsafe secrets contain "_" about once in three keys.
    assert split_key("rk_0123456789ab_se_cr_et") == "0123456789ab"
    assert split_key("rk_0123456789ab_-_") == "0123456789ab"


def test_split_key_rejects_malformed_keys():
    for key in ("", "rk_", "rk_short_secret", "xx_0123456789ab_secret", "rk_0123456789ab_"):
        assert split_key(key) is None


async def test_a_key_revoked_elsewhere_stops_working_within_the_cache_delay(
    client, tenant, app, monkeypatch
):
    """Each process remembers a verified key for KEY_CACHE_SECONDS (no query per request): a key
    revoked by another process or replica works at most that long here."""
    import asyncio

    from sqlalchemy import update

    from app.tenants import service
    from app.tenants.models import ApiKey

    monkeypatch.setattr(service, "KEY_CACHE_SECONDS", 0.5)
    assert (await client.get("/v1/tenant", headers=tenant.headers)).status_code == 200
    async with app.state.sessionmaker() as session:  # as another replica would
        await session.execute(
            update(ApiKey).where(ApiKey.tenant_id == tenant.id).values(revoked_at=func.now())
        )
        await session.commit()
    assert (await client.get("/v1/tenant", headers=tenant.headers)).status_code == 200  # cached
    await asyncio.sleep(0.6)
    assert (await client.get("/v1/tenant", headers=tenant.headers)).status_code == 401
