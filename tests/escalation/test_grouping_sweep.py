"""One reminder per debtor: a `grouping: "debtor"` policy sends one grouped event per step for
all of a debtor's overdue invoices (API.md "One reminder per debtor")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import FixedInstant
from app.escalation.tasks import sweep
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice
from app.outbox.events.models import DebtorEventKey, Event
from app.webhook_payloads import payload_model
from tests.escalation.test_seam import assert_one_outbox_write, statements
from tests.factories import create_creditor, create_debtor, create_invoice

PARIS = ZoneInfo("Europe/Paris")

GROUPED_POLICY = {
    "name": "Per debtor",
    "grouping": "debtor",
    "steps": [
        {"code": "pre_reminder", "kind": "pre_reminder", "channel": "email", "offset_days": -7},
        {"code": "reminder_1", "kind": "reminder", "channel": "email", "offset_days": 3},
        {"code": "reminder_2", "kind": "reminder", "channel": "letter", "offset_days": 15},
        {
            "code": "formal_notice",
            "kind": "formal_notice",
            "channel": "registered_letter",
            "offset_days": 30,
        },
    ],
}


async def grouped_ledger(client, tenant, dues: dict[str, str], *, policy=GROUPED_POLICY) -> dict:
    """A creditor under a grouped policy, one business debtor, an invoice per (number, due)."""
    made = await client.post("/v1/dunning-policies", json=policy, headers=tenant.headers)
    assert made.status_code == 201, made.text
    creditor = await create_creditor(client, tenant, dunning_policy_id=made.json()["id"])
    debtor = await create_debtor(client, tenant, creditor["id"])
    invoices = {
        number: await create_invoice(
            client,
            tenant,
            creditor["id"],
            debtor["id"],
            number=number,
            issue_date="2026-05-01",
            due_date=due,
            amount="1000.00",
        )
        for number, due in dues.items()
    }
    return {"policy": made.json(), "creditor": creditor, "debtor": debtor, "invoices": invoices}


async def sweep_days(client, admin_headers, start: dt.date, end: dt.date) -> None:
    day = start
    while day <= end:
        at = dt.datetime.combine(day, dt.time(6), tzinfo=PARIS).isoformat()
        response = await client.post(
            "/v1/admin/sweep", json={"as_of": at, "force": True}, headers=admin_headers
        )
        assert response.status_code == 200, response.text
        day += dt.timedelta(days=1)


async def events_of(app) -> list[Event]:
    async with app.state.sessionmaker() as session:
        return list(
            (await session.execute(select(Event).order_by(Event.occurred_on, Event.id))).scalars()
        )


async def test_policy_grouping_is_stored_and_defaults_to_invoice(client, tenant):
    made = await client.post("/v1/dunning-policies", json=GROUPED_POLICY, headers=tenant.headers)
    assert made.json()["grouping"] == "debtor"
    plain = dict(GROUPED_POLICY, name="Plain")
    del plain["grouping"]
    made = await client.post("/v1/dunning-policies", json=plain, headers=tenant.headers)
    assert made.json()["grouping"] == "invoice"
    default = await client.get("/v1/dunning-policies/default", headers=tenant.headers)
    assert default.json()["grouping"] == "invoice"
    bad = dict(GROUPED_POLICY, grouping="customer")
    refused = await client.post("/v1/dunning-policies", json=bad, headers=tenant.headers)
    assert refused.status_code == 422


async def test_a_debtor_gets_one_grouped_event_per_step(client, tenant, admin_headers, app, clock):
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(
        client,
        tenant,
        {"A-1": "2026-06-05", "A-2": "2026-06-08", "A-3": "2026-06-20", "A-4": "2026-06-05"},
    )
    disputed = made["invoices"]["A-4"]["id"]
    opened = await client.post(
        f"/v1/invoices/{disputed}/disputes",
        json={"reason": "quality"},
        headers=tenant.headers,
    )
    assert opened.status_code == 201, opened.text
    await sweep_days(client, admin_headers, dt.date(2026, 6, 1), dt.date(2026, 8, 10))
    events = await events_of(app)
    types = Counter(e.type for e in events)
    # Nothing per invoice for the grouped steps; the facts stay per invoice.
    assert types["dunning.step_due"] == 0
    assert types["invoice.formal_notice_required"] == 0
    assert types["invoice.overdue"] == 4
    grouped = [e for e in events if e.type.startswith("debtor.")]
    assert grouped, types
    days = [e.occurred_on for e in grouped]
    assert len(days) == len(set(days)), "two grouped contacts on one day"
    debtor_id = made["debtor"]["id"]
    assert {e.debtor_id for e in grouped} == {debtor_id}
    assert all(e.invoice_id is None for e in grouped)
    assert [
        (
            str(e.occurred_on),
            e.data["step"]["code"],
            [i["number"] for i in e.data["invoices"]],
        )
        for e in grouped
    ] == [
        ("2026-06-08", "reminder_1", ["A-1"]),  # A-1's D+3; A-2 is not overdue yet
        ("2026-06-11", "reminder_1", ["A-1", "A-2"]),  # A-2's D+3: it joins
        # A-1's D+15 (Saturday -> Monday); A-3 (overdue since the 21st) is brought to that
        # level: its own reminder_1 and A-2's reminder_2 are covered, no contact for them.
        ("2026-06-22", "reminder_2", ["A-1", "A-2", "A-3"]),
        ("2026-07-06", "formal_notice", ["A-1", "A-2", "A-3"]),  # A-1's D+30 (Sunday -> Monday)
    ]
    first = grouped[0]
    assert first.type == "debtor.dunning_step_due"
    assert first.data["total_due"] == "1000.00"
    assert grouped[1].data["total_due"] == "2000.00"
    assert first.data["excluded"] == [
        {"invoice_id": disputed, "number": "A-4", "reason": "dispute"}
    ]
    assert first.data["letter_url"] == f"/v1/debtors/{debtor_id}/letters/reminder_1"
    assert first.data["debtor"]["id"] == debtor_id
    notice = [e for e in grouped if e.type == "debtor.formal_notice_required"]
    assert len(notice) == 1
    assert notice[0].data["step"]["code"] == "formal_notice"
    assert {i["number"] for i in notice[0].data["invoices"]} == {"A-1", "A-2", "A-3"}
    assert notice[0].data["letter_url"].endswith("/letters/formal_notice")
    for invoice in notice[0].data["invoices"]:
        assert invoice["claim"]["fixed_indemnity"] == "40.00"
    # The payloads are those the OpenAPI webhooks section documents.
    for event in grouped:
        model = payload_model(event.type)
        model.model_validate(
            {"id": event.id, "type": event.type, "created_at": event.created_at, "data": event.data}
        )
        documented = set(model.model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
        assert set(event.data) == documented
    # Fewer contacts than invoices x steps, and within the caps.
    channels = Counter(e.data["step"]["channel"] for e in grouped)
    assert channels["email"] <= 3
    assert channels["letter"] <= 3
    assert len(grouped) < 3 * 3
    # Each invoice's own state moved on with the grouped contacts.
    for number in ("A-1", "A-2", "A-3"):
        got = await client.get(
            f"/v1/invoices/{made['invoices'][number]['id']}", headers=tenant.headers
        )
        assert got.json()["dunning"]["stage"] == "formal_notice_required", number
    got = await client.get(f"/v1/invoices/{disputed}", headers=tenant.headers)
    assert got.json()["dunning"]["paused_reason"] == "dispute"


async def test_per_invoice_policy_is_unchanged(client, tenant, admin_headers, app, clock):
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    plain = dict(GROUPED_POLICY, grouping="invoice")
    await grouped_ledger(client, tenant, {"B-1": "2026-06-05", "B-2": "2026-06-08"}, policy=plain)
    await sweep_days(client, admin_headers, dt.date(2026, 6, 1), dt.date(2026, 7, 15))
    types = Counter(e.type for e in await events_of(app))
    assert types["dunning.step_due"] == 4
    assert types["invoice.formal_notice_required"] == 2
    assert not [t for t in types if t.startswith("debtor.")]


async def test_grouped_letters_and_actions(client, tenant, admin_headers, app, clock):
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(client, tenant, {"C-1": "2026-06-05", "C-2": "2026-06-08"})
    await sweep_days(client, admin_headers, dt.date(2026, 6, 1), dt.date(2026, 7, 10))
    debtor_id = made["debtor"]["id"]
    notice = [e for e in await events_of(app) if e.type == "debtor.formal_notice_required"]
    assert len(notice) == 1
    url = notice[0].data["letter_url"]
    assert url == f"/v1/debtors/{debtor_id}/letters/formal_notice"
    clock.set(dt.datetime(2026, 7, 10, 8, tzinfo=dt.UTC))
    letter = await client.get(url, headers=tenant.headers)
    assert letter.status_code == 200, letter.text
    text = letter.text
    assert "Mise en demeure" in text
    assert "C-1" in text
    assert "C-2" in text
    # Each invoice with its interest and its own 40 EUR indemnity; the total indemnity is 80.
    assert "Détail par facture" in text
    assert text.count("indemnité forfaitaire 40,00") == 2
    assert "80,00" in text
    pdf = await client.get(url, headers={**tenant.headers, "Accept": "application/pdf"})
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    english = await client.get(url, params={"language": "en"}, headers=tenant.headers)
    assert "Detail by invoice" in english.text
    reminder = await client.get(
        f"/v1/debtors/{debtor_id}/letters/reminder_1", headers=tenant.headers
    )
    assert reminder.status_code == 200
    assert "factures ci-dessous" in reminder.text
    unknown = await client.get(
        f"/v1/debtors/{debtor_id}/letters/pre_reminder", headers=tenant.headers
    )
    assert unknown.status_code == 422

    # One action for both invoices: a grouped mise en demeure starts each one's deadline.
    ids = [i["id"] for i in notice[0].data["invoices"]]
    body = {
        "type": "formal_notice",
        "channel": "registered_letter",
        "performed_at": "2026-07-10T09:00:00+02:00",
        "proof": {"tracking_number": "1A00123456789", "acknowledged_at": "2026-07-10"},
        "invoice_ids": ids,
    }
    recorded = await client.post(
        f"/v1/debtors/{debtor_id}/actions", json=body, headers=tenant.headers
    )
    assert recorded.status_code == 201, recorded.text
    assert [a["invoice_id"] for a in recorded.json()["actions"]] == ids
    for invoice_id in ids:
        got = (await client.get(f"/v1/invoices/{invoice_id}", headers=tenant.headers)).json()
        assert got["dunning"]["stage"] == "formal_notice_sent"
        assert got["dunning"]["formal_notice_deadline"] == "2026-07-20"  # 8 days, Monday

    # An invoice of another debtor: 422, and nothing is recorded.
    other = await create_debtor(client, tenant, made["creditor"]["id"], name="Autre SAS")
    stranger = await create_invoice(
        client, tenant, made["creditor"]["id"], other["id"], number="X-1", due_date="2026-06-01"
    )
    refused = await client.post(
        f"/v1/debtors/{debtor_id}/actions",
        json={
            **body,
            "type": "note",
            "channel": None,
            "proof": None,
            "invoice_ids": [ids[0], stranger["id"]],
        },
        headers=tenant.headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "invoice_ids", 1]
    actions = await client.get(f"/v1/invoices/{ids[0]}/actions", headers=tenant.headers)
    assert [a["type"] for a in actions.json()["data"]] == ["formal_notice"]
    twice = await client.post(
        f"/v1/debtors/{debtor_id}/actions",
        json={**body, "invoice_ids": [ids[0], ids[0]]},
        headers=tenant.headers,
    )
    assert twice.status_code == 422
    missing = await client.post("/v1/debtors/debt_nope/actions", json=body, headers=tenant.headers)
    assert missing.status_code == 404


async def test_recovery_report_and_timeline_show_grouped_contacts(
    client, tenant, admin_headers, app, clock
):
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(client, tenant, {"D-1": "2026-06-05", "D-2": "2026-06-08"})
    await sweep_days(client, admin_headers, dt.date(2026, 6, 1), dt.date(2026, 6, 25))
    clock.set(dt.datetime(2026, 6, 26, 8, tzinfo=dt.UTC))
    for number in ("D-1", "D-2"):
        paid = await client.post(
            f"/v1/invoices/{made['invoices'][number]['id']}/payments",
            json={"amount": "1000.00", "paid_at": "2026-06-26"},
            headers=tenant.headers,
        )
        assert paid.status_code == 201, paid.text
    report = await client.get("/v1/reports/recovery", headers=tenant.headers)
    assert report.status_code == 200, report.text
    steps = {line["step"]: line["count"] for line in report.json()["steps"]}
    # Both were last chased by the grouped reminder_2 of 22 June.
    assert steps["after_reminder_2"] == 2, steps
    timeline = await client.get(
        f"/v1/invoices/{made['invoices']['D-2']['id']}/timeline", headers=tenant.headers
    )
    grouped = [i for i in timeline.json()["items"] if i["type"].startswith("debtor.")]
    assert [(i["date"], i["code"]) for i in grouped] == [
        ("2026-06-11", "reminder_1"),
        ("2026-06-22", "reminder_2"),
    ]
    assert all(i["detail"]["grouped"] is True for i in grouped)


async def test_dry_run_previews_the_grouped_events(client, tenant, admin_headers, app, clock):
    clock.set(dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(client, tenant, {"E-1": "2026-06-05", "E-2": "2026-06-08"})
    at = dt.datetime(2026, 7, 1, 6, tzinfo=PARIS).isoformat()
    preview = await client.post(
        "/v1/admin/sweep", json={"as_of": at, "dry_run": True}, headers=admin_headers
    )
    assert preview.status_code == 200, preview.text
    planned = preview.json()["would_emit"]
    grouped = [e for e in planned if e["type"].startswith("debtor.")]
    assert [(e["debtor_id"], e["invoice_id"], e["occurrence"]) for e in grouped] == [
        (made["debtor"]["id"], None, "grouped:2026-07-01")
    ]
    assert not [e for e in planned if e["type"] == "dunning.step_due"]
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": at, "force": True}, headers=admin_headers
    )
    assert swept.json()["events_by_type"] == preview.json()["events_by_type"]


async def test_a_debtor_held_elsewhere_waits_for_the_next_sweep(client, tenant, app, clock):
    """SKIP LOCKED: a debtor (or one of its invoices) locked by another transaction is left to
    the next sweep, whole; nothing is written for it meanwhile, and the sweep does not spin."""
    clock.set(dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(client, tenant, {"F-1": "2026-06-05", "F-2": "2026-06-08"})
    at = FixedInstant(clock, dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC))
    held_invoice = made["invoices"]["F-2"]["id"]
    for lock in (
        select(Debtor).where(Debtor.id == made["debtor"]["id"]).with_for_update(),
        select(Invoice).where(Invoice.id == held_invoice).with_for_update(),
    ):
        async with app.state.sessionmaker() as other, other.begin():
            await other.execute(lock)
            stats = await sweep(app.state.sessionmaker, at)
            assert (stats.invoices, stats.events) == (0, 0)
    assert [e for e in await events_of(app) if e.type.startswith("debtor.")] == []
    stats = await sweep(app.state.sessionmaker, at)
    assert stats.invoices == 2
    assert stats.by_type == {"debtor.dunning_step_due": 1, "invoice.overdue": 2}
    again = await sweep(app.state.sessionmaker, at)
    assert (again.invoices, again.events) == (0, 0)


async def test_a_grouped_event_its_key_and_its_deliveries_are_one_statement(
    client, tenant, admin_headers, app, clock, settings
):
    """The grouped event, its (debtor, occurrence) key with the step's channel, and its delivery
    to each subscribed endpoint: one statement (app.outbox.events.service._EMIT_GROUPED); a
    second sweep of the same day writes nothing."""
    app.state.settings = settings.model_copy(update={"webhook_allow_private_urls": True})
    endpoint = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.headers
    )
    assert endpoint.status_code == 201, endpoint.text
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    made = await grouped_ledger(client, tenant, {"A-1": "2026-06-05", "A-2": "2026-06-05"})
    await sweep_days(client, admin_headers, dt.date(2026, 6, 1), dt.date(2026, 6, 7))
    assert not [e for e in await events_of(app) if e.type.startswith("debtor.")]
    with statements(app) as seen:
        await sweep_days(client, admin_headers, dt.date(2026, 6, 8), dt.date(2026, 6, 8))
    assert_one_outbox_write(seen, "debtor_event_keys", "events", "webhook_deliveries")
    grouped = [e for e in await events_of(app) if e.type.startswith("debtor.")]
    assert [(e.debtor_id, e.data["step"]["code"]) for e in grouped] == [
        (made["debtor"]["id"], "reminder_1")
    ]
    async with app.state.sessionmaker() as session:
        key = (await session.execute(select(DebtorEventKey))).scalar_one()
    assert (key.event_id, key.channel, key.type) == (grouped[0].id, "email", grouped[0].type)

    async def deliveries_of_grouped() -> int:
        found = await client.get(
            f"/v1/webhook-endpoints/{endpoint.json()['id']}/deliveries",
            params={"limit": 100},
            headers=tenant.headers,
        )
        return [d["event_id"] for d in found.json()["data"]].count(grouped[0].id)

    assert await deliveries_of_grouped() == 1

    await sweep_days(client, admin_headers, dt.date(2026, 6, 8), dt.date(2026, 6, 8))
    assert [e.id for e in await events_of(app) if e.type.startswith("debtor.")] == [grouped[0].id]
    assert await deliveries_of_grouped() == 1
