"""Sandbox tenants and their test clocks: every "today" of a sandbox tenant is its own clock,
which only `POST /v1/test-clock/advance` moves, day by day, with the scheduler's work."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from app.escalation.tasks import sweep_tick
from app.outbox.events.models import Event
from tests.conftest import ADMIN_TOKEN, TenantClient, make_tenant
from tests.factories import ledger
from tests.outbox.webhooks.test_delivery import Receiver

PARIS = ZoneInfo("Europe/Paris")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _at(day: str, hour: int = 12) -> str:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=PARIS).isoformat()


async def make_sandbox(client: httpx.AsyncClient, name: str = "Sandbox") -> TenantClient:
    response = await client.post(
        "/v1/admin/tenants", json={"name": name, "sandbox": True}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sandbox"] is True
    return TenantClient(body["id"], body["api_key"], {"Authorization": f"Bearer {body['api_key']}"})


async def _advance(client, tenant, to: str, status: int = 200) -> dict:
    response = await client.post("/v1/test-clock/advance", json={"to": to}, headers=tenant.headers)
    assert response.status_code == status, response.text
    return response.json()


async def _now(client, tenant) -> dt.datetime:
    response = await client.get("/v1/test-clock", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return dt.datetime.fromisoformat(response.json()["now"])


async def _events(app, tenant_id: str) -> list[Event]:
    async with app.state.sessionmaker() as session:
        stmt = (
            select(Event)
            .where(Event.tenant_id == tenant_id)
            .order_by(Event.created_at, Event.occurred_on, Event.id)
        )
        return list((await session.execute(stmt)).scalars())


def _walked(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.type, e.occurrence, e.occurred_on.isoformat()) for e in events if e.occurred_on]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


async def test_a_sandbox_tenant_starts_at_the_real_now(client, clock):
    sandbox = await make_sandbox(client)
    assert await _now(client, sandbox) == clock.now()
    me = (await client.get("/v1/tenant", headers=sandbox.headers)).json()
    assert me["sandbox"] is True
    # The clock stands still while real time moves on.
    clock.set(clock.now() + dt.timedelta(hours=5))
    assert await _now(client, sandbox) == clock.now() - dt.timedelta(hours=5)


async def test_a_live_tenant_has_no_test_clock(client, tenant):
    got = await client.get("/v1/test-clock", headers=tenant.headers)
    assert got.status_code == 404
    assert got.headers["content-type"].startswith("application/problem+json")
    posted = await client.post(
        "/v1/test-clock/advance", json={"to": "2026-04-01T00:00:00Z"}, headers=tenant.headers
    )
    assert posted.status_code == 404
    me = (await client.get("/v1/tenant", headers=tenant.headers)).json()
    assert me["sandbox"] is False


async def test_backwards_too_far_or_naive_is_422_and_the_clock_stays(client, clock):
    sandbox = await make_sandbox(client)
    start = await _now(client, sandbox)
    backwards = await _advance(
        client, sandbox, (start - dt.timedelta(seconds=1)).isoformat(), status=422
    )
    assert backwards["errors"][0]["loc"] == ["body", "to"]
    assert "forward" in backwards["detail"]
    too_far = await _advance(
        client, sandbox, (start + dt.timedelta(days=2201)).isoformat(), status=422
    )
    assert too_far["errors"][0]["msg"] == "too far ahead"
    await _advance(client, sandbox, "2026-04-01T00:00:00", status=422)  # no offset
    assert await _now(client, sandbox) == start
    # The largest jump allowed is taken.
    assert (await _advance(client, sandbox, (start + dt.timedelta(days=2200)).isoformat()))[
        "days_stepped"
    ] == 2200


async def test_advance_emits_what_the_scheduler_would_each_on_its_own_day(
    client, app, clock, tenant
):
    clock.set(dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC))
    sandbox = await make_sandbox(client)
    invoice = {"issue_date": "2026-06-11", "due_date": "2026-07-11", "amount": "5000.00"}
    made = await ledger(client, sandbox, **invoice)
    live = await ledger(client, tenant, **invoice)

    walked = await _advance(client, sandbox, _at("2026-08-20"))

    # The live tenant, swept by the admin sweep every morning over the same days.
    day = dt.date(2026, 6, 1)
    while day <= dt.date(2026, 8, 20):
        response = await client.post(
            "/v1/admin/sweep", json={"as_of": _at(day.isoformat(), 6), "force": True}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        day += dt.timedelta(days=1)
    sandbox_events = await _events(app, sandbox.id)
    assert _walked(sandbox_events) == _walked(await _events(app, tenant.id))
    assert [(t, on) for t, _, on in _walked(sandbox_events)] == [
        ("invoice.pre_reminder_due", "2026-07-06"),
        ("invoice.overdue", "2026-07-12"),
        ("dunning.step_due", "2026-07-15"),
        ("dunning.step_due", "2026-07-27"),
        ("invoice.formal_notice_required", "2026-08-10"),
    ]
    # Each event is dated its own simulated day, and so is the invoice it carries.
    for event in sandbox_events:
        assert event.created_at.astimezone(PARIS).date() == event.occurred_on
    notice = sandbox_events[-1]
    assert notice.data["claim"]["principal"] == "5000.00"
    assert (
        notice.data["invoice"]["days_overdue"] == (dt.date(2026, 8, 10) - dt.date(2026, 7, 11)).days
    )
    assert walked["days_stepped"] == (dt.date(2026, 8, 20) - dt.date(2026, 6, 1)).days
    assert walked["events_created"] == 5
    assert walked["events_by_type"] == {
        "invoice.pre_reminder_due": 1,
        "invoice.overdue": 1,
        "dunning.step_due": 2,
        "invoice.formal_notice_required": 1,
    }
    # days_overdue: the sandbox's today, at once after the advance (never the key cache's);
    # the live tenant's invoice is read at the real time.
    mine = await client.get(f"/v1/invoices/{made['invoice']['id']}", headers=sandbox.headers)
    assert mine.json()["days_overdue"] == 40
    theirs = await client.get(f"/v1/invoices/{live['invoice']['id']}", headers=tenant.headers)
    assert theirs.json()["days_overdue"] == 0
    # Events seen through the API keep their simulated dates, however far the clock went.
    listed = (await client.get("/v1/events", headers=sandbox.headers)).json()["data"]
    assert [e["created_at"][:10] for e in listed] == [
        "2026-07-05",  # local midnight of 6 July, in UTC
        "2026-07-11",
        "2026-07-14",
        "2026-07-26",
        "2026-08-09",
    ]


async def test_sandbox_future_dates_are_accepted_after_an_advance(client, clock):
    sandbox = await make_sandbox(client)  # at 2 March 2026
    made = await ledger(client, sandbox, issue_date="2026-03-01", due_date="2026-03-31")
    payments = f"/v1/invoices/{made['invoice']['id']}/payments"
    payment = {"amount": "100.00", "paid_at": "2026-04-10"}
    early = await client.post(payments, json=payment, headers=sandbox.headers)
    assert early.status_code == 422, early.text

    await _advance(client, sandbox, _at("2026-04-15"))
    paid = await client.post(
        payments, json=payment, headers=sandbox.headers | {"Idempotency-Key": "pay-1"}
    )
    assert paid.status_code == 201, paid.text
    late = await client.post(
        payments,
        json={"amount": "100.00", "paid_at": "2026-04-16"},
        headers=sandbox.headers,
    )
    assert late.status_code == 422  # after the sandbox's today
    statement = (
        await client.get(f"/v1/invoices/{made['invoice']['id']}/claim", headers=sandbox.headers)
    ).json()
    assert statement["as_of"] == "2026-04-15"  # the default as_of is the sandbox's today
    aged = (await client.get("/v1/reports/aged-balance", headers=sandbox.headers)).json()
    assert aged["as_of"] == "2026-04-15"


async def test_the_scheduler_never_sweeps_or_moves_a_sandbox(client, app, clock, tenant):
    sandbox = await make_sandbox(client)
    start = await _now(client, sandbox)
    await ledger(client, sandbox, due_date="2026-02-01")
    live = await ledger(client, tenant, due_date="2026-02-01")

    clock.set(dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC))  # real time moves two months
    await sweep_tick(app)
    swept = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-05-02T06:00:00+02:00", "force": True}, headers=ADMIN
    )
    assert swept.status_code == 200

    assert await _events(app, sandbox.id) == []
    assert {e.invoice_id for e in await _events(app, tenant.id)} == {live["invoice"]["id"]}
    assert await _now(client, sandbox) == start
    # Only its own advance sweeps it.
    assert (await _advance(client, sandbox, start.isoformat()))["events_created"] >= 1


async def test_concurrent_advances_serialize_and_never_duplicate(client, app):
    sandbox = await make_sandbox(client)
    for n in range(5):
        await ledger(
            client, sandbox, number=f"F-{n}", issue_date="2026-03-01", due_date="2026-03-20"
        )
    to = _at("2026-05-15")
    first, second = await asyncio.gather(
        _advance(client, sandbox, to), _advance(client, sandbox, to)
    )
    events = await _events(app, sandbox.id)
    assert len({(e.invoice_id, e.occurrence) for e in events}) == len(events)
    assert first["events_created"] + second["events_created"] == len(events) == 5 * 5
    # One ran the walk; the other waited for its lock and started where it left the clock.
    # (Instants compared as such: the API writes them in UTC, `to` is in Paris time.)
    first_started_at = dt.datetime.fromisoformat(first["previous"])
    later = first if first_started_at == dt.datetime.fromisoformat(to) else second
    assert later["events_created"] == 0
    assert dt.datetime.fromisoformat(later["previous"]) == dt.datetime.fromisoformat(to)


async def test_an_advance_never_touches_another_tenant(client, app, tenant):
    mine = await make_sandbox(client, "Mine")
    other = await make_sandbox(client, "Other")
    for owner in (mine, other, tenant):
        await ledger(client, owner, due_date="2026-02-01")
    before = await _now(client, other)

    walked = await _advance(client, mine, _at("2026-04-30"))

    assert walked["events_created"] >= 1
    assert {e.tenant_id for e in await _events(app, mine.id)} == {mine.id}
    assert await _events(app, other.id) == []
    assert await _events(app, tenant.id) == []
    assert await _now(client, other) == before


async def test_webhooks_go_out_with_the_advance_signed_at_real_time(
    client, app, settings, receiver, clock
):
    app.state.settings = settings.model_copy(update={"webhook_allow_private_urls": True})
    sandbox = await make_sandbox(client)
    other = await make_tenant(client, "Live")
    for owner, path in ((sandbox, "/sandbox"), (other, "/live")):
        created = await client.post(
            "/v1/webhook-endpoints",
            json={"url": receiver.url(path), "event_types": ["*"]},
            headers=owner.headers,
        )
        assert created.status_code == 201, created.text
        receiver.secrets[path] = [created.json()["secret"]]
    await ledger(client, sandbox, issue_date="2026-03-01", due_date="2026-03-20")
    await ledger(client, other, due_date="2026-02-01")  # due, but not swept by the advance
    # Deliveries are due in real time (the service clock): the real world is past the walk.
    clock.set(dt.datetime(2026, 3, 26, tzinfo=dt.UTC))

    walked = await _advance(client, sandbox, _at("2026-03-25"))

    got = receiver.at("/sandbox")
    assert walked["deliveries"] == {"succeeded": walked["events_created"]} == {"succeeded": 3}
    assert walked["deliveries_attempted"] == len(got) == 3
    assert all(r.verified_with for r in got)
    for received in got:  # real time in the signature, the simulated day in the body
        assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 120
        assert received.json["created_at"] < "2026-03-26"
    assert receiver.at("/live") == []


async def test_walk_from_pre_reminder_to_litigation(client, app):
    sandbox = await make_sandbox(client)  # Monday 2 March 2026
    made = await ledger(client, sandbox, issue_date="2026-03-02", due_date="2026-03-09")
    invoice_url = f"/v1/invoices/{made['invoice']['id']}"

    ten = await _advance(client, sandbox, _at("2026-03-12"))
    assert ten["events_by_type"] == {
        "invoice.pre_reminder_due": 1,  # due date - 7 = today
        "invoice.overdue": 1,
        "dunning.step_due": 1,  # reminder_1, D+3
    }
    thirty = await _advance(client, sandbox, _at("2026-04-11"))
    assert thirty["events_by_type"] == {
        "dunning.step_due": 1,  # reminder_2, D+15
        "invoice.formal_notice_required": 1,  # D+30 = 8 April
    }
    invoice = (await client.get(invoice_url, headers=sandbox.headers)).json()
    assert invoice["dunning"]["stage"] == "formal_notice_required"

    # Sent on 8 April, AR on 10 April: dates after the real now, before the sandbox's today.
    recorded = await client.post(
        f"{invoice_url}/actions",
        json={
            "type": "formal_notice",
            "channel": "registered_letter",
            "performed_at": _at("2026-04-08", 10),
            "proof": {"tracking_number": "1A2B3C", "acknowledged_at": "2026-04-10"},
        },
        headers=sandbox.headers,
    )
    assert recorded.status_code == 201, recorded.text
    letter = await client.get(
        f"{invoice_url}/letters/formal_notice", headers=sandbox.headers | {"Accept": "text/plain"}
    )
    assert letter.status_code == 200
    assert "8 avril 2026" in letter.text  # dated as of its sending, in the sandbox

    # Deadline: 8 days from the AR, 18 April (Saturday) -> Monday 20 April.
    expired = await _advance(client, sandbox, _at("2026-04-22"))
    assert expired["events_by_type"] == {"formal_notice.deadline_expired": 1}
    events = await _events(app, sandbox.id)
    deadline = next(e for e in events if e.type == "formal_notice.deadline_expired")
    assert deadline.occurred_on == dt.date(2026, 4, 21)
    assert deadline.created_at.astimezone(PARIS).date() == dt.date(2026, 4, 21)
    invoice = (await client.get(invoice_url, headers=sandbox.headers)).json()
    assert invoice["dunning"]["stage"] == "litigation"
    readiness = (
        await client.get(f"{invoice_url}/litigation-readiness", headers=sandbox.headers)
    ).json()
    checks = {c["code"]: c["ok"] for c in readiness["checks"]}
    assert checks["formal_notice_recorded"]
    assert checks["formal_notice_deadline_passed"]
