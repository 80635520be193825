"""Rows read through the driver look like the ORM's objects to their readers."""

from __future__ import annotations

from app.core.db import rows_by_id, rows_where
from app.ledger.debtors.models import Debtor
from app.ledger.invoices import repository
from tests.factories import ADDRESS, create_creditor, create_debtor


async def test_driver_rows_decode_json_as_the_orm_does(app, client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"], address=ADDRESS)
    async with app.state.engine.connect() as conn:
        (by_id,) = await rows_by_id(conn, Debtor, [debtor["id"]])
        by_creditor = await rows_where(conn, Debtor, "creditor_id", [creditor["id"], "cred_none"])
        found_creditor, found_debtor = await repository.parties(
            conn, tenant.id, creditor["id"], debtor["id"]
        )
    async with app.state.sessionmaker() as session:
        stored = (await session.get_one(Debtor, debtor["id"])).address
    assert isinstance(stored, dict)
    assert by_id.address == stored, "a dict, as on the ORM object, not JSON text"
    assert [row.id for row in by_creditor] == [debtor["id"]]
    assert found_debtor is not None
    assert found_debtor.address == stored
    assert found_creditor is not None
    assert found_creditor.id == creditor["id"]


async def test_rows_where_reads_each_row_once_whatever_the_values(app, client, tenant):
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    async with app.state.engine.connect() as conn:
        rows = await rows_where(conn, Debtor, "id", [debtor["id"], debtor["id"]])
        none = await rows_where(conn, Debtor, "id", [])
    assert [row.id for row in rows] == [debtor["id"]]
    assert none == []


async def test_a_statement_through_the_driver_is_in_the_sessions_transaction(app):
    """The first statement of a transaction may go through the driver (an import's INSERT, a
    batch of successes): SQLAlchemy begins the transaction lazily, so the driver must not run it
    on its own, committed whatever the session then does."""
    from sqlalchemy import text

    from app.core.db import on_driver

    async with app.state.engine.connect() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS driver_probe (n int)"))
        await conn.commit()
    try:
        async with app.state.sessionmaker() as session:
            conn = await session.connection()
            await on_driver(conn, lambda d: d.execute("INSERT INTO driver_probe VALUES (1)"))
            await session.rollback()
        async with app.state.engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM driver_probe"))).scalar()
        assert left == 0, "rolled back with the session"
    finally:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("DROP TABLE driver_probe"))
            await conn.commit()


async def test_rows_where_many_reads_each_query_as_rows_where_does(app, client, tenant):
    from app.core.db import rows_where_many
    from app.ledger.creditors.models import Creditor

    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"], address=ADDRESS)
    async with app.state.engine.connect() as conn:
        debtors, creditors, none = await rows_where_many(
            conn,
            [
                (Debtor, "creditor_id", [creditor["id"], creditor["id"]]),
                (Creditor, "id", [creditor["id"]]),
                (Debtor, "id", []),
            ],
        )
        (alone,) = await rows_where(conn, Debtor, "id", [debtor["id"]])
    assert [row.id for row in debtors] == [debtor["id"]]
    assert vars(debtors[0]) == vars(alone), "the same columns and values, JSON decoded"
    assert isinstance(debtors[0].address, dict)
    assert [row.id for row in creditors] == [creditor["id"]]
    assert none == []


async def test_named_tuples_answer_the_attributes_a_core_row_answers(app, client, tenant):
    from sqlalchemy import select

    from app.core.db import named_tuples

    creditor = await create_creditor(client, tenant)
    await create_debtor(client, tenant, creditor["id"], address=ADDRESS)
    stmt = select(*Debtor.__table__.columns).where(Debtor.creditor_id == creditor["id"])
    async with app.state.engine.connect() as conn:
        (row,) = (await conn.execute(stmt)).all()
        (named,) = named_tuples(await conn.execute(stmt))
    assert named._asdict() == dict(row._mapping)
    assert named.address == row.address
    assert isinstance(named.address, dict)
