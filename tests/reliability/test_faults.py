"""Database faults met by a request, in-process and fast (the real outage, with a stopped
PostgreSQL, is test_outage.py): the answer is 503 problem+json, and the Idempotency-Key of the
request is neither blocked (409) nor able to run twice.

Regression tests for what test_outage.py and the chaos test found: "the database system is
shutting down" while connecting answered 500; a key whose request failed answered 409 for 5
minutes; an effect committed without its stored answer ran again on retry."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import unexpected_error_response
from app.ledger.payments import service as payments
from tests.factories import ledger
from tests.reliability.routes import ID_FIELDS, api_routes


class DriverError(Exception):
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
    error = DBAPIError("SELECT 1", None, DriverError(message, sqlstate))
    response = unexpected_error_response(error, "GET", "/v1/invoices")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.media_type == "application/problem+json"


def test_a_real_bug_still_answers_500():
    error = DBAPIError("SELECT 1", None, DriverError("division by zero", "22012"))
    assert unexpected_error_response(error, "GET", "/v1/x").status_code == 500


async def _stored(app, key: str) -> int:
    async with app.state.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": key}
                )
            ).scalar_one()
        )


async def _pay_until_answered(client, invoice: str, body: dict, headers: dict) -> list:
    """The client retrying as told, with the same key: every answer until a final one."""
    answers: list[httpx.Response] = []
    while len(answers) < 40:
        again = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
        answers.append(again)
        if again.status_code != 409 and again.status_code < 500:
            break
        await asyncio.sleep(0.05)
    return answers


async def test_a_request_the_database_failed_is_served_at_once_on_retry(
    app, client, tenant, monkeypatch, counts
):
    made = await ledger(client, tenant, amount="500.00")
    invoice = made["invoice"]["id"]
    original_record = payments.record_payment
    failures = {"route": 1}

    async def route_down(*args, **kwargs):
        if failures["route"]:
            failures["route"] -= 1
            raise ConnectionRefusedError("database down")
        return await original_record(*args, **kwargs)

    monkeypatch.setattr(payments, "record_payment", route_down)
    body = {"amount": "100.00", "paid_at": "2026-02-20"}
    headers = {**tenant.headers, "Idempotency-Key": secrets.token_hex(8)}

    first = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert first.status_code == 503, first.text
    assert first.headers["content-type"].startswith("application/problem+json")
    answers = await _pay_until_answered(client, invoice, body, headers)
    assert [a.status_code for a in answers] == [201], "no 409 once the request is over"
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "100.00"
    counts(retries=len(answers), answers_409=0, payments=1)


@pytest.mark.parametrize("committed", [False, True], ids=["lost-before", "lost-after"])
async def test_a_commit_cut_by_the_database_runs_once(app, client, tenant, monkeypatch, committed):
    """The connection dies at the commit: before it (nothing happened: the retry runs) or
    after it (the client never heard: the retry replays). Never twice, never 409."""
    made = await ledger(client, tenant, amount="500.00")
    invoice = made["invoice"]["id"]
    real_commit = AsyncSession.commit
    failures = {"commit": 1}

    async def commit_cut(self):
        if failures["commit"]:
            failures["commit"] -= 1
            if committed:
                await real_commit(self)
            raise ConnectionResetError("database went away")
        return await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", commit_cut)
    key = secrets.token_hex(8)
    body = {"amount": "100.00", "paid_at": "2026-02-20"}
    headers = {**tenant.headers, "Idempotency-Key": key}
    first = await client.post(f"/v1/invoices/{invoice}/payments", json=body, headers=headers)
    assert first.status_code == 503, first.text
    answers = await _pay_until_answered(client, invoice, body, headers)
    assert [a.status_code for a in answers] == [201]
    assert (answers[0].headers.get("idempotent-replayed") == "true") is committed
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "100.00", "the payment ran twice, or not at all"
    assert await _stored(app, key) == 1


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


def _nested(depth: int, opener: str, closer: str) -> bytes:
    return (opener * depth + closer * depth).encode()


async def test_hostile_bodies_never_answer_5xx(app, client, tenant, admin_headers, counts):
    """Found by the chaos test: 1,000 levels of nested JSON with an Idempotency-Key answered 500
    (RecursionError in the fingerprint). Every POST and PATCH, with and without a key, with
    bodies nested too deep to parse."""
    made = await ledger(client, tenant)
    ids = {"creditor": made["creditor"]["id"], "debtor": made["debtor"]["id"]}
    ids["invoice"] = made["invoice"]["id"]
    bodies = [
        _nested(1000, "[", "]"),
        _nested(5000, "[", "]"),
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"amount":' + _nested(2000, "[", "]") + b"}",
    ]
    statuses: Counter[int] = Counter()
    failures = []
    routes = [r for r in api_routes(app) if r.method in ("POST", "PATCH")]
    for route in routes:
        path = route.path
        for name in route.path_params:
            path = path.replace(f"{{{name}}}", ids.get(ID_FIELDS.get(name, ""), "x_unknown"))
        for n, body in enumerate(bodies):
            for keyed in (False, True):
                headers = dict(admin_headers if route.is_admin else tenant.headers)
                headers["Content-Type"] = "application/json"
                if keyed:
                    headers["Idempotency-Key"] = f"deep-{route.name}-{n}"
                response = await client.request(route.method, path, content=body, headers=headers)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(f"{route} keyed={keyed} body#{n} -> {response.status_code}")
    counts(
        routes=len(routes),
        probes=sum(statuses.values()),
        statuses=dict(sorted(statuses.items())),
        server_errors=len(failures),
    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "amount",
    ["١٢٣", "１２３", "१२३", " 12.00", "12.00 ", "\u00a012.00", "12.00\n", "1e3", "+12", "12,00"],
)
async def test_money_outside_the_published_pattern_is_refused(client, tenant, amount):
    """Found by the chaos test: Arabic-Indic and full-width digits were stored as 123.00, and
    padded amounts accepted. The schema's pattern says ASCII digits: the API refuses the rest."""
    made = await ledger(client, tenant)
    invoice = made["invoice"]["id"]
    paid = await client.post(
        f"/v1/invoices/{invoice}/payments",
        json={"amount": amount, "paid_at": "2026-02-20"},
        headers=tenant.headers,
    )
    assert paid.status_code == 422, paid.text
    assert paid.json()["errors"][0]["loc"][-1] == "amount"
    created = await client.post(
        "/v1/invoices",
        json={
            "creditor_id": made["creditor"]["id"],
            "debtor_id": made["debtor"]["id"],
            "number": "DIGITS-1",
            "issue_date": "2026-01-15",
            "amount": amount,
        },
        headers=tenant.headers,
    )
    assert created.status_code == 422, created.text
    got = await client.get(f"/v1/invoices/{invoice}", headers=tenant.headers)
    assert got.json()["paid_amount"] == "0.00"
