"""Invoice queries on the hot read path, in SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.ledger.invoices.models import Invoice

# GET /v1/invoices/{id}: built once, not per request (building the expression cost as much as
# running it, bench/README.md), and run in Core on an autocommit connection: one round trip,
# no ORM identity map. Another tenant's id finds nothing, exactly like a missing one.
_BY_ID = select(*Invoice.__table__.columns).where(
    Invoice.id == bindparam("invoice_id"), Invoice.tenant_id == bindparam("tenant_id")
)


async def find(conn: AsyncConnection, tenant_id: str, invoice_id: str) -> Row[Any] | None:
    result = await conn.execute(_BY_ID, {"invoice_id": invoice_id, "tenant_id": tenant_id})
    return result.one_or_none()
