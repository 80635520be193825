"""Events API: list, filters, get, redeliver errors, tenant isolation."""

from __future__ import annotations

from app.outbox.events.service import emit


async def _emit(app, tenant_id, occurrence, clock, type_="invoice.overdue", invoice_id=None):
    async with app.state.sessionmaker() as session:
        event_id = await emit(
            session,
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            occurrence=occurrence,
            type=type_,
            data={"invoice": {"id": invoice_id}, "n": occurrence},
            now=clock.now(),
            occurred_on=clock.today(),
        )
        await session.commit()
    return event_id


async def test_list_get_and_filter(client, tenant, other_tenant, app, clock):
    overdue = await _emit(app, tenant.id, "a", clock, invoice_id="inv_1")
    paid = await _emit(app, tenant.id, "b", clock, type_="invoice.paid", invoice_id="inv_1")
    other_invoice = await _emit(app, tenant.id, "c", clock, invoice_id="inv_2")
    await _emit(app, other_tenant.id, "d", clock, invoice_id="inv_9")
    # The same (invoice, occurrence) again: no second event.
    assert await _emit(app, tenant.id, "a", clock, invoice_id="inv_1") is None

    listed = (await client.get("/v1/events", headers=tenant.headers)).json()
    assert [e["id"] for e in listed["data"]] == [overdue, paid, other_invoice]
    assert listed["has_more"] is False
    by_type = await client.get("/v1/events?type=invoice.paid", headers=tenant.headers)
    assert [e["id"] for e in by_type.json()["data"]] == [paid]
    by_invoice = await client.get("/v1/events?invoice_id=inv_1", headers=tenant.headers)
    assert [e["id"] for e in by_invoice.json()["data"]] == [overdue, paid]
    page = (await client.get("/v1/events?limit=2", headers=tenant.headers)).json()
    assert page["has_more"] is True
    rest = await client.get(f"/v1/events?cursor={page['next_cursor']}", headers=tenant.headers)
    assert [e["id"] for e in rest.json()["data"]] == [other_invoice]

    got = await client.get(f"/v1/events/{paid}", headers=tenant.headers)
    assert got.status_code == 200
    body = got.json()
    assert body == {
        "id": paid,
        "type": "invoice.paid",
        "created_at": "2026-03-02T09:00:00Z",
        "invoice_id": "inv_1",
        "debtor_id": None,  # set on grouped events only (grouping "debtor")
        "occurrence": "b",
        "occurred_on": "2026-03-02",
        "data": {"invoice": {"id": "inv_1"}, "n": "b"},
    }


async def test_newest_first_with_order_desc(client, tenant, other_tenant, app, clock):
    made = [await _emit(app, tenant.id, f"o{i}", clock, invoice_id="inv_1") for i in range(5)]
    await _emit(app, other_tenant.id, "o9", clock, invoice_id="inv_1")
    seen, cursor = [], None
    while True:
        params = {"order": "desc", "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/events", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == made[::-1]
    newest = await client.get(
        "/v1/events",
        params={"order": "desc", "limit": 1, "type": "invoice.overdue"},
        headers=tenant.headers,
    )
    assert [e["id"] for e in newest.json()["data"]] == [made[-1]]


async def test_tenant_isolation(client, tenant, other_tenant, app, clock):
    event_id = await _emit(app, tenant.id, "iso", clock)
    headers = other_tenant.headers
    assert (await client.get(f"/v1/events/{event_id}", headers=headers)).status_code == 404
    response = await client.post(f"/v1/events/{event_id}/redeliver", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/events", headers=headers)).json()["data"] == []
    assert (await client.get("/v1/events/evt_missing", headers=tenant.headers)).status_code == 404
    assert (await client.get("/v1/events")).status_code == 401


async def test_redeliver_checks_the_endpoint(client, tenant, other_tenant, app, clock):
    event_id = await _emit(app, tenant.id, "rd", clock)
    url = f"/v1/events/{event_id}/redeliver"
    # No endpoint at all: nothing to create.
    response = await client.post(url, headers=tenant.headers)
    assert response.status_code == 202
    assert response.json() == {"delivery_ids": []}

    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private_urls": True})
    foreign = (
        await client.post(
            "/v1/webhook-endpoints",
            json={"url": "http://127.0.0.1:9/"},
            headers=other_tenant.headers,
        )
    ).json()
    response = await client.post(url, json={"endpoint_id": foreign["id"]}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "endpoint_id"]

    mine = (
        await client.post(
            "/v1/webhook-endpoints",
            json={"url": "http://127.0.0.1:9/", "enabled": False},
            headers=tenant.headers,
        )
    ).json()
    response = await client.post(url, json={"endpoint_id": mine["id"]}, headers=tenant.headers)
    assert response.status_code == 409
    response = await client.post(
        url, json={"endpoint_id": mine["id"], "x": 1}, headers=tenant.headers
    )
    assert response.status_code == 422
