from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, insert, select

from app.core.idempotency import IdempotencyKey
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


async def test_in_flight_key_is_409_and_stale_claim_is_taken_over(
    client, admin_headers, app, clock
):
    from app.core.idempotency import _fingerprint

    fingerprint = _fingerprint("POST", "/v1/admin/tenants", b'{"name":"A"}')
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(IdempotencyKey).values(
                owner="admin",
                key="k-3",
                fingerprint=fingerprint,
                claimed_at=clock.now(),
                expires_at=clock.now() + dt.timedelta(hours=24),
            )
        )
        await session.commit()
    headers = {**admin_headers, "Idempotency-Key": "k-3"}
    busy = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    assert busy.status_code == 409
    assert await _count_tenants(app) == 0

    clock.set(clock.now() + dt.timedelta(minutes=10))  # the claimer died long ago
    taken = await client.post("/v1/admin/tenants", json={"name": "A"}, headers=headers)
    assert taken.status_code == 201
    assert await _count_tenants(app) == 1


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


async def test_a_late_release_or_store_touches_only_its_own_claim(app):
    """A release or a store retried after an outage must not act on a claim a later request
    made with the same key in the meantime."""
    from app.core.idempotency import IdempotencyMiddleware

    middleware = IdempotencyMiddleware(app)
    now = dt.datetime.now(dt.UTC)
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(IdempotencyKey).values(
                owner="admin",
                key="k-late",
                fingerprint="f",
                claimed_at=now,
                claim_token="new-claim",
                expires_at=now + dt.timedelta(hours=24),
            )
        )
        await session.commit()
    sessionmaker = app.state.sessionmaker
    await middleware._release(sessionmaker, "admin", "k-late", "old-claim")
    await middleware._store(sessionmaker, "admin", "k-late", "old-claim", {"status": 201})
    async with sessionmaker() as session:
        row = (await session.execute(select(IdempotencyKey))).scalar_one()
        assert (row.claim_token, row.status) == ("new-claim", None)
    await middleware._store(sessionmaker, "admin", "k-late", "new-claim", {"status": 201})
    async with sessionmaker() as session:
        assert (await session.execute(select(IdempotencyKey.status))).scalar_one() == 201


async def test_background_retries_stop_before_the_claim_can_be_taken_over(monkeypatch, caplog):
    import time

    from app.core import idempotency

    monkeypatch.setattr(idempotency, "RETRY_DELAYS", (0.01,) * 50)
    calls = 0

    async def database_down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    # Claimed long ago: past RETRY_UNTIL, the key may belong to someone else by now.
    claimed = time.monotonic() - idempotency.RETRY_UNTIL.total_seconds()
    await idempotency._now_or_later(database_down, "release", claimed)
    await asyncio.gather(*idempotency._RETRYING)
    assert calls == 1  # the first try only, no retry
    assert "gave up" in caplog.text

    # Claimed just now: retried until it works.
    calls = 0
    outcomes = iter([ConnectionError("down"), ConnectionError("down"), None])

    async def back_on_the_third_try() -> None:
        nonlocal calls
        calls += 1
        if (error := next(outcomes)) is not None:
            raise error

    await idempotency._now_or_later(back_on_the_third_try, "release", time.monotonic())
    await asyncio.gather(*idempotency._RETRYING)
    assert calls == 3
