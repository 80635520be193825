"""The one seam for invoice changes: ledger writes mark the invoice changed, and the unit of work
refreshes every marked invoice in one batch before the commit (one loader, one statement for
the answers), planning new invoices before their INSERT."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from app.core.db import behind_pooler
from tests.factories import create_creditor, create_debtor, create_invoice


@contextlib.contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block, through SQLAlchemy or straight through
    the driver (asyncpg's query loggers see the latter, and BEGIN and COMMIT)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(" ".join(statement.split()))

    def log_query(query) -> None:
        seen.append(" ".join(query.query.split()))

    def attach(dbapi_connection, record_, proxy) -> None:
        dbapi_connection.driver_connection.add_query_logger(log_query)

    def detach(dbapi_connection, record_) -> None:
        dbapi_connection.driver_connection.remove_query_logger(log_query)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "checkout", attach)
    event.listen(engine, "checkin", detach)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "checkout", attach)
        event.remove(engine, "checkin", detach)


# Every statement that writes to the outbox: events, their keys, their deliveries.
_OUTBOX_WRITES = ("INSERT INTO event", "INSERT INTO debtor_event", "INSERT INTO webhook_deliveries")


def assert_one_outbox_write(seen: list[str], *tables: str) -> None:
    """Among `seen`, a single statement writes to the outbox, and it inserts into each table."""
    writes = [s for s in seen if any(prefix in s for prefix in _OUTBOX_WRITES)]
    assert len(writes) == 1, writes
    missing = [t for t in tables if f"INSERT INTO {t} " not in writes[0]]
    assert not missing, (missing, writes[0])


def _history_reads(seen: list[str]) -> list[str]:
    """The statements reading the engine's history (app.escalation.service._HISTORY)."""
    return [s for s in seen if "FROM ids JOIN actions a ON a.invoice_id = ids.id" in s]


def _stores(seen: list[str]) -> list[str]:
    """The statements storing the engine's answers (app.escalation.service._STORE)."""
    return [s for s in seen if s.startswith("UPDATE invoices AS i SET dunning_stage")]


async def test_a_debtor_update_refreshes_its_open_invoices_in_one_batch(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    for n in range(5):
        await create_invoice(
            client, tenant, creditor["id"], debtor["id"], number=f"S-{n}", issue_date="2026-01-05"
        )
    with statements(app) as seen:
        patched = await client.patch(
            f"/v1/debtors/{debtor['id']}",
            json={
                "insolvency": {"procedure": "redressement_judiciaire", "opened_on": "2026-02-20"}
            },
            headers=tenant.headers,
        )
    assert patched.status_code == 200, patched.text
    assert len(_stores(seen)) == 1, "one statement stores the five answers"
    assert len(_history_reads(seen)) == 1, "one loader for the batch"
    listed = await client.get(
        "/v1/invoices", params={"debtor_id": debtor["id"]}, headers=tenant.headers
    )
    dunning = [i["dunning"] for i in listed.json()["data"]]
    assert len(dunning) == 5
    assert all(d["paused"] and d["paused_reason"] == "insolvency" for d in dunning), dunning


async def test_a_new_invoice_is_planned_before_its_insert(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    with statements(app) as seen:
        made = await create_invoice(
            client, tenant, creditor["id"], debtor["id"], issue_date="2026-01-15"
        )
    assert made["dunning"]["next_action_at"] is not None
    assert [s for s in seen if s.startswith("INSERT INTO invoices")], seen
    assert not _stores(seen), "no second write of the plan"
    assert not _history_reads(seen), "no history to read"


async def test_a_create_is_one_read_and_one_insert_with_no_transaction(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    with statements(app) as seen:
        await create_invoice(client, tenant, creditor["id"], debtor["id"], issue_date="2026-01-15")
    # The API-key lookup is cached after the tenant's first request: only the create's own, no
    # BEGIN nor COMMIT around them, nothing read again to plan it. Behind PgBouncer both run in
    # the session's one transaction (each prepare and execution on one server connection).
    expected = ["SELECT", "INSERT"]
    if behind_pooler(app.state.engine):
        expected = ["BEGIN;", "SELECT", "INSERT", "COMMIT;"]
    assert [s.split()[0] for s in seen] == expected, seen
    read, insert = (s for s in seen if s.split()[0] in ("SELECT", "INSERT"))
    assert "FROM creditors c LEFT JOIN debtors d" in read
    assert insert.startswith("INSERT INTO invoices")


async def test_a_create_under_an_idempotency_key_runs_in_its_transaction(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    body = {
        "creditor_id": creditor["id"],
        "debtor_id": debtor["id"],
        "number": "IK-1",
        "issue_date": "2026-01-15",
        "amount": "100.00",
    }
    headers = tenant.headers | {"Idempotency-Key": "create-in-one-transaction"}
    with statements(app) as seen:
        first = await client.post("/v1/invoices", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert [s for s in seen if s.startswith("INSERT INTO invoices")]
    # A second create of the same number in a shared transaction: its 409 is stored and replayed,
    # the transaction (and the first invoice) intact.
    again = tenant.headers | {"Idempotency-Key": "create-in-one-transaction-2"}
    for _ in range(2):
        dup = await client.post("/v1/invoices", json=body, headers=again)
        assert dup.status_code == 409, dup.text
    found = await client.get(f"/v1/invoices/{first.json()['id']}", headers=tenant.headers)
    assert found.status_code == 200


async def test_a_batch_refreshes_its_updated_invoices_in_one_statement(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    rows = [
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": f"B-{n}",
            "issue_date": "2026-01-05",
            "amount": "100.00",
        }
        for n in range(6)
    ]
    first = await client.post("/v1/invoices/batch", json={"invoices": rows}, headers=tenant.headers)
    assert first.json()["created"] == 6
    for row in rows[:3]:  # three change their due date, three new ones arrive
        row["due_date"] = "2026-02-25"
    rows += [{**rows[0], "number": f"B-new-{n}"} for n in range(3)]
    with statements(app) as seen:
        second = await client.post(
            "/v1/invoices/batch", json={"invoices": rows}, headers=tenant.headers
        )
    assert (second.json()["created"], second.json()["updated"]) == (3, 3), second.json()
    assert len(_stores(seen)) == 1
    listed = await client.get(
        "/v1/invoices", params={"debtor_id": debtor["id"], "limit": 20}, headers=tenant.headers
    )
    by_number = {i["number"]: i for i in listed.json()["data"]}
    # Due 2026-02-25, today 2026-03-02: overdue, its first reminder planned from the new date.
    assert by_number["B-0"]["days_overdue"] == 5
    assert by_number["B-new-0"]["dunning"]["next_action_at"] is not None


async def test_a_batch_evaluates_each_distinct_new_invoice_once(client, tenant, app, monkeypatch):
    from app.escalation import service

    calls = 0
    real = service.EngineInputs.evaluate

    def counting(self, today):
        nonlocal calls
        calls += 1
        return real(self, today)

    monkeypatch.setattr(service.EngineInputs, "evaluate", counting)
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    rows = [
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": f"D-{n}",
            "issue_date": "2026-01-05" if n % 2 else "2026-02-05",
            "amount": "100.00",
        }
        for n in range(50)
    ]
    made = await client.post("/v1/invoices/batch", json={"invoices": rows}, headers=tenant.headers)
    assert made.json()["created"] == 50
    assert calls == 2, "one evaluation per distinct (dates, amount, debtor, policy)"
    listed = await client.get(
        "/v1/invoices", params={"debtor_id": debtor["id"], "limit": 60}, headers=tenant.headers
    )
    plans = {(i["issue_date"], i["dunning"]["next_action_at"]) for i in listed.json()["data"]}
    assert len(plans) == 2


def _invoice_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith("SELECT invoices.id")]


def _party_reads(seen: list[str]) -> list[str]:
    """Debtors or creditors read on their own (`rows_by_id`), not with the history."""
    return [
        s
        for s in seen
        if s.startswith("SELECT t.") and (" debtors t " in s or " creditors t " in s)
    ]


async def test_a_payment_reads_its_invoice_once_and_its_parties_with_the_history(
    client, tenant, app
):
    """The invoice the payment locked is current after the flush: the seam does not lock and
    read it again; the debtor and creditor come with the history, in one statement."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"], amount="300.00")
    with statements(app) as seen:
        paid = await client.post(
            f"/v1/invoices/{invoice['id']}/payments",
            json={"amount": "100.00", "paid_at": "2026-03-01"},
            headers=tenant.headers,
        )
    assert paid.status_code == 201, paid.text
    reads = _invoice_reads(seen)
    assert len(reads) == 1, seen
    assert "FOR UPDATE" in reads[0]
    assert len(_history_reads(seen)) == 1
    assert not _party_reads(seen), "read with the history"
    found = await client.get(f"/v1/invoices/{invoice['id']}", headers=tenant.headers)
    assert found.json()["balance"] == "200.00"


async def test_invoices_the_ledger_did_not_lock_are_locked_and_read_by_the_seam(
    client, tenant, app
):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    await create_invoice(client, tenant, creditor["id"], debtor["id"], issue_date="2026-01-05")
    with statements(app) as seen:
        patched = await client.patch(
            f"/v1/debtors/{debtor['id']}",
            json={"kind": "consumer", "siren": None, "siret": None},
            headers=tenant.headers,
        )
    assert patched.status_code == 200, patched.text
    assert [s for s in _invoice_reads(seen) if "FOR UPDATE" in s and " IN (" in s], seen


async def test_a_timeline_is_three_statements(client, tenant, app):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"])
    await client.post(
        f"/v1/invoices/{invoice['id']}/payments",
        json={"amount": "100.00", "paid_at": "2026-03-01"},
        headers=tenant.headers,
    )
    with statements(app) as seen:
        found = await client.get(f"/v1/invoices/{invoice['id']}/timeline", headers=tenant.headers)
    assert found.status_code == 200, found.text
    # The invoice; its history with its parties; every kind of item. Behind PgBouncer a read runs
    # in a transaction (each prepare and execution on one server connection): its BEGIN (logged
    # after SQLAlchemy's first statement, which opens it) and ROLLBACK come on top.
    control = ["BEGIN;", "ROLLBACK;"] if behind_pooler(app.state.engine) else []
    assert [s for s in seen if s in ("BEGIN;", "ROLLBACK;", "COMMIT;")] == control, seen
    work = [s for s in seen if s not in control]
    assert [s.split()[0] for s in work] == ["SELECT", "WITH", "SELECT"], seen
    assert [i["type"] for i in found.json()["items"] if i["kind"] == "payment"] == ["payment"]


async def test_an_event_its_key_and_its_deliveries_are_one_statement(client, tenant, app, settings):
    """A payment in full emits invoice.paid: the event, its exactly-once key and its delivery to
    each subscribed endpoint are written by one statement (app.outbox.events.service._EMIT)."""
    app.state.settings = settings.model_copy(update={"webhook_allow_private_urls": True})
    endpoint = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers
    )
    assert endpoint.status_code == 201, endpoint.text
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoice = await create_invoice(client, tenant, creditor["id"], debtor["id"])
    with statements(app) as seen:
        paid = await client.post(
            f"/v1/invoices/{invoice['id']}/payments",
            json={"amount": invoice["amount"], "paid_at": "2026-03-01"},
            headers=tenant.headers,
        )
    assert paid.status_code == 201, paid.text
    assert_one_outbox_write(seen, "event_keys", "events", "webhook_deliveries")
    events = await client.get(
        "/v1/events", params={"invoice_id": invoice["id"]}, headers=tenant.headers
    )
    assert [e["type"] for e in events.json()["data"]] == ["invoice.paid"]
    deliveries = await client.get(
        f"/v1/webhook-endpoints/{endpoint.json()['id']}/deliveries", headers=tenant.headers
    )
    assert [d["event_id"] for d in deliveries.json()["data"]] == [events.json()["data"][0]["id"]]
