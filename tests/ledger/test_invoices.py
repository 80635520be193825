from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import create_creditor, create_debtor, create_invoice, ledger


async def test_due_date_defaults_to_creditor_terms(client, tenant):
    creditor = await create_creditor(client, tenant, payment_terms_days=45)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(
        client, tenant, creditor["id"], debtor["id"], issue_date="2026-01-15"
    )
    assert invoice["due_date"] == "2026-03-01"
    assert invoice["amount"] == "1250.00"
    assert invoice["paid_amount"] == "0.00"
    assert invoice["balance"] == "1250.00"
    assert invoice["status"] == "open"
    assert invoice["currency"] == "EUR"
    assert invoice["disputed"] is False
    assert invoice["warnings"] == []
    assert set(invoice["dunning"]) == {
        "stage",
        "last_step",
        "next_step",
        "next_action_at",
        "paused",
        "paused_reason",
        "formal_notice_deadline",
    }


async def test_days_overdue_follows_the_service_clock(client, tenant, clock):
    made = await ledger(client, tenant, issue_date="2026-01-01", due_date="2026-01-31")
    # DEFAULT_NOW is 2026-03-02 in Paris: 30 days after 2026-01-31.
    assert made["invoice"]["days_overdue"] == 30
    clock.set(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC))
    fetched = await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=tenant.headers)
    assert fetched.json()["days_overdue"] == 0


@pytest.mark.parametrize(
    ("issue", "due", "warned"),
    [
        ("2026-01-15", "2026-03-16", False),  # exactly 60 days
        ("2026-01-15", "2026-03-31", False),  # 45 days end of month: 2026-03-01 -> 2026-03-31
        ("2026-01-15", "2026-04-01", True),
        ("2026-01-31", "2026-04-01", False),  # 60 days = 2026-04-01
    ],
)
async def test_terms_beyond_legal_maximum_are_accepted_with_a_warning(
    client, tenant, issue, due, warned
):
    made = await ledger(client, tenant, issue_date=issue, due_date=due)
    warnings = made["invoice"]["warnings"]
    assert bool(warnings) is warned
    if warned:
        assert "L441-10" in warnings[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "0"),
        ("amount", "-10.00"),
        ("amount", "10.001"),
        ("amount", 10.001),
        ("amount", "1e3x"),
        ("amount", True),
        ("amount", "NaN"),
        ("issue_date", "2026-02-30"),
        ("issue_date", "15/01/2026"),
        ("due_date", "2026-01-14"),  # before the issue date
        ("currency", "euro"),
        ("number", ""),
        ("late_penalty_rate", "-1"),
        ("debtor_id", "debt_missing"),
        ("creditor_id", "cred_missing"),
        ("nonsense", 1),
    ],
)
async def test_invoice_validation_stores_nothing(client, tenant, field, value):
    made = await ledger(client, tenant, number="F-1")
    body = {
        "creditor_id": made["creditor"]["id"],
        "debtor_id": made["debtor"]["id"],
        "number": "F-2",
        "issue_date": "2026-01-15",
        "amount": "100.00",
        field: value,
    }
    response = await client.post("/v1/invoices", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    listed = (await client.get("/v1/invoices", headers=tenant.headers)).json()["data"]
    assert [i["number"] for i in listed] == ["F-1"]


@pytest.mark.parametrize(
    ("amount", "expected"), [(10.5, "10.50"), (1250, "1250.00"), ("99.9", "99.90")]
)
async def test_amount_accepts_numbers_and_strings(client, tenant, amount, expected):
    made = await ledger(client, tenant, amount=amount)
    assert made["invoice"]["amount"] == expected


async def test_duplicate_number_is_409(client, tenant):
    made = await ledger(client, tenant, number="F-1")
    body = {
        "creditor_id": made["creditor"]["id"],
        "debtor_id": made["debtor"]["id"],
        "number": "F-1",
        "issue_date": "2026-01-15",
        "amount": "100.00",
    }
    response = await client.post("/v1/invoices", json=body, headers=tenant.headers)
    assert response.status_code == 409


async def test_same_number_for_another_creditor_is_fine(client, tenant):
    await ledger(client, tenant, number="F-1")
    await ledger(client, tenant, number="F-1")


async def test_debtor_of_another_creditor_is_422(client, tenant):
    first = await ledger(client, tenant)
    other_creditor = await create_creditor(client, tenant, name="Other")
    body = {
        "creditor_id": other_creditor["id"],
        "debtor_id": first["debtor"]["id"],
        "number": "F-9",
        "issue_date": "2026-01-15",
        "amount": "100.00",
    }
    response = await client.post("/v1/invoices", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert "another creditor" in response.json()["detail"]


async def test_list_filters(client, tenant, clock):
    made = await ledger(client, tenant, number="LATE", due_date="2026-02-01")
    c, d = made["creditor"]["id"], made["debtor"]["id"]
    await create_invoice(client, tenant, c, d, number="NOT-DUE", due_date="2026-04-01")
    other = await ledger(client, tenant, number="OTHER", due_date="2026-04-01")

    async def numbers(**params):
        response = await client.get("/v1/invoices", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return sorted(i["number"] for i in response.json()["data"])

    assert await numbers(creditor_id=c) == ["LATE", "NOT-DUE"]
    assert await numbers(debtor_id=other["debtor"]["id"]) == ["OTHER"]
    assert await numbers(overdue="true") == ["LATE"]
    assert await numbers(overdue="false") == ["NOT-DUE", "OTHER"]
    assert await numbers(status="paid") == []
    bad = await client.get("/v1/invoices", params={"status": "lost"}, headers=tenant.headers)
    assert bad.status_code == 422


async def test_patch_invoice(client, tenant):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}"
    patched = await client.patch(
        url, json={"amount": "1300.00", "due_date": "2026-03-01"}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["balance"] == "1300.00"
    assert (
        await client.patch(url, json={"due_date": "2025-01-01"}, headers=tenant.headers)
    ).status_code == 422
    assert (
        await client.patch(url, json={"amount": None}, headers=tenant.headers)
    ).status_code == 422
    assert (
        await client.patch(url, json={"number": "X"}, headers=tenant.headers)
    ).status_code == 422


@pytest.mark.parametrize(
    ("action", "status"), [("cancel", "cancelled"), ("write-off", "written_off")]
)
async def test_cancel_and_write_off(client, tenant, action, status):
    made = await ledger(client, tenant)
    url = f"/v1/invoices/{made['invoice']['id']}"
    assert (
        await client.post(f"{url}/{action}", json={}, headers=tenant.headers)
    ).status_code == 422
    closed = await client.post(
        f"{url}/{action}", json={"reason": "avoir n° A-12"}, headers=tenant.headers
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == status
    assert body["closed_reason"] == "avoir n° A-12"
    assert body["dunning"]["stage"] == "closed"
    assert body["dunning"]["next_action_at"] is None
    again = await client.post(f"{url}/{action}", json={"reason": "x"}, headers=tenant.headers)
    assert again.status_code == 409
    patched = await client.patch(url, json={"amount": "1.00"}, headers=tenant.headers)
    assert patched.status_code == 409


async def test_hot_read_survives_connections_the_database_dropped(app, client, tenant):
    """GET /v1/invoices/{id} runs on the driver itself, past SQLAlchemy: a pooled connection the
    database closed must answer 503 (retryable) at worst, and leave the pool, never a 500 or a
    pool that keeps failing."""
    from sqlalchemy import text

    invoice = (await ledger(client, tenant))["invoice"]
    path = f"/v1/invoices/{invoice['id']}"
    pool_size = app.state.settings.db_pool_size
    # Fill the pool with open connections, then have the database drop them all.
    held = [await app.state.engine.connect() for _ in range(pool_size)]
    for conn in held:
        await conn.execute(text("SELECT 1"))
        await conn.close()
    async with app.state.engine.connect() as admin:
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await admin.invalidate()  # this one is dropped by its own hand below
    statuses = [
        (await client.get(path, headers=tenant.headers)).status_code for _ in range(pool_size * 2)
    ]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) <= pool_size
    after = [
        (await client.get(path, headers=tenant.headers)).status_code for _ in range(pool_size + 1)
    ]
    assert after == [200] * (pool_size + 1)
