"""Invoice queries on the hot read path, straight through the driver."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import behind_pooler
from app.ledger.invoices.models import Invoice

# GET /v1/invoices/{id}: one SELECT by id and tenant, written once, run by asyncpg itself on a
# connection of the service's pool (autocommit: one round trip, no BEGIN). SQLAlchemy's
# execution layer cost as much CPU as the query (bench/README.md). Another tenant's id finds
# nothing, exactly like a missing one.
_COLUMNS = tuple(column.name for column in Invoice.__table__.columns)
_BY_ID = f"SELECT {', '.join(_COLUMNS)} FROM invoices WHERE id = $1 AND tenant_id = $2"  # noqa: S608 - column names from the model


async def find(conn: AsyncConnection, tenant_id: str, invoice_id: str) -> SimpleNamespace | None:
    """The invoice's columns as attributes (what `service.to_out` reads), or None."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        if behind_pooler(conn.engine):
            # Its prepare and its execution in one transaction: on one server connection.
            async with driver.transaction():
                record = await driver.fetchrow(_BY_ID, invoice_id, tenant_id)
        else:
            record = await driver.fetchrow(_BY_ID, invoice_id, tenant_id)
    except Exception as exc:
        # SQLAlchemy did not see this error: a connection the database dropped must leave the
        # pool here, or it would fail the requests after this one too; the request gets a 503.
        if not driver.is_closed():
            raise
        await conn.invalidate()
        raise ConnectionError("the database closed the connection") from exc
    return None if record is None else SimpleNamespace(**dict(record.items()))
