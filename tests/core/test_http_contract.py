"""The cross-cutting HTTP contract of API.md: auth, problem+json errors, limits, request ids."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from app.tenants.models import Tenant

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer rk_000000000000_nope"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Token abc"},
    ],
)
async def test_missing_or_wrong_key_is_401(client, headers):
    response = await client.get("/v1/tenant", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_valid_key_sees_its_tenant(client, tenant):
    response = await client.get("/v1/tenant", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["id"] == tenant.id


async def test_revoked_key_is_401(client, tenant, admin_headers, app):
    async with app.state.sessionmaker() as session:
        from app.tenants.models import ApiKey

        key_id = (await session.execute(select(ApiKey.id))).scalar_one()
    assert (
        await client.delete(f"/v1/admin/api-keys/{key_id}", headers=admin_headers)
    ).status_code == 204
    assert_problem(await client.get("/v1/tenant", headers=tenant.headers), 401)


async def test_unknown_path_is_404_problem(client):
    assert_problem(await client.get("/v1/nothing-here"), 404)


async def test_wrong_method_is_405_problem(client):
    assert_problem(await client.delete("/healthz"), 405)


async def test_oversized_body_is_413_and_stores_nothing(client, admin_headers, app):
    big = {"name": "x" * (1024 * 1024 + 10)}
    assert_problem(await client.post("/v1/admin/tenants", json=big, headers=admin_headers), 413)

    # Without a Content-Length (chunked upload), the limit still holds.
    async def chunks():
        for _ in range(1100):
            yield b"x" * 1024

    response = await client.post(
        "/v1/admin/tenants",
        content=chunks(),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    async with app.state.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Tenant))).scalar() == 0


async def test_malformed_json_is_422_problem(client, admin_headers):
    response = await client.post(
        "/v1/admin/tenants",
        content=b'{"name": "x",',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"]


async def test_unknown_field_is_rejected(client, admin_headers):
    response = await client.post(
        "/v1/admin/tenants", json={"name": "x", "nmae": "typo"}, headers=admin_headers
    )
    body = assert_problem(response, 422)
    assert any(err["loc"][-1] == "nmae" for err in body["errors"])


async def test_request_id_is_echoed_and_generated(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32


async def test_unexpected_error_is_500_problem_without_internals(app, client):
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    response = await client.get("/boom", headers={"X-Request-ID": "req-500"})
    body = assert_problem(response, 500)
    assert "secret" not in response.text
    assert body["request_id"] == "req-500"
