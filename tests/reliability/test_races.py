"""Races: the same request many times at once must have exactly the effect it has once.

Requests go concurrently through the ASGI app, each in its own transaction on its own pooled
connection, so the interleavings are real PostgreSQL ones. Each test counts what was stored."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from decimal import Decimal

import httpx
from sqlalchemy import text

from tests.conftest import DEFAULT_NOW
from tests.factories import create_creditor, create_debtor, create_invoice, ledger
from tests.reliability.routes import performed_at

CONCURRENCY = 12


async def _count(app, sql: str, **params) -> int:
    async with app.state.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def _burst(n: int, make) -> list[httpx.Response]:
    return list(await asyncio.gather(*(make(i) for i in range(n))))


async def test_same_idempotency_key_at_once_records_one_payment(app, client, tenant, counts):
    made = await ledger(client, tenant, amount="1000.00")
    invoice = made["invoice"]["id"]
    key = f"pay-{secrets.token_hex(6)}"
    body = {"amount": "125.00", "paid_at": "2026-02-20", "reference": "VIR-1"}

    responses = await _burst(
        CONCURRENCY,
        lambda _: client.post(
            f"/v1/invoices/{invoice}/payments",
            json=body,
            headers={**tenant.headers, "Idempotency-Key": key},
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    assert len({r.json()["id"] for r in created}) == 1, "two different payments answered"
    # Once the first has finished, the key replays it.
    again = await client.post(
        f"/v1/invoices/{invoice}/payments",
        json=body,
        headers={**tenant.headers, "Idempotency-Key": key},
    )
    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == created[0].json()

    stored = await _count(app, "SELECT count(*) FROM payments WHERE invoice_id = :i", i=invoice)
    balance = (await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)).json()
    assert stored == 1, f"{stored} payments for one Idempotency-Key"
    assert balance["paid_amount"] == "125.00"
    counts(requests=CONCURRENCY, statuses=dict(statuses), payments=stored, duplicated=stored - 1)


async def test_same_idempotency_key_at_once_creates_one_creditor(app, client, tenant, counts):
    key = f"cred-{secrets.token_hex(6)}"
    responses = await _burst(
        CONCURRENCY,
        lambda _: client.post(
            "/v1/creditors",
            json={"name": "Course SARL", "siren": "732829320"},
            headers={**tenant.headers, "Idempotency-Key": key},
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    stored = await _count(app, "SELECT count(*) FROM creditors WHERE tenant_id = :t", t=tenant.id)
    assert stored == 1, statuses
    counts(requests=CONCURRENCY, statuses=dict(statuses), creditors=stored, duplicated=stored - 1)


async def test_same_key_with_different_bodies_at_once_has_one_effect(app, client, tenant, counts):
    made = await ledger(client, tenant, amount="1000.00")
    invoice = made["invoice"]["id"]
    key = f"mixed-{secrets.token_hex(6)}"
    responses = await _burst(
        CONCURRENCY,
        lambda i: client.post(
            f"/v1/invoices/{invoice}/payments",
            json={"amount": f"{10 + i}.00", "paid_at": "2026-02-20"},
            headers={**tenant.headers, "Idempotency-Key": key},
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409, 422}, statuses
    assert statuses[201] == 1, statuses
    stored = await _count(app, "SELECT count(*) FROM payments WHERE invoice_id = :i", i=invoice)
    assert stored == 1
    counts(requests=CONCURRENCY, statuses=dict(statuses), payments=stored, duplicated=stored - 1)


async def test_concurrent_payments_never_overpay(app, client, tenant, counts):
    made = await ledger(client, tenant, amount="1000.00")
    invoice = made["invoice"]["id"]
    responses = await _burst(
        CONCURRENCY,
        lambda i: client.post(
            f"/v1/invoices/{invoice}/payments",
            json={"amount": "150.00", "paid_at": "2026-02-20", "reference": f"P{i}"},
            headers=tenant.headers,
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    # 6 x 150 = 900 fit; a 7th would overpay (422); once 900 are paid nothing more fits.
    assert statuses[201] == 6, statuses
    assert statuses[201] + statuses[422] + statuses[409] == CONCURRENCY, statuses
    got = (await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)).json()
    stored = await _count(app, "SELECT count(*) FROM payments WHERE invoice_id = :i", i=invoice)
    assert got["paid_amount"] == "900.00", got
    assert got["balance"] == "100.00", got
    assert stored == 6
    counts(requests=CONCURRENCY, statuses=dict(statuses), payments=stored, paid=got["paid_amount"])


async def test_concurrent_payments_to_zero_emit_one_paid_event(app, client, tenant, counts):
    made = await ledger(client, tenant, amount="1200.00")
    invoice = made["invoice"]["id"]
    responses = await _burst(
        CONCURRENCY,
        lambda i: client.post(
            f"/v1/invoices/{invoice}/payments",
            json={"amount": "100.00", "paid_at": "2026-02-20"},
            headers=tenant.headers,
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == CONCURRENCY, statuses
    got = (await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)).json()
    assert got["status"] == "paid", got
    assert got["balance"] == "0.00", got
    paid_events = await _count(
        app,
        "SELECT count(*) FROM events WHERE invoice_id = :i AND type = 'invoice.paid'",
        i=invoice,
    )
    assert paid_events == 1, f"{paid_events} invoice.paid events"
    total = Decimal(
        await _count(
            app, "SELECT count(*) FROM payments WHERE invoice_id = :i AND amount = 100", i=invoice
        )
    )
    assert total == CONCURRENCY
    counts(requests=CONCURRENCY, statuses=dict(statuses), paid_events=paid_events)


async def test_concurrent_contacts_near_the_cap_record_exactly_the_cap(app, client, tenant, counts):
    made = await ledger(client, tenant, amount="800.00")
    invoice = made["invoice"]["id"]
    # One call already recorded: two more fit under the cap of three.
    first = await client.post(
        f"/v1/invoices/{invoice}/actions",
        json={"type": "phone_call", "performed_at": performed_at(DEFAULT_NOW)},
        headers=tenant.headers,
    )
    assert first.status_code == 201, first.text
    responses = await _burst(
        CONCURRENCY,
        lambda i: client.post(
            f"/v1/invoices/{invoice}/actions",
            json={"type": "phone_call", "performed_at": performed_at(DEFAULT_NOW), "note": f"{i}"},
            headers=tenant.headers,
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 2, 409: CONCURRENCY - 2}), statuses
    calls = await _count(
        app,
        "SELECT count(*) FROM actions WHERE invoice_id = :i AND type = 'phone_call'",
        i=invoice,
    )
    assert calls == 3, f"{calls} calls recorded, cap is 3"
    counts(requests=CONCURRENCY, statuses=dict(statuses), calls=calls, cap=3)


async def test_concurrent_disputes_open_one(app, client, tenant, counts):
    made = await ledger(client, tenant)
    invoice = made["invoice"]["id"]
    responses = await _burst(
        CONCURRENCY,
        lambda _: client.post(
            f"/v1/invoices/{invoice}/disputes", json={"reason": "quality"}, headers=tenant.headers
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({201: 1, 409: CONCURRENCY - 1}), statuses
    opened = await _count(
        app,
        "SELECT count(*) FROM events WHERE invoice_id = :i AND type = 'invoice.dispute_opened'",
        i=invoice,
    )
    assert opened == 1
    counts(requests=CONCURRENCY, statuses=dict(statuses), dispute_opened_events=opened)


async def test_concurrent_batches_of_the_same_invoices_store_each_once(app, client, tenant, counts):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    rows = [
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": f"B-{n:03d}",
            "issue_date": "2026-02-01",
            "amount": "99.00",
        }
        for n in range(200)
    ]
    responses = await _burst(
        6,
        lambda _: client.post(
            "/v1/invoices/batch", json={"invoices": rows}, headers=tenant.headers
        ),
    )
    statuses = Counter(r.status_code for r in responses)
    created = sum(r.json()["created"] for r in responses if r.status_code == 200)
    stored = await _count(
        app, "SELECT count(*) FROM invoices WHERE creditor_id = :c", c=creditor["id"]
    )
    assert stored == 200, stored
    assert created == 200, (created, statuses)
    assert set(statuses) <= {200, 409}, statuses
    counts(batches=6, rows=200, statuses=dict(statuses), created=created, stored=stored)


async def test_concurrent_cancel_and_payment_leave_a_consistent_invoice(
    app, client, tenant, counts
):
    invoices = []
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    for n in range(6):
        made = await create_invoice(
            client, tenant, creditor["id"], debtor["id"], number=f"C-{n}", amount="300.00"
        )
        invoices.append(made["id"])

    async def race(invoice: str) -> tuple[int, int]:
        pay, cancel = await asyncio.gather(
            client.post(
                f"/v1/invoices/{invoice}/payments",
                json={"amount": "300.00", "paid_at": "2026-02-20"},
                headers=tenant.headers,
            ),
            client.post(
                f"/v1/invoices/{invoice}/cancel", json={"reason": "race"}, headers=tenant.headers
            ),
        )
        return pay.status_code, cancel.status_code

    outcomes = await asyncio.gather(*(race(i) for i in invoices))
    for invoice, (pay, cancel) in zip(invoices, outcomes, strict=True):
        got = (await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)).json()
        payments = await _count(
            app, "SELECT count(*) FROM payments WHERE invoice_id = :i", i=invoice
        )
        # Exactly one of them wins; the other sees the closed invoice (409).
        assert (pay, cancel) in ((201, 409), (409, 200)), (pay, cancel)
        if pay == 201:
            assert payments == 1
            assert got["paid_amount"] == "300.00"
        else:
            assert payments == 0
            assert got["status"] == "cancelled"
    counts(races=len(outcomes), outcomes={f"{p}/{c}": n for (p, c), n in Counter(outcomes).items()})
