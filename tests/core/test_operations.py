from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app.models import Base
from app.openapi_export import openapi_json
from app.outbox.partitions import include_in_autogenerate

ROOT = Path(__file__).resolve().parents[2]


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ok_when_migrated(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["migrations"]["current"] == response.json()["migrations"]["head"]


async def test_readyz_503_when_not_at_head(client, app):
    app.state.head_revision = "9999"
    response = await client.get("/readyz")
    assert response.status_code == 503


async def test_readyz_503_when_database_unreachable(client, app):
    from app.core.db import create_engine

    good = app.state.engine
    app.state.engine = create_engine("postgresql://nobody@127.0.0.1:1/none", pool_size=1)
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.engine.dispose()
        app.state.engine = good
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_metrics_count_requests_by_route(client):
    await client.get("/healthz")
    body = (await client.get("/metrics")).text
    assert 'relance_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "relance_http_request_duration_seconds_bucket" in body


async def test_models_and_migrations_do_not_drift(app):
    def diff(connection):
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": include_in_autogenerate,
            },
        )
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as conn:
        changes = await conn.run_sync(diff)
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert changes == [], f"models differ from migrations (run `make migration`): {changes}"
    assert version == app.state.head_revision


def test_committed_openapi_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert json.loads(committed) == json.loads(openapi_json()), "run `make openapi`"


def test_openapi_has_clean_operation_ids_and_problem_schema():
    doc = json.loads(openapi_json())
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i.islower() for i in ids)
    assert "Problem" in doc["components"]["schemas"]


async def test_an_exhausted_pool_answers_503_not_500(client, app, tenant, monkeypatch):
    """Past the pool (no overflow), a request waits pool_timeout for a connection; if none frees
    up, it is an overload: 503 problem+json, retryable, nothing done."""
    pool = app.state.engine.sync_engine.pool
    monkeypatch.setattr(pool, "_timeout", 0.2)
    held = [await app.state.engine.connect() for _ in range(app.state.settings.db_pool_size)]
    try:
        response = await client.post(
            "/v1/creditors", json={"name": "Overloaded SARL"}, headers=tenant.headers
        )
    finally:
        for conn in held:
            await conn.close()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    listed = await client.get("/v1/creditors", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_a_served_app_freezes_its_start_up_heap(settings, clock):
    """`relance serve` starts its app with freeze_heap: its routes are built at start-up, and
    what start-up built leaves the cyclic collector's generations (full collections stalled
    requests); other apps leave the GC alone and build their routes when first asked."""
    import gc

    from app.main import create_app

    gc.unfreeze()
    plain = create_app(settings, clock=clock, migrate_on_start=False)
    async with plain.router.lifespan_context(plain):
        assert gc.get_freeze_count() == 0
        assert plain.openapi_schema is None
    served = create_app(settings, clock=clock, migrate_on_start=False, freeze_heap=True)
    try:
        async with served.router.lifespan_context(served):
            assert gc.get_freeze_count() > 0
            # Its routes and its OpenAPI schema were built before its first request.
            assert served.openapi_schema is not None
    finally:
        gc.unfreeze()
