"""The sweep's claims are fair across tenants: a tenant's month-end burst does not delay the
few invoices another tenant has due the same day (issue 19, point 4)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from app.escalation import tasks
from app.escalation.tasks import sweep
from app.ledger.invoices.models import Invoice
from tests.conftest import make_tenant
from tests.factories import ledger

_COLUMNS = [column.name for column in Invoice.__table__.columns]


async def _copies(app, invoice_id: str, count: int, due_at: dt.datetime) -> None:
    """`count` copies of an invoice (its tenant, creditor and debtor), all due at `due_at`."""
    values = {"id": "'inv_' || md5(random()::text || g)", "number": "'N-' || g"}
    select_list = ", ".join(values.get(name, name) for name in _COLUMNS)
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text(
                f"INSERT INTO invoices ({', '.join(_COLUMNS)}) "  # noqa: S608 - model's columns
                f"SELECT {select_list} FROM invoices, generate_series(1, :count) g WHERE id = :id"
            ),
            {"count": count, "id": invoice_id},
        )
        await conn.execute(
            text(
                "UPDATE invoices SET next_action_at = :at WHERE tenant_id = "
                "(SELECT tenant_id FROM invoices WHERE id = :id)"
            ),
            {"at": due_at, "id": invoice_id},
        )


async def _still_due(app, tenant_id: str, now: dt.datetime) -> int:
    async with app.state.sessionmaker() as session:
        stmt = select(func.count()).where(
            Invoice.tenant_id == tenant_id, Invoice.next_action_at <= now
        )
        return int((await session.execute(stmt)).scalar_one())


async def test_a_small_tenant_is_swept_in_the_first_batch_beside_a_big_one(client, app, clock):
    big, small = await make_tenant(client, "Big"), await make_tenant(client, "Small")
    big_invoice = (await ledger(client, big, due_date="2026-01-20"))["invoice"]
    small_invoice = (await ledger(client, small, due_date="2026-01-20"))["invoice"]
    now = clock.now()
    # The big tenant's 5,000 are due earlier than the small one's 10: by due time alone, they
    # would fill the first ten batches.
    await _copies(app, big_invoice["id"], 4_999, now - dt.timedelta(days=2))
    await _copies(app, small_invoice["id"], 9, now - dt.timedelta(hours=1))

    stats = await sweep(app.state.sessionmaker, clock, batch_size=500, max_batches=1)

    assert stats.invoices <= 500
    assert await _still_due(app, small.id, now) == 0
    assert await _still_due(app, big.id, now) == 5_000 - (stats.invoices - 10)


async def test_a_lone_tenant_still_gets_whole_batches(client, app, clock):
    alone = await make_tenant(client, "Alone")
    invoice = (await ledger(client, alone, due_date="2026-01-20"))["invoice"]
    await _copies(app, invoice["id"], 1_199, clock.now() - dt.timedelta(days=1))

    stats = await sweep(app.state.sessionmaker, clock, batch_size=500)

    assert stats.batches == 3  # 500 + 500 + 200: its share is the whole batch
    assert stats.invoices == 1_200


async def test_the_scheduled_sweep_stops_at_its_budget(client, app, clock, monkeypatch):
    """The tick's sweep leaves the rest for the next tick, so the deliveries run in between."""
    alone = await make_tenant(client, "Burst")
    invoice = (await ledger(client, alone, due_date="2026-01-20"))["invoice"]
    await _copies(app, invoice["id"], 1_199, clock.now() - dt.timedelta(days=1))
    monkeypatch.setattr(tasks, "SWEEP_TICK_BUDGET_SECONDS", 0.0)

    await tasks.sweep_tick(app)
    assert await _still_due(app, alone.id, clock.now()) == 1_200 - 500  # one batch, then stop
