"""Recovery by escalation step: events and actions are inserted directly (the sweep that writes
them is tested elsewhere); invoices and payments go through the API."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.ids import new_id
from app.escalation.actions.models import Action
from app.outbox.events.models import EventKey
from tests.factories import create_creditor, create_debtor, create_invoice

URL = "/v1/reports/recovery"
PARIS = dt.timezone(dt.timedelta(hours=1))

# key: (issue, due, amount, paid_at or None, [(event type, occurrence, day)], [(action, instant)])
CASES = {
    # Paid on the due date: before_due. 30 days to pay, 0 late.
    "R1": ("2026-01-01", "2026-01-31", "100.00", "2026-01-31", [], []),
    # Late, no reminder before payment (the one after it does not count): after_due. 32 / 2.
    "R2": (
        "2026-01-01",
        "2026-01-31",
        "200.00",
        "2026-02-02",
        [("dunning.step_due", "step:reminder_1", "2026-02-03")],
        [],
    ),
    # after_reminder_1. 40 / 10.
    "R3": (
        "2026-01-01",
        "2026-01-31",
        "300.00",
        "2026-02-10",
        [("dunning.step_due", "step:reminder_1", "2026-02-03")],
        [],
    ),
    # The furthest reminder wins: after_reminder_2. 50 / 20.
    "R4": (
        "2026-01-01",
        "2026-01-31",
        "400.00",
        "2026-02-20",
        [
            ("dunning.step_due", "step:reminder_1", "2026-02-03"),
            ("dunning.step_due", "step:reminder_2", "2026-02-16"),
        ],
        [],
    ),
    # Paid the day reminder 2 fell due: counted before it, after_reminder_1. 46 / 16.
    "R5": (
        "2026-01-01",
        "2026-01-31",
        "500.00",
        "2026-02-16",
        [
            ("dunning.step_due", "step:reminder_1", "2026-02-03"),
            ("dunning.step_due", "step:reminder_2", "2026-02-16"),
        ],
        [],
    ),
    # A recorded mise en demeure: after_formal_notice. 57 / 27.
    "R6": (
        "2026-01-01",
        "2026-01-31",
        "600.00",
        "2026-02-27",
        [
            ("dunning.step_due", "step:reminder_1", "2026-02-03"),
            ("dunning.step_due", "step:reminder_2", "2026-02-16"),
        ],
        [("formal_notice", "2026-02-25T10:00:00")],
    ),
    # The formal_notice_required event alone is enough: after_formal_notice. 56 / 26.
    "R7": (
        "2026-01-01",
        "2026-01-31",
        "700.00",
        "2026-02-26",
        [("invoice.formal_notice_required", "formal_notice_required", "2026-02-20")],
        [],
    ),
    # The mise en demeure deadline expired before payment: in_litigation. 106 / 76.
    "R8": (
        "2025-10-01",
        "2025-10-31",
        "800.00",
        "2026-01-15",
        [
            ("dunning.step_due", "step:reminder_1", "2025-11-03"),
            ("invoice.formal_notice_required", "formal_notice_required", "2025-11-30"),
            ("formal_notice.deadline_expired", "formal_notice_deadline:act_x", "2025-12-20"),
        ],
        [],
    ),
    # An injonction de payer filed before payment: in_litigation too. 61 / 31.
    "R9": (
        "2026-01-01",
        "2026-01-31",
        "900.00",
        "2026-03-03",
        [],
        [("injonction_de_payer", "2026-02-20T10:00:00")],
    ),
    # Still open (partly paid): not in the report.
    "R10": (
        "2026-01-01",
        "2026-01-31",
        "1000.00",
        None,
        [("dunning.step_due", "step:reminder_1", "2026-02-03")],
        [],
    ),
    # Written off: not in the report.
    "R11": ("2026-01-01", "2026-01-31", "1100.00", None, [], []),
}


async def _insert(app, tenant_id, rows):
    async with app.state.sessionmaker() as session, session.begin():
        session.add_all(rows)


@pytest.fixture
async def recovery_ledger(app, client, tenant, clock):
    # Payments up to 2026-03-03 must not be in the future of the service clock.
    clock.set(dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC))
    creditor = (await create_creditor(client, tenant))["id"]
    debtor = (await create_debtor(client, tenant, creditor))["id"]
    ids = {}
    rows: list[EventKey | Action] = []
    for key, (issue, due, amount, _, events, actions) in CASES.items():
        invoice = await create_invoice(
            client,
            tenant,
            creditor,
            debtor,
            number=key,
            issue_date=issue,
            due_date=due,
            amount=amount,
        )
        ids[key] = invoice["id"]
        for type_, occurrence, day in events:
            # The report reads the escalation history from the exactly-once keys, which
            # outlive the events' monthly partitions.
            rows.append(
                EventKey(
                    event_id=new_id("evt"),
                    tenant_id=tenant.id,
                    invoice_id=invoice["id"],
                    occurrence=occurrence,
                    type=type_,
                    occurred_on=dt.date.fromisoformat(day),
                    created_at=clock.now(),
                )
            )
        for type_, instant in actions:
            rows.append(
                Action(
                    id=new_id("act"),
                    tenant_id=tenant.id,
                    invoice_id=invoice["id"],
                    type=type_,
                    channel="registered_letter" if type_ == "formal_notice" else None,
                    performed_at=dt.datetime.fromisoformat(instant).replace(tzinfo=PARIS),
                )
            )
    await _insert(app, tenant.id, rows)
    for key, (_, _, amount, paid_at, _, _) in CASES.items():
        if paid_at is not None:
            paid = await client.post(
                f"/v1/invoices/{ids[key]}/payments",
                json={"amount": amount, "paid_at": paid_at},
                headers=tenant.headers,
            )
            assert paid.status_code == 201, paid.text
    partial = await client.post(
        f"/v1/invoices/{ids['R10']}/payments",
        json={"amount": "10.00", "paid_at": "2026-02-10"},
        headers=tenant.headers,
    )
    assert partial.status_code == 201
    off = await client.post(
        f"/v1/invoices/{ids['R11']}/write-off", json={"reason": "x"}, headers=tenant.headers
    )
    assert off.status_code == 200
    return {"creditor": creditor, "ids": ids}


def line(step, count, amount, to_pay, late):
    return {
        "step": step,
        "count": count,
        "amount": amount,
        "average_days_to_pay": to_pay,
        "average_days_late": late,
    }


async def test_classification_by_furthest_step_before_payment(client, tenant, recovery_ledger):
    response = await client.get(URL, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["steps"] == [
        line("before_due", 1, "100.00", "30.0", "0.0"),
        line("after_due", 1, "200.00", "32.0", "2.0"),
        line("after_reminder_1", 2, "800.00", "43.0", "13.0"),  # R3 (40/10), R5 (46/16)
        line("after_reminder_2", 1, "400.00", "50.0", "20.0"),
        line("after_formal_notice", 2, "1300.00", "56.5", "26.5"),  # R6 (57/27), R7 (56/26)
        line("in_litigation", 2, "1700.00", "83.5", "53.5"),  # R8 (106/76), R9 (61/31)
    ]
    # 9 invoices; days to pay 30+32+40+50+46+57+56+106+61 = 478; late 478 - 9 x 30 = 208.
    assert body["total"] == {
        "count": 9,
        "amount": "4500.00",
        "average_days_to_pay": "53.1",
        "average_days_late": "23.1",
    }
    assert (body["creditor_id"], body["currency"], body["from"], body["to"]) == (
        None,
        "EUR",
        None,
        None,
    )


async def test_payment_date_filter_and_creditor(client, tenant, recovery_ledger):
    body = (
        await client.get(
            URL,
            params={
                "from": "2026-02-16",
                "to": "2026-02-27",
                "creditor_id": recovery_ledger["creditor"],
            },
            headers=tenant.headers,
        )
    ).json()
    # Paid 2026-02-16..2026-02-27 inclusive: R4 (02-20), R5 (02-16), R6 (02-27), R7 (02-26).
    assert {s["step"]: s["count"] for s in body["steps"]} == {
        "before_due": 0,
        "after_due": 0,
        "after_reminder_1": 1,
        "after_reminder_2": 1,
        "after_formal_notice": 2,
        "in_litigation": 0,
    }
    assert body["total"]["count"] == 4
    assert (body["from"], body["to"], body["creditor_id"]) == (
        "2026-02-16",
        "2026-02-27",
        recovery_ledger["creditor"],
    )


async def test_empty_recovery_lists_the_fixed_steps(client, tenant):
    body = (await client.get(URL, headers=tenant.headers)).json()
    assert body["steps"] == [
        line(step, 0, "0.00", None, None)
        for step in ("before_due", "after_due", "after_formal_notice", "in_litigation")
    ]
    assert body["total"] == {
        "count": 0,
        "amount": "0.00",
        "average_days_to_pay": None,
        "average_days_late": None,
    }


async def test_from_after_to_is_422(client, tenant):
    response = await client.get(
        URL, params={"from": "2026-03-01", "to": "2026-02-01"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["query", "to"], "msg": "must not be before `from`"}
    ]


async def test_other_tenant_sees_nothing(client, other_tenant, recovery_ledger):
    body = (await client.get(URL, headers=other_tenant.headers)).json()
    assert body["total"]["count"] == 0
    foreign = await client.get(
        URL, params={"creditor_id": recovery_ledger["creditor"]}, headers=other_tenant.headers
    )
    assert foreign.status_code == 404
