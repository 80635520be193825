from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.datastructures import State

from app.core.clock import FrozenClock
from app.core.settings import Settings
from app.main import create_app
from tests.db import empty_all_tables, test_database

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


# Apps already built, with their settings when built and their state before any lifespan. A test
# gets a fresh state and its own lifespan (engine, pool, HTTP client) on a cached app: building
# an app's routes costs FastAPI about 100 ms at its first request, which every test paid.
_APPS: list[tuple[Settings, FastAPI, dict[str, Any]]] = []


def _app_for(settings: Settings) -> tuple[FastAPI, dict[str, Any]]:
    for built_with, application, state in _APPS:
        if built_with == settings:
            return application, state
    application = create_app(settings, migrate_on_start=False)
    state = dict(application.state._state)
    _APPS.append((settings.model_copy(deep=True), application, state))
    return application, state


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application, state = _app_for(settings)
    # As create_app(settings, clock=clock) would leave it.
    clock.tz = settings.tz
    application.state = State(state | {"settings": settings, "clock": clock})
    application.dependency_overrides.clear()
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            await empty_all_tables(application.state.engine)


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
