from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, text

from app.core.db import SessionDep
from app.tenants.idempotency import IdempotencyKey
from app.tenants.models import Tenant


async def _count_tenants(app) -> int:
    async with app.state.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Tenant))).scalar_one()


async def test_same_key_same_body_replays_first_answer(client, admin_headers, app):
    headers = {**admin_headers, "Idempotency-Key": "k-1"}
    first = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    # Same JSON written differently is the same request.
    second = await client.post(
        "/v1/admin/tenants",
        content=b'{ "name" : "A" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await _count_tenants(app) == 1


async def test_same_key_other_body_is_422(client, admin_headers, app):
    headers = {**admin_headers, "Idempotency-Key": "k-2"}
    assert (
        await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    ).status_code == 201
    other = await client.post("/v1/admin/tenants", json={"name": "B"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert await _count_tenants(app) == 1


async def test_in_flight_key_is_409_until_its_transaction_ends(client, admin_headers, app):
    """In flight means: a transaction holds the key's advisory lock. Once it ends (committed,
    rolled back, or its connection dead after a crash), the key is free at once."""
    from app.tenants.idempotency import lock_id

    headers = {**admin_headers, "Idempotency-Key": "k-3"}
    async with app.state.sessionmaker() as holder:
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id("admin", "k-3")}
        )
        busy = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
        assert busy.status_code == 409
        assert busy.headers["retry-after"] == "1"
        assert await _count_tenants(app) == 0
        await holder.rollback()  # as a crash would: nothing stored, the lock gone with it
    served = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    assert served.status_code == 201
    assert await _count_tenants(app) == 1


async def test_effect_and_answer_commit_together(client, admin_headers, app):
    """The answer is stored in the route's own transaction: a request whose commit never
    happens leaves neither its effect nor its key, and its retry runs once."""
    from app.tenants.service import create_tenant

    calls = 0

    @app.post("/v1/admin/create-then-fail")
    async def create_then_fail(session: SessionDep) -> dict[str, int]:
        nonlocal calls
        calls += 1
        await create_tenant(session, f"T{calls}")  # flushed, not committed
        if calls == 1:
            raise RuntimeError("the process dies before its commit")
        return {"calls": calls}

    headers = {**admin_headers, "Idempotency-Key": "k-commit"}
    failed = await client.post("/v1/admin/create-then-fail", json={}, headers=headers)
    assert failed.status_code == 500
    assert await _count_tenants(app) == 0
    async with app.state.sessionmaker() as session:
        assert (
            await session.execute(select(func.count()).select_from(IdempotencyKey))
        ).scalar() == 0
    retried = await client.post("/v1/admin/create-then-fail", json={}, headers=headers)
    assert retried.status_code == 200
    replayed = await client.post("/v1/admin/create-then-fail", json={}, headers=headers)
    assert replayed.json() == retried.json() == {"calls": 2}
    assert replayed.headers["idempotent-replayed"] == "true"
    assert await _count_tenants(app) == 1


async def test_a_refused_request_stores_its_answer_but_not_its_work(client, admin_headers, app):
    """A 4xx raised after the route flushed work: the work is undone (its savepoint), the
    answer kept and replayed."""
    from app.core.errors import Conflict
    from app.tenants.service import create_tenant

    @app.post("/v1/admin/create-then-refuse")
    async def create_then_refuse(session: SessionDep) -> None:
        await create_tenant(session, "Refused")
        raise Conflict("refused after a flush")

    headers = {**admin_headers, "Idempotency-Key": "k-refuse"}
    first = await client.post("/v1/admin/create-then-refuse", json={}, headers=headers)
    second = await client.post("/v1/admin/create-then-refuse", json={}, headers=headers)
    assert first.status_code == second.status_code == 409
    assert second.headers["idempotent-replayed"] == "true"
    assert await _count_tenants(app) == 0


async def test_deeply_nested_body_with_a_key_is_4xx(client, tenant):
    body = "[" * 5000 + "]" * 5000
    for headers in (tenant.headers, {**tenant.headers, "Idempotency-Key": "k-deep"}):
        response = await client.post(
            "/v1/creditors", content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text


async def test_key_expires_after_24_hours(client, admin_headers, app, clock):
    headers = {**admin_headers, "Idempotency-Key": "k-4"}
    assert (
        await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    ).status_code == 201
    clock.set(clock.now() + dt.timedelta(hours=25))
    again = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert await _count_tenants(app) == 2


async def test_concurrent_same_key_has_one_effect(client, admin_headers, app):
    headers = {**admin_headers, "Idempotency-Key": "k-5"}
    responses = await asyncio.gather(
        *[client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers) for _ in range(10)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert await _count_tenants(app) == 1


async def test_validation_failure_is_replayed_too(client, admin_headers, app):
    headers = {**admin_headers, "Idempotency-Key": "k-6"}
    first = await client.post("/v1/admin/tenants", json={"name": ""}, headers=headers)
    second = await client.post("/v1/admin/tenants", json={"name": ""}, headers=headers)
    assert first.status_code == second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"


async def test_server_error_releases_the_key(client, admin_headers, app):
    calls = 0

    @app.post("/v1/admin/flaky")
    async def flaky() -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("transient")
        return {"calls": calls}

    headers = {**admin_headers, "Idempotency-Key": "k-7"}
    assert (await client.post("/v1/admin/flaky", json={}, headers=headers)).status_code == 500
    retry = await client.post("/v1/admin/flaky", json={}, headers=headers)
    assert retry.status_code == 200
    assert retry.json() == {"calls": 2}


async def test_overlong_key_is_422(client, admin_headers):
    headers = {**admin_headers, "Idempotency-Key": "x" * 300}
    response = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    assert response.status_code == 422


async def test_keys_are_scoped_to_the_tenant(client, tenant, other_tenant):
    body = {"name": "Same body"}
    first = await client.post(
        "/v1/creditors", json=body, headers={**tenant.headers, "Idempotency-Key": "shared"}
    )
    second = await client.post(
        "/v1/creditors", json=body, headers={**other_tenant.headers, "Idempotency-Key": "shared"}
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    mine = (await client.get("/v1/creditors", headers=tenant.headers)).json()["data"]
    assert [c["id"] for c in mine] == [first.json()["id"]]


async def test_replay_of_a_created_invoice(client, tenant):
    from tests.factories import create_creditor, create_debtor

    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    body = {
        "creditor_id": creditor["id"],
        "debtor_id": debtor["id"],
        "number": "F-1",
        "issue_date": "2026-01-15",
        "amount": "10.00",
    }
    headers = {**tenant.headers, "Idempotency-Key": "inv-1"}
    first = await client.post("/v1/invoices", json=body, headers=headers)
    second = await client.post("/v1/invoices", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
