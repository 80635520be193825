"""What a unit of work knows of the rows it locked: the seam need not read them again."""

from __future__ import annotations

from app.core.crud import get_owned
from app.core.db import is_locked_and_current
from app.ledger.invoices.models import Invoice
from tests.factories import ledger


async def test_a_row_locked_by_get_owned_is_current_until_its_transaction_ends(app, client, tenant):
    invoice_id = (await ledger(client, tenant))["invoice"]["id"]
    async with app.state.sessionmaker() as session:
        invoice = await get_owned(session, Invoice, tenant.id, invoice_id, lock=True)
        assert is_locked_and_current(session, invoice)
        session.expire(invoice, ["paid_amount"])
        assert not is_locked_and_current(session, invoice), "an attribute to read again"
        await session.refresh(invoice, ["paid_amount"])
        assert is_locked_and_current(session, invoice)
        await session.commit()
        assert not is_locked_and_current(session, invoice), "the commit released the lock"


async def test_a_rollback_or_a_read_without_lock_is_not_locked(app, client, tenant):
    invoice_id = (await ledger(client, tenant))["invoice"]["id"]
    async with app.state.sessionmaker() as session:
        invoice = await get_owned(session, Invoice, tenant.id, invoice_id)
        assert not is_locked_and_current(session, invoice), "read without FOR UPDATE"
        nested = await session.begin_nested()
        invoice = await get_owned(session, Invoice, tenant.id, invoice_id, lock=True)
        assert is_locked_and_current(session, invoice)
        await nested.rollback()
        assert not is_locked_and_current(session, invoice), "the savepoint's lock is gone"
        await session.rollback()


async def test_a_lock_reads_the_row_over_the_object_the_session_holds(app, client, tenant):
    """The row as locked, not what the session read before: a stale object must not pass for
    the locked row."""
    from sqlalchemy import text

    invoice_id = (await ledger(client, tenant))["invoice"]["id"]
    async with app.state.sessionmaker() as session:
        before = await get_owned(session, Invoice, tenant.id, invoice_id)
        async with app.state.engine.begin() as other:
            await other.execute(
                text("UPDATE invoices SET paid_amount = 10 WHERE id = :id"), {"id": invoice_id}
            )
        locked = await get_owned(session, Invoice, tenant.id, invoice_id, lock=True)
        assert locked is before
        assert str(locked.paid_amount) == "10.00"
        await session.rollback()
