from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.clock import FrozenClock
from app.core.settings import Settings
from app.main import create_app
from tests.db import test_database

ADMIN_TOKEN = "test-admin-token"
# A Monday; tests that care about dates set the clock themselves.
DEFAULT_NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with test_database() as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        scheduler_enabled=False,
        webhook_allow_private_urls=False,
        db_pool_size=10,  # the most a test opens at once (6 concurrent batches, each with its auth)
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEFAULT_NOW)


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock, migrate_on_start=False)
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            await _truncate_all(application)


async def _truncate_all(application: FastAPI) -> None:
    async with application.state.engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ).scalar()
        if tables:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://relance.test") as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class TenantClient:
    id: str
    api_key: str
    headers: dict[str, str]


async def make_tenant(client: httpx.AsyncClient, name: str = "Acme SaaS") -> TenantClient:
    response = await client.post(
        "/v1/admin/tenants",
        json={"name": name},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return TenantClient(body["id"], body["api_key"], {"Authorization": f"Bearer {body['api_key']}"})


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> TenantClient:
    return await make_tenant(client, "Tenant A")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> TenantClient:
    return await make_tenant(client, "Tenant B")
