from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from app.core.settings import Settings
from app.main import create_app
from app.tenants.models import ApiKey, Tenant
from tests.conftest import make_tenant


async def test_admin_creates_tenant_with_key_shown_once(
    client: httpx.AsyncClient, admin_headers, app
):
    response = await client.post(
        "/v1/admin/tenants", json={"name": "Facturo"}, headers=admin_headers
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "api_key", "sandbox"}
    assert body["sandbox"] is False
    assert body["id"].startswith("ten_")
    assert body["api_key"].startswith("rk_")
    async with app.state.sessionmaker() as session:
        stored = (await session.execute(select(ApiKey))).scalar_one()
    # Only the hash and the visible prefix are stored.
    assert body["api_key"] not in (stored.key_hash, stored.prefix)
    assert body["api_key"].split("_")[1] == stored.prefix


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}],
)
async def test_admin_api_requires_the_admin_token(client: httpx.AsyncClient, headers):
    response = await client.post("/v1/admin/tenants", json={"name": "X"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


async def test_tenant_key_is_not_an_admin_token(client: httpx.AsyncClient):
    tenant = await make_tenant(client)
    response = await client.post("/v1/admin/tenants", json={"name": "X"}, headers=tenant.headers)
    assert response.status_code == 401


async def test_admin_api_disabled_without_token(database_url: str):
    app = create_app(
        Settings(database_url=database_url, scheduler_enabled=False), migrate_on_start=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.post(
                "/v1/admin/tenants", json={"name": "X"}, headers={"Authorization": "Bearer x"}
            )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_add_and_revoke_api_keys(client: httpx.AsyncClient, admin_headers):
    tenant = await make_tenant(client)
    created = await client.post(f"/v1/admin/tenants/{tenant.id}/api-keys", headers=admin_headers)
    assert created.status_code == 201
    second = created.json()
    assert second["tenant_id"] == tenant.id

    revoked = await client.delete(f"/v1/admin/api-keys/{second['id']}", headers=admin_headers)
    assert revoked.status_code == 204
    again = await client.delete(f"/v1/admin/api-keys/{second['id']}", headers=admin_headers)
    assert again.status_code == 404


async def test_api_key_for_unknown_tenant_is_404(client: httpx.AsyncClient, admin_headers):
    response = await client.post("/v1/admin/tenants/ten_missing/api-keys", headers=admin_headers)
    assert response.status_code == 404


async def test_bad_tenant_body_stores_nothing(client: httpx.AsyncClient, admin_headers, app):
    for body in ({"name": ""}, {"name": "x", "extra": 1}, {}):
        response = await client.post("/v1/admin/tenants", json=body, headers=admin_headers)
        assert response.status_code == 422
        assert response.json()["errors"]
    async with app.state.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Tenant))).scalar() == 0
