"""POST /v1/admin/sweep as of a future instant: refused unless forced; a dry run answers what
would be emitted and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.ledger.invoices.models import Invoice
from app.outbox.events.models import Event
from tests.factories import ledger

# The frozen clock is 2026-03-02 09:00 UTC (tests/conftest.py).
NEXT_WEEK = "2026-03-09T06:00:00+01:00"


async def _count_events(app) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Event)) or 0


async def test_a_future_instant_is_refused(client, tenant, admin_headers, app):
    await ledger(client, tenant, due_date="2026-03-05")
    response = await client.post(
        "/v1/admin/sweep", json={"as_of": NEXT_WEEK}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "in the future" in problem["detail"]
    assert "dry_run" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "as_of"]
    assert await _count_events(app) == 0


async def test_the_present_is_not_the_future(client, tenant, admin_headers, app):
    await ledger(client, tenant, due_date="2026-02-01")
    # Within the minute of leeway for the caller's clock.
    response = await client.post(
        "/v1/admin/sweep", json={"as_of": "2026-03-02T09:00:30Z"}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is False
    assert body["would_emit"] is None
    assert body["events_by_type"]["invoice.overdue"] == 1


async def test_dry_run_shows_what_force_then_sends(client, tenant, admin_headers, app):
    made = await ledger(client, tenant, due_date="2026-03-05")
    invoice_id = made["invoice"]["id"]
    async with app.state.sessionmaker() as session:
        before = await session.get(Invoice, invoice_id)
        assert before is not None
        planned_at = before.next_action_at

    preview = await client.post(
        "/v1/admin/sweep", json={"as_of": NEXT_WEEK, "dry_run": True}, headers=admin_headers
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["dry_run"] is True
    assert body["events_created"] == 0
    assert body["deliveries"] == {}
    assert body["invoices_swept"] == 1
    emitted = [(e["invoice_id"], e["type"], e["due_on"]) for e in body["would_emit"]]
    assert (invoice_id, "invoice.overdue", "2026-03-06") in emitted  # due 5 March
    assert {e["tenant_id"] for e in body["would_emit"]} == {tenant.id}
    # Nothing written: no event, the invoice still waits for the same instant.
    assert await _count_events(app) == 0
    async with app.state.sessionmaker() as session:
        after = await session.get(Invoice, invoice_id)
        assert after is not None
        assert after.next_action_at == planned_at

    forced = await client.post(
        "/v1/admin/sweep", json={"as_of": NEXT_WEEK, "force": True}, headers=admin_headers
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["events_by_type"] == body["events_by_type"]
    assert forced.json()["events_created"] == len(body["would_emit"])
    assert await _count_events(app) == len(body["would_emit"])

    again = await client.post(
        "/v1/admin/sweep", json={"as_of": NEXT_WEEK, "dry_run": True}, headers=admin_headers
    )
    assert again.json()["would_emit"] == []  # already emitted


async def test_sweep_flags_are_booleans(client, admin_headers):
    response = await client.post(
        "/v1/admin/sweep",
        json={"as_of": NEXT_WEEK, "force": "maybe"},
        headers=admin_headers,
    )
    assert response.status_code == 422
