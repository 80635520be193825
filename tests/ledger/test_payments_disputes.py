from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.outbox.events.models import Event
from tests.factories import ledger


async def _events(app, invoice_id):
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Event.type).where(Event.invoice_id == invoice_id).order_by(Event.id)
        )
        return list(rows.scalars())


async def test_partial_then_full_payment(client, tenant, app):
    made = await ledger(client, tenant, amount="1000.00")
    url = f"/v1/invoices/{made['invoice']['id']}"
    first = await client.post(
        f"{url}/payments",
        json={"amount": "400.00", "paid_at": "2026-02-20", "method": "transfer"},
        headers=tenant.headers,
    )
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "400.00"
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert (invoice["paid_amount"], invoice["balance"], invoice["status"]) == (
        "400.00",
        "600.00",
        "open",
    )
    assert await _events(app, invoice["id"]) == []

    second = await client.post(
        f"{url}/payments", json={"amount": 600, "paid_at": "2026-03-01"}, headers=tenant.headers
    )
    assert second.status_code == 201
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert (invoice["balance"], invoice["status"]) == ("0.00", "paid")
    assert invoice["dunning"]["stage"] == "closed"
    assert await _events(app, invoice["id"]) == ["invoice.paid"]
    listed = (await client.get(f"{url}/payments", headers=tenant.headers)).json()["data"]
    assert [p["amount"] for p in listed] == ["400.00", "600.00"]

    closed = await client.post(
        f"{url}/payments", json={"amount": "1.00", "paid_at": "2026-03-01"}, headers=tenant.headers
    )
    assert closed.status_code == 409


async def test_overpayment_is_422_and_stores_nothing(client, tenant):
    made = await ledger(client, tenant, amount="100.00")
    url = f"/v1/invoices/{made['invoice']['id']}"
    response = await client.post(
        f"{url}/payments",
        json={"amount": "100.01", "paid_at": "2026-02-20"},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "amount"]
    assert (await client.get(f"{url}/payments", headers=tenant.headers)).json()["data"] == []
    assert (await client.get(url, headers=tenant.headers)).json()["balance"] == "100.00"


async def test_payment_validation(client, tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}/payments"
    for body in (
        {"amount": "0", "paid_at": "2026-02-20"},
        {"amount": "10.123", "paid_at": "2026-02-20"},
        {"amount": "10", "paid_at": "2030-01-01"},  # in the future of the service clock
        {"amount": "10"},
        {"amount": "10", "paid_at": "2026-02-20", "extra": True},
    ):
        assert (await client.post(url, json=body, headers=tenant.headers)).status_code == 422, body


async def test_fifty_concurrent_payments_leave_an_exact_balance(client, tenant):
    made = await ledger(client, tenant, amount="1000.00")
    url = f"/v1/invoices/{made['invoice']['id']}"
    responses = await asyncio.gather(
        *[
            client.post(
                f"{url}/payments",
                json={"amount": "19.99", "paid_at": "2026-02-20"},
                headers=tenant.headers,
            )
            for _ in range(50)
        ]
    )
    assert [r.status_code for r in responses].count(201) == 50
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert invoice["paid_amount"] == "999.50"
    assert invoice["balance"] == "0.50"


async def test_concurrent_payments_never_overpay(client, tenant, app):
    made = await ledger(client, tenant, amount="100.00")
    url = f"/v1/invoices/{made['invoice']['id']}"
    responses = await asyncio.gather(
        *[
            client.post(
                f"{url}/payments",
                json={"amount": "30.00", "paid_at": "2026-02-20"},
                headers=tenant.headers,
            )
            for _ in range(10)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 3
    assert set(codes) <= {201, 422}
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert invoice["paid_amount"] == "90.00"


async def test_dispute_pauses_and_resolution_resumes(client, tenant, app):
    made = await ledger(client, tenant, due_date="2026-02-15")
    url = f"/v1/invoices/{made['invoice']['id']}"
    opened = await client.post(
        f"{url}/disputes", json={"reason": "quality", "note": "colis abîmé"}, headers=tenant.headers
    )
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert dispute["status"] == "open"
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert invoice["disputed"] is True
    assert invoice["dunning"]["paused"] is True
    assert invoice["dunning"]["paused_reason"] == "dispute"

    again = await client.post(f"{url}/disputes", json={"reason": "other"}, headers=tenant.headers)
    assert again.status_code == 409

    resolved = await client.post(
        f"/v1/disputes/{dispute['id']}/resolve",
        json={"resolution": "rejected"},
        headers=tenant.headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    invoice = (await client.get(url, headers=tenant.headers)).json()
    assert invoice["disputed"] is False
    assert invoice["dunning"]["paused"] is False
    twice = await client.post(
        f"/v1/disputes/{dispute['id']}/resolve",
        json={"resolution": "rejected"},
        headers=tenant.headers,
    )
    assert twice.status_code == 409
    assert await _events(app, invoice["id"]) == [
        "invoice.dispute_opened",
        "invoice.dispute_resolved",
    ]
    listed = (await client.get(f"{url}/disputes", headers=tenant.headers)).json()
    assert [d["id"] for d in listed["data"]] == [dispute["id"]]
    assert (listed["has_more"], listed["next_cursor"]) == (False, None)


async def test_dispute_reason_is_validated(client, tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}/disputes"
    assert (
        await client.post(url, json={"reason": "angry"}, headers=tenant.headers)
    ).status_code == 422
