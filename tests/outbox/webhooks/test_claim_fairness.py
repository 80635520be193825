"""The delivery claim is fair across tenants and endpoints: an older backlog spread over one
tenant's endpoints does not fill the batch before another tenant's first delivery (issue 19,
point 4)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import update

from app.outbox.events.service import emit
from app.outbox.webhooks import repository
from app.outbox.webhooks.models import WebhookDelivery
from tests.conftest import make_tenant


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"webhook_allow_private_urls": True})


async def _endpoint(client, tenant, path: str) -> str:
    body = {"url": f"http://127.0.0.1:9/{path}"}
    response = await client.post("/v1/webhook-endpoints", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _emit(app, tenant_id: str, occurrence: str, clock) -> None:
    async with app.state.sessionmaker() as session:
        await emit(
            session,
            tenant_id=tenant_id,
            invoice_id=None,
            occurrence=occurrence,
            type="invoice.overdue",
            data={"invoice": {"id": "inv_x", "number": occurrence}},
            now=clock.now(),
        )
        await session.commit()


async def _due_at(app, endpoint_id: str, at: dt.datetime) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .values(next_attempt_at=at)
        )
        await session.commit()


async def test_the_claim_takes_turns_across_tenants_and_endpoints(client, app, clock):
    big, small = await make_tenant(client, "Big"), await make_tenant(client, "Small")
    big_endpoints = [await _endpoint(client, big, f"big{n}") for n in range(5)]
    small_endpoint = await _endpoint(client, small, "small")
    for n in range(8):
        await _emit(app, big.id, f"b{n}", clock)  # 8 deliveries to each of big's 5 endpoints
    await _emit(app, small.id, "s", clock)
    # The big tenant's backlog is older, its first endpoint's the oldest: by due time alone, the
    # batch would be that endpoint's 8 and the next one's 2.
    now = clock.now()
    for rank, endpoint_id in enumerate(big_endpoints):
        await _due_at(app, endpoint_id, now - dt.timedelta(hours=10 - rank))

    async with app.state.engine.connect() as conn:
        claimed = await repository.claim_due(
            conn, now=now, limit=10, per_endpoint=8, tenant_id=None
        )
        await conn.commit()

    per_endpoint = Counter(job.endpoint_id for job in claimed)
    assert len(claimed) == 10
    assert per_endpoint[small_endpoint] == 1
    assert set(big_endpoints) <= set(per_endpoint)  # every endpoint had its turn
    assert max(per_endpoint.values()) == 2
