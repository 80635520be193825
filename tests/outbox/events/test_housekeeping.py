"""Housekeeping: expired idempotency keys, events past their retention (with their
deliveries), endpoints deleted that long ago; at most once an hour from the scheduler."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app import main as tasks  # the housekeeping of every part, as main.py composes it
from app.main import TICK_JOBS
from app.outbox.events.models import Event
from app.outbox.events.service import emit
from app.outbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.tenants.idempotency import IdempotencyKey


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
    recent = await _emit(app, tenant.id, "recent", now - dt.timedelta(days=29))
    async with app.state.sessionmaker() as session:
        [delivery_id] = (
            await session.execute(select(WebhookDelivery.id).where(WebhookDelivery.event_id == old))
        ).scalars()
        session.add(
            WebhookAttempt(
                id="wha_1",
                delivery_id=delivery_id,
                attempted_at=now,
                status_code=500,
                duration_ms=3,
            )
        )
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
    stats = await tasks.housekeeping(
        sessionmaker=app.state.sessionmaker, clock=clock, settings=settings, batch_size=1
    )
    assert (stats.idempotency_keys, stats.events, stats.webhook_endpoints) == (1, 1, 0)
    async with app.state.sessionmaker() as session:
        # The old event's row stays (its occurrence key keeps it exactly-once), payload purged.
        rows = {e.id: e.data for e in (await session.execute(select(Event))).scalars()}
        assert set(rows) == {old, recent}
        assert rows[old] == {}
        keys = (await session.execute(select(IdempotencyKey.key))).scalars().all()
        assert keys == ["live"]
        deliveries = (await session.execute(select(WebhookDelivery.event_id))).scalars().all()
        assert deliveries == [recent]
    assert await _count(app, WebhookAttempt) == 0
    assert (await client.get(f"/v1/events/{old}", headers=tenant.headers)).status_code == 404

    # A deleted endpoint is purged once its history is past the retention.
    clock.set(now + dt.timedelta(days=31))
    stats = await tasks.housekeeping(
        sessionmaker=app.state.sessionmaker, clock=clock, settings=settings
    )
    assert (stats.events, stats.webhook_endpoints) == (1, 1)
    async with app.state.sessionmaker() as session:
        ids = (await session.execute(select(WebhookEndpoint.id))).scalars().all()
    assert ids == [endpoint["id"]]


async def test_retention_is_configurable(tenant, app, clock, settings):
    await _emit(app, tenant.id, "e", clock.now() - dt.timedelta(days=3))
    keep = settings.model_copy(update={"event_retention_days": 7})
    stats = await tasks.housekeeping(
        sessionmaker=app.state.sessionmaker, clock=clock, settings=keep
    )
    assert stats.events == 0
    short = settings.model_copy(update={"event_retention_days": 2})
    stats = await tasks.housekeeping(
        sessionmaker=app.state.sessionmaker, clock=clock, settings=short
    )
    assert stats.events == 1


async def test_tick_runs_at_most_hourly(tenant, app, clock, monkeypatch):
    assert ("housekeeping", tasks.run_housekeeping_tick) in TICK_JOBS
    monkeypatch.setattr(tasks, "_last_housekeeping", None)
    await _emit(app, tenant.id, "t1", clock.now() - dt.timedelta(days=40))
    first = await tasks.run_housekeeping_tick(app)
    assert first is not None
    assert first.events == 1
    await _emit(app, tenant.id, "t2", clock.now() - dt.timedelta(days=40))
    assert await tasks.run_housekeeping_tick(app) is None  # ran less than an hour ago
    assert await _count(app, Event) == 2  # rows kept; only t1's payload was purged
    last_run = tasks._last_housekeeping
    assert last_run is not None
    monkeypatch.setattr(tasks, "_last_housekeeping", last_run - tasks.HOUSEKEEPING_INTERVAL_SECONDS)
    again = await tasks.run_housekeeping_tick(app)
    assert again is not None
    assert again.events == 1


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
    clock.set(clock.now() + dt.timedelta(days=40))
    await tasks.housekeeping(
        sessionmaker=app.state.sessionmaker, clock=clock, settings=app.state.settings
    )
    # The invoice is re-planned from scratch (as any change would do): nothing is emitted twice.
    await client.patch(
        f"/v1/invoices/{made['invoice']['id']}", json={"external_id": "x"}, headers=tenant.headers
    )
    async with app.state.sessionmaker() as session:
        occurrences = (
            (
                await session.execute(
                    select(Event.occurrence).where(Event.invoice_id == made["invoice"]["id"])
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
