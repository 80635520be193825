"""Database faults met by a request, in-process and fast (the real outage, with a stopped
PostgreSQL, is test_outage.py): the answer is 503 problem+json, and the Idempotency-Key of the
request is neither blocked (409 for minutes) nor left able to run twice.

Regression tests for what test_outage.py found: "the database system is shutting down" while
connecting answered 500; a key whose release failed during the outage answered 409 for 5
minutes; a failure to store the answer after the response escaped to the server."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core import idempotency
from app.core.errors import unexpected_error_response
from app.payments import service as payments
from tests.factories import ledger


class _DriverError(Exception):
    """What asyncpg raises, as SQLAlchemy's adapter carries it (with its SQLSTATE)."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("message", "sqlstate"),
    [
        ("the database system is shutting down", "57P03"),
        ("terminating connection due to administrator command", "57P01"),
        ("connection failure", "08006"),
        ("sorry, too many clients already", "53300"),
    ],
)
def test_database_unavailable_errors_answer_503(message, sqlstate):
    error = DBAPIError("SELECT 1", None, _DriverError(message, sqlstate))
    response = unexpected_error_response(error, "GET", "/v1/invoices")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.media_type == "application/problem+json"


def test_a_real_bug_still_answers_500():
    error = DBAPIError("SELECT 1", None, _DriverError("division by zero", "22012"))
    assert unexpected_error_response(error, "GET", "/v1/x").status_code == 500


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(idempotency, "RETRY_DELAYS", (0.05, 0.05, 0.1, 0.2))


async def _stored(app, key: str) -> int:
    async with app.state.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": key}
                )
            ).scalar_one()
        )


async def test_a_key_whose_release_failed_is_released_when_the_database_is_back(
    app, client, tenant, monkeypatch, fast_retries, counts
):
    made = await ledger(client, tenant, amount="500.00")
    invoice = made["invoice"]["id"]
    original_record, original_release = payments.record_payment, idempotency_release()
    failures = {"route": 1, "release": 1}

    async def route_down(*args, **kwargs):
        if failures["route"]:
            failures["route"] -= 1
            raise ConnectionRefusedError("database down")
        return await original_record(*args, **kwargs)

    async def release_down(self, *args, **kwargs):
        if failures["release"]:
            failures["release"] -= 1
            raise ConnectionRefusedError("database still down")
        return await original_release(self, *args, **kwargs)

    monkeypatch.setattr(payments, "record_payment", route_down)
    monkeypatch.setattr(idempotency.IdempotencyMiddleware, "_release", release_down)
    key = secrets.token_hex(8)
    body = {"amount": "100.00", "paid_at": "2026-02-20"}
    headers = {**tenant.headers, "Idempotency-Key": key}

    first = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert first.status_code == 503, first.text
    assert first.headers["content-type"].startswith("application/problem+json")
    statuses: list[int] = []
    while len(statuses) < 40:  # the client retries as told, with the same key
        again = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
        statuses.append(again.status_code)
        if again.status_code != 409:
            break
        await asyncio.sleep(0.05)
    assert again.status_code == 201, again.text
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "100.00"
    counts(retries=len(statuses), answers_409=statuses.count(409), payments=1)


async def test_an_answer_that_could_not_be_stored_is_stored_later(
    app, client, tenant, monkeypatch, fast_retries
):
    made = await ledger(client, tenant, amount="500.00")
    invoice = made["invoice"]["id"]
    original_store = idempotency.IdempotencyMiddleware._store
    failures = {"store": 1}

    async def store_down(self, *args, **kwargs):
        if failures["store"]:
            failures["store"] -= 1
            raise ConnectionResetError("database went away")
        return await original_store(self, *args, **kwargs)

    monkeypatch.setattr(idempotency.IdempotencyMiddleware, "_store", store_down)
    key = secrets.token_hex(8)
    body = {"amount": "100.00", "paid_at": "2026-02-20"}
    headers = {**tenant.headers, "Idempotency-Key": key}
    first = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = None
    for _ in range(40):
        replay = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
        if replay.status_code != 409:
            break
        await asyncio.sleep(0.05)
    assert replay is not None
    assert replay.status_code == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "100.00", "the payment ran twice"
    assert await _stored(app, key) == 1


def idempotency_release():
    return idempotency.IdempotencyMiddleware._release


async def test_nul_characters_are_refused_not_500(client, tenant, counts):
    """Found by the fuzz: PostgreSQL text cannot hold NUL, and the driver's error was a 500."""
    made = await ledger(client, tenant)
    probes = [
        ("POST", "/v1/creditors", {"name": "Nul\u0000SARL"}, None),
        ("PATCH", f"/v1/debtors/{made['debtor']['id']}", {"name": "a\u0000b"}, None),
        (
            "POST",
            f"/v1/invoices/{made['invoice']['id']}/disputes",
            {"reason": "other", "note": "\u0000"},
            None,
        ),
        ("GET", "/v1/events", None, {"type": "invoice.\u0000"}),
        ("GET", "/v1/creditors", None, {"external_id": "x\u0000"}),
        ("GET", "/v1/invoices/inv_%00", None, None),
    ]
    statuses = []
    for method, path, body, params in probes:
        response = await client.request(
            method, path, json=body, params=params, headers=tenant.headers
        )
        statuses.append(response.status_code)
        assert response.status_code in (404, 422), (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    counts(probes=len(probes), statuses=statuses, server_errors=0)


async def test_boundary_dates_and_amounts_never_answer_500(client, tenant, admin_headers, counts):
    """Found by the fuzz: a sweep as of year 1 overflowed (500). Every date and amount at the
    edge of what the types allow gets an answer, never a 500."""
    made = await ledger(client, tenant)
    creditor, debtor, invoice = made["creditor"]["id"], made["debtor"]["id"], made["invoice"]["id"]
    days = ["0001-01-01", "0001-01-02", "1899-12-31", "9000-01-01", "9999-12-30", "9999-12-31"]
    instants = [f"{d}T00:00:00+14:00" for d in days] + [f"{d}T23:59:59-12:00" for d in days]
    amounts = ["0.01", "999999999999.99", "1000000000000.00", 1e15, "-0.00"]
    probes: list[tuple[str, str, dict | None, dict | None]] = []
    for i, day in enumerate(days):
        probes += [
            (
                "POST",
                "/v1/invoices",
                {
                    "creditor_id": creditor,
                    "debtor_id": debtor,
                    "number": f"EDGE-{i}",
                    "issue_date": day,
                    "amount": "10.00",
                },
                None,
            ),
            ("PATCH", f"/v1/invoices/{invoice}", {"due_date": day}, None),
            ("POST", f"/v1/invoices/{invoice}/payments", {"amount": "1.00", "paid_at": day}, None),
            (
                "POST",
                f"/v1/invoices/{invoice}/payment-plan",
                {"installments": [{"due_date": day, "amount": "1250.00"}]},
                None,
            ),
            ("GET", f"/v1/invoices/{invoice}/claim", None, {"as_of": day}),
            ("GET", "/v1/reports/aged-balance", None, {"creditor_id": creditor, "as_of": day}),
            ("GET", "/v1/reports/dso", None, {"creditor_id": creditor, "as_of": day}),
            ("GET", "/v1/reports/recovery", None, {"creditor_id": creditor, "from": day}),
            (
                "PATCH",
                f"/v1/debtors/{debtor}",
                {"insolvency": {"procedure": "sauvegarde", "opened_on": day}},
                None,
            ),
        ]
    for instant in instants:
        probes += [
            ("POST", "/v1/admin/sweep", {"as_of": instant}, None),
            (
                "POST",
                f"/v1/invoices/{invoice}/actions",
                {"type": "note", "performed_at": instant},
                None,
            ),
        ]
    for amount in amounts:
        probes += [
            (
                "POST",
                f"/v1/invoices/{invoice}/payments",
                {"amount": amount, "paid_at": "2026-02-20"},
                None,
            ),
            ("PATCH", f"/v1/invoices/{invoice}", {"amount": amount}, None),
            ("PATCH", f"/v1/creditors/{creditor}", {"fixed_indemnity": amount}, None),
            ("PATCH", f"/v1/creditors/{creditor}", {"late_penalty_rate": amount}, None),
            ("PATCH", f"/v1/creditors/{creditor}", {"payment_terms_days": 10**9}, None),
        ]
    statuses: Counter[int] = Counter()
    failures = []
    for method, path, body, params in probes:
        headers = admin_headers if path.startswith("/v1/admin") else tenant.headers
        response = await client.request(method, path, json=body, params=params, headers=headers)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{method} {path} {body or params} -> {response.status_code}")
    counts(probes=len(probes), statuses=dict(sorted(statuses.items())), server_errors=len(failures))
    assert not failures, "\n".join(failures)
