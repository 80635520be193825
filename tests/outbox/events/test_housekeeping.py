"""Housekeeping: expired idempotency keys, the history's months past retention, endpoints
deleted that long ago; at most once an hour from the scheduler."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from app import main as tasks  # the housekeeping of every part, as main.py composes it
from app.core.clock import FrozenClock
from app.main import TICK_JOBS
from app.outbox.events.models import Event, EventKey
from app.outbox.events.service import emit
from app.outbox.partitions import ensure_partitions
from app.outbox.webhooks.models import WebhookEndpoint
from app.tenants.idempotency import IdempotencyKey
from tests.outbox.events.test_partitioning import _endpoint, _seed_month


async def _count(app, model):
    async with app.state.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def _emit(app, tenant_id, occurrence, now):
    async with app.state.sessionmaker() as session:
        event_id = await emit(
            session,
            tenant_id=tenant_id,
            invoice_id=None,
            occurrence=occurrence,
            type="invoice.overdue",
            data={"occurrence": occurrence},
            now=now,
        )
        await session.commit()
    return event_id


async def test_housekeeping(client, tenant, app, clock, settings):
    app.state.settings = settings.model_copy(update={"webhook_allow_private_urls": True})
    endpoint = (
        await client.post(
            "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers
        )
    ).json()
    gone = (
        await client.post(
            "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers
        )
    ).json()
    assert (
        await client.delete(f"/v1/webhook-endpoints/{gone['id']}", headers=tenant.headers)
    ).status_code == 204

    now = clock.now()
    old = await _emit(app, tenant.id, "old", now - dt.timedelta(days=31))
    async with app.state.sessionmaker() as session:
        for key, expires_at in (("expired", now - dt.timedelta(seconds=1)), ("live", now)):
            session.add(
                IdempotencyKey(
                    owner=tenant.id,
                    key=key,
                    fingerprint="f",
                    expires_at=expires_at,
                    status=201,
                    headers={},
                    body=b"{}",
                )
            )
        await session.commit()

    # Tiny batches: the loop must go round several times.
    stats = await _housekeeping(app, clock, settings, batch_size=1)
    assert (stats.idempotency_keys, stats.webhook_endpoints) == (1, 0)
    async with app.state.sessionmaker() as session:
        keys = (await session.execute(select(IdempotencyKey.key))).scalars().all()
        assert keys == ["live"]
    # Past its retention (by its created_at) an event is no longer shown, though its month's
    # partition stays until the whole month is past retention (test_partitioning.py).
    assert (await client.get(f"/v1/events/{old}", headers=tenant.headers)).status_code == 404
    assert await _count(app, Event) == 1

    # A deleted endpoint is purged once it was deleted longer ago than the retention.
    clock.set(now + dt.timedelta(days=31))
    stats = await _housekeeping(app, clock, settings)
    assert stats.webhook_endpoints == 1
    async with app.state.sessionmaker() as session:
        ids = (await session.execute(select(WebhookEndpoint.id))).scalars().all()
    assert ids == [endpoint["id"]]


async def _housekeeping(app, clock, settings, batch_size=tasks.HOUSEKEEPING_BATCH):
    return await tasks.housekeeping(
        engine=app.state.engine,
        sessionmaker=app.state.sessionmaker,
        clock=clock,
        settings=settings,
        batch_size=batch_size,
    )


async def test_retention_is_configurable(app, client, tenant, settings):
    endpoint = await _endpoint(app, client, tenant, settings)
    january = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    await ensure_partitions(app.state.engine, january, 0)
    await _seed_month(app, tenant.id, endpoint, january, "succeeded")
    march = FrozenClock(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    keep = settings.model_copy(update={"event_retention_days": 60})  # January not over by then
    await _housekeeping(app, march, keep)
    assert await _count(app, Event) == 1
    short = settings.model_copy(update={"event_retention_days": 20})
    await _housekeeping(app, march, short)
    assert await _count(app, Event) == 0


async def test_tick_runs_at_most_hourly(app, monkeypatch):
    assert ("housekeeping", tasks.run_housekeeping_tick) in TICK_JOBS
    monkeypatch.setattr(tasks, "_last_housekeeping", None)
    assert await tasks.run_housekeeping_tick(app) is not None
    assert await tasks.run_housekeeping_tick(app) is None  # ran less than an hour ago
    last_run = tasks._last_housekeeping
    assert last_run is not None
    monkeypatch.setattr(tasks, "_last_housekeeping", last_run - tasks.HOUSEKEEPING_INTERVAL_SECONDS)
    assert await tasks.run_housekeeping_tick(app) is not None


async def test_an_event_past_retention_is_never_created_again(
    client, tenant, app, clock, admin_headers
):
    from tests.factories import ledger

    made = await ledger(client, tenant, due_date="2026-02-01")
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T06:00:00Z"}, headers=admin_headers
    )
    first = swept.json()["events_created"]
    assert first >= 1
    # As if the month's partitions had been dropped: the events and deliveries are gone.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("DELETE FROM webhook_deliveries"))
        await conn.execute(text("DELETE FROM events"))
    clock.set(clock.now() + dt.timedelta(days=40))
    # The invoice is re-planned from scratch (as any change would do): nothing is emitted twice.
    await client.patch(
        f"/v1/invoices/{made['invoice']['id']}", json={"external_id": "x"}, headers=tenant.headers
    )
    async with app.state.sessionmaker() as session:
        occurrences = (
            (
                await session.execute(
                    select(EventKey.occurrence).where(EventKey.invoice_id == made["invoice"]["id"])
                )
            )
            .scalars()
            .all()
        )
    assert len(occurrences) == len(set(occurrences)) == first
    again = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T06:00:00Z"}, headers=admin_headers
    )
    assert again.json()["events_created"] == 0
    assert (await client.get("/v1/events", headers=tenant.headers)).json()["data"] == []
    assert await _count(app, Event) == 0
