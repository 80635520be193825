"""Webhook endpoints API: CRUD, secrets, SSRF refusals, event-type filter, tenant isolation."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from app.outbox.events.schemas import EventType
from app.outbox.events.service import emit
from app.outbox.webhooks import repository, service
from app.outbox.webhooks.models import WebhookDelivery

PUBLIC_IP = "93.184.216.34"
URL = "https://hooks.saas.example/relance"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """No real DNS in tests: names resolve as this table says (unknown names fail)."""
    table = {"hooks.saas.example": [PUBLIC_IP], "internal.saas.example": ["10.1.2.3"]}
    table["mixed.saas.example"] = [PUBLIC_IP, "fd00::1"]

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    monkeypatch.setattr(service, "RESOLVER", resolve)
    return table


async def _create(client, tenant, **fields):
    body = {"url": URL, **fields}
    response = await client.post("/v1/webhook-endpoints", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _emit(app, tenant_id, type_, occurrence, clock):
    async with app.state.sessionmaker() as session:
        event_id = await emit(
            session,
            tenant_id=tenant_id,
            invoice_id=None,
            occurrence=occurrence,
            type=type_,
            data={"n": occurrence},
            now=clock.now(),
        )
        await session.commit()
    return event_id


async def _deliveries(app, endpoint_id):
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        return list(rows.scalars())


async def test_create_returns_the_secret_once(client, tenant):
    created = await _create(client, tenant, description="ERP", event_types=["invoice.paid"])
    assert created["id"].startswith("we_")
    assert created["url"] == URL
    assert created["event_types"] == ["invoice.paid"]
    assert created["enabled"] is True
    assert created["disabled_reason"] is None
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24

    got = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=tenant.headers)
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert secret not in got.text
    listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
    assert [e["id"] for e in listed.json()["data"]] == [created["id"]]
    assert secret not in listed.text
    assert listed.json()["has_more"] is False


async def test_defaults_and_normalised_url(client, tenant):
    created = await _create(client, tenant, url="HTTPS://Hooks.SaaS.example:443/relance#frag")
    assert created["url"] == URL
    assert created["event_types"] == ["*"]
    assert created["description"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.8/hook",
        "http://[::1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 spelled as one number
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8080/hook",
        "https://internal.saas.example/hook",  # a name resolving to a private address
        "https://mixed.saas.example/hook",  # one private answer is enough
        "https://unknown.saas.example/hook",  # cannot be resolved
        "ftp://hooks.saas.example/hook",
        "file:///etc/passwd",
        "https://user:pw@hooks.saas.example/",
        "not a url",
    ],
)
async def test_unsafe_urls_are_refused(client, tenant, url):
    response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["body", "url"]
    assert (await client.get("/v1/webhook-endpoints", headers=tenant.headers)).json()["data"] == []


async def test_private_urls_allowed_when_configured(client, tenant, app):
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private_urls": True})
    created = await _create(client, tenant, url="http://127.0.0.1:9/hook")
    assert created["url"] == "http://127.0.0.1:9/hook"
    # Still only http(s).
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "gopher://127.0.0.1/"}, headers=tenant.headers
    )
    assert response.status_code == 422


async def test_patch_rechecks_the_url(client, tenant):
    created = await _create(client, tenant)
    url = f"/v1/webhook-endpoints/{created['id']}"
    response = await client.patch(url, json={"url": "http://10.0.0.1/"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "url"]
    assert (await client.get(url, headers=tenant.headers)).json()["url"] == URL


@pytest.mark.parametrize("event_types", [["invoice.nope"], [], ["*", "bogus"], "invoice.paid", [1]])
async def test_event_types_are_validated(client, tenant, event_types):
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": event_types},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", "event_types"]


async def test_unknown_fields_and_null_required_fields(client, tenant):
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": URL, "secret": "whsec_x"}, headers=tenant.headers
    )
    assert response.status_code == 422
    created = await _create(client, tenant)
    for body in ({"url": None}, {"enabled": None}, {"event_types": None}):
        response = await client.patch(
            f"/v1/webhook-endpoints/{created['id']}", json=body, headers=tenant.headers
        )
        assert response.status_code == 422, body


async def test_fan_out_follows_the_event_type_filter(client, tenant, other_tenant, app, clock):
    paid_only = await _create(client, tenant, event_types=["invoice.paid"])
    everything = await _create(client, tenant)
    disabled = await _create(client, tenant, enabled=False)
    foreign = await _create(client, other_tenant)

    await _emit(app, tenant.id, "invoice.overdue", "o1", clock)
    await _emit(app, tenant.id, "invoice.paid", "p1", clock)
    assert len(await _deliveries(app, paid_only["id"])) == 1
    assert len(await _deliveries(app, everything["id"])) == 2
    assert await _deliveries(app, disabled["id"]) == []
    assert await _deliveries(app, foreign["id"]) == []
    rows = await _deliveries(app, everything["id"])
    assert {(d.status, d.attempts, d.next_attempt_at) for d in rows} == {
        ("pending", 0, clock.now())
    }

    # Changing the filter applies to the events that come next.
    response = await client.patch(
        f"/v1/webhook-endpoints/{paid_only['id']}",
        json={"event_types": ["invoice.overdue", "invoice.overdue"]},
        headers=tenant.headers,
    )
    assert response.json()["event_types"] == ["invoice.overdue"]
    await _emit(app, tenant.id, "invoice.overdue", "o2", clock)
    assert len(await _deliveries(app, paid_only["id"])) == 2


async def test_deliveries_of_a_batch_are_one_statement(client, tenant, other_tenant, app, clock):
    a = await _create(client, tenant)
    b = await _create(client, other_tenant, event_types=["invoice.overdue"])
    async with app.state.sessionmaker() as session:
        ids: list[str] = []
        batch: list[tuple[Any, EventType]] = [
            (tenant, "invoice.overdue"),
            (other_tenant, "invoice.paid"),
        ]
        for i, (owner, type_) in enumerate(batch * 3):
            event_id = await emit(
                session,
                tenant_id=owner.id,
                invoice_id=None,
                occurrence=f"batch-{i}",
                type=type_,
                data={},
                now=clock.now(),
            )
            assert event_id is not None
            ids.append(event_id)
        # emit() already fanned them out; a second fan-out of the same list adds one more each.
        created = len(await repository.insert_deliveries(session, ids, now=None))
        await session.commit()
    assert created == 3
    assert len(await _deliveries(app, a["id"])) == 6
    assert len(await _deliveries(app, b["id"])) == 0
    assert await repository.insert_deliveries(session, [], now=None) == []


async def test_disable_and_reenable(client, tenant, app, clock):
    created = await _create(client, tenant)
    url = f"/v1/webhook-endpoints/{created['id']}"
    await _emit(app, tenant.id, "invoice.overdue", "x1", clock)
    response = await client.patch(url, json={"enabled": False}, headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert [d.status for d in await _deliveries(app, created["id"])] == ["cancelled"]
    await _emit(app, tenant.id, "invoice.overdue", "x2", clock)
    assert len(await _deliveries(app, created["id"])) == 1

    # As if the service had disabled it after 5 days of failures.
    async with app.state.sessionmaker() as session:
        endpoint = await service.get_endpoint(session, tenant.id, created["id"])
        endpoint.disabled_reason = "failing for 5 days"
        endpoint.failing_since = clock.now() - dt.timedelta(days=5)
        await session.commit()
    assert (await client.get(url, headers=tenant.headers)).json()["disabled_reason"] == (
        "failing for 5 days"
    )
    response = await client.patch(
        url, json={"enabled": True, "description": "back"}, headers=tenant.headers
    )
    body = response.json()
    assert (body["enabled"], body["disabled_reason"], body["failing_since"]) == (True, None, None)
    assert body["description"] == "back"


async def test_delete_cancels_pending_deliveries(client, tenant, app, clock):
    created = await _create(client, tenant)
    url = f"/v1/webhook-endpoints/{created['id']}"
    await _emit(app, tenant.id, "invoice.overdue", "d1", clock)
    response = await client.delete(url, headers=tenant.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert [d.status for d in await _deliveries(app, created["id"])] == ["cancelled"]
    assert (await client.get(url, headers=tenant.headers)).status_code == 404
    assert (await client.delete(url, headers=tenant.headers)).status_code == 404
    assert (await client.get("/v1/webhook-endpoints", headers=tenant.headers)).json()["data"] == []
    await _emit(app, tenant.id, "invoice.overdue", "d2", clock)
    assert len(await _deliveries(app, created["id"])) == 1


async def test_rotate_secret(client, tenant, clock):
    created = await _create(client, tenant)
    url = f"/v1/webhook-endpoints/{created['id']}/rotate-secret"
    response = await client.post(url, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != created["secret"]
    expires = dt.datetime.fromisoformat(body["previous_secret_expires_at"])
    assert expires == clock.now() + dt.timedelta(hours=24)
    got = await client.get(f"/v1/webhook-endpoints/{created['id']}", headers=tenant.headers)
    assert body["secret"] not in got.text
    assert got.json()["previous_secret_expires_at"] is not None


async def test_pagination(client, tenant):
    ids = [(await _create(client, tenant))["id"] for _ in range(3)]
    first = (await client.get("/v1/webhook-endpoints?limit=2", headers=tenant.headers)).json()
    assert first["has_more"] is True
    second = (
        await client.get(
            f"/v1/webhook-endpoints?limit=2&cursor={first['next_cursor']}", headers=tenant.headers
        )
    ).json()
    assert [e["id"] for e in first["data"] + second["data"]] == ids
    assert second["has_more"] is False


async def test_tenant_isolation(client, tenant, other_tenant):
    created = await _create(client, tenant)
    base = f"/v1/webhook-endpoints/{created['id']}"
    headers = other_tenant.headers
    assert (await client.get(base, headers=headers)).status_code == 404
    assert (await client.patch(base, json={"enabled": False}, headers=headers)).status_code == 404
    assert (await client.delete(base, headers=headers)).status_code == 404
    assert (await client.post(f"{base}/rotate-secret", headers=headers)).status_code == 404
    assert (await client.get(f"{base}/deliveries", headers=headers)).status_code == 404
    assert (await client.get("/v1/webhook-endpoints", headers=headers)).json()["data"] == []
    missing = await client.get("/v1/webhook-endpoints/we_missing", headers=tenant.headers)
    assert missing.status_code == 404
    assert (await client.get(base, headers=tenant.headers)).json()["enabled"] is True


async def test_requires_auth(client):
    assert (await client.get("/v1/webhook-endpoints")).status_code == 401
    assert (await client.post("/v1/webhook-endpoints", json={"url": URL})).status_code == 401
