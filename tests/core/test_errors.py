"""A transaction PostgreSQL rolled back is answered 503, to retry (app.core.errors); the other
database errors are in tests/reliability/test_faults.py."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from app.core.errors import unexpected_error_response
from app.ledger.payments import service as payments
from tests.factories import ledger
from tests.reliability.test_faults import DriverError


@pytest.mark.parametrize(
    ("message", "sqlstate"),
    [("deadlock detected", "40P01"), ("could not serialize access", "40001")],
)
def test_a_transaction_the_database_rolled_back_answers_503_to_retry(message, sqlstate):
    error = DBAPIError("UPDATE invoices", None, DriverError(message, sqlstate))
    response = unexpected_error_response(error, "POST", "/v1/invoices/batch")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.media_type == "application/problem+json"
    assert b"nothing was done, retry" in bytes(response.body)


async def test_a_payment_its_transaction_rolled_back_is_answered_503_then_runs_on_retry(
    client, tenant, monkeypatch
):
    """Through the API, under an Idempotency-Key: the 503 stores no answer, so the retry with the
    same key runs the payment, once."""
    made = await ledger(client, tenant, amount="500.00")
    invoice = made["invoice"]["id"]
    record_payment = payments.record_payment
    deadlocks = [DBAPIError("UPDATE invoices", None, DriverError("deadlock detected", "40P01"))]

    async def deadlocked_once(*args, **kwargs):
        if deadlocks:
            raise deadlocks.pop()
        return await record_payment(*args, **kwargs)

    monkeypatch.setattr(payments, "record_payment", deadlocked_once)
    body = {"amount": "100.00", "paid_at": "2026-02-20"}
    headers = {**tenant.headers, "Idempotency-Key": "deadlock-once"}
    first = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert first.status_code == 503, first.text
    assert first.headers["retry-after"] == "1"
    again = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert again.status_code == 201, again.text
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "100.00"
