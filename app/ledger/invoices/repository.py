"""Invoice statements on the hot paths (GET by id, a create, a batch's new rows), straight through
the driver."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import on_driver
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import COLUMNS, Invoice, NewInvoice

# Each statement is written once and run by asyncpg itself on a connection of the service's pool,
# one round trip each: SQLAlchemy's execution layer cost as much CPU as the query, and its ORM
# bulk INSERT of one row several times more (bench/README.md). Column names come from the models.
_TABLE = Invoice.__table__

# GET /v1/invoices/{id}. Another tenant's id finds nothing, exactly like a missing one.
_BY_ID = f"SELECT {', '.join(COLUMNS)} FROM invoices WHERE id = $1 AND tenant_id = $2"  # noqa: S608

# A create's parties: the tenant's creditor, and the tenant's debtor named (NULL if unknown).
_CREDITOR_COLUMNS = tuple(column.name for column in Creditor.__table__.columns)
_DEBTOR_COLUMNS = tuple(column.name for column in Debtor.__table__.columns)
_PARTIES = (
    "SELECT "  # noqa: S608
    + ", ".join(
        [f"c.{name} AS c_{name}" for name in _CREDITOR_COLUMNS]
        + [f"d.{name} AS d_{name}" for name in _DEBTOR_COLUMNS]
    )
    + " FROM creditors c LEFT JOIN debtors d ON d.id = $2 AND d.tenant_id = $3"
    " WHERE c.id = $1 AND c.tenant_id = $3"
)

# A new invoice, every column but those the database fills; nothing if its creditor already has
# an invoice with this number (the caller answers 409).
INSERTED = tuple(
    name
    for name in COLUMNS
    if name not in ("created_at", "updated_at", "closed_reason", "closed_on")
)
_INSERT = (
    f"INSERT INTO invoices ({', '.join(INSERTED)}) "  # noqa: S608
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(INSERTED) + 1))}) "
    "ON CONFLICT ON CONSTRAINT uq_invoices_creditor_id_number DO NOTHING "
    "RETURNING created_at, updated_at"
)


def _record(record: asyncpg.Record | None) -> SimpleNamespace | None:
    return None if record is None else SimpleNamespace(**dict(record.items()))


async def find(conn: AsyncConnection, tenant_id: str, invoice_id: str) -> SimpleNamespace | None:
    """The invoice's columns as attributes (what `service.to_out` reads), or None."""
    return _record(await on_driver(conn, lambda d: d.fetchrow(_BY_ID, invoice_id, tenant_id)))


async def parties(
    conn: AsyncConnection, tenant_id: str, creditor_id: str, debtor_id: str
) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
    """The tenant's creditor and debtor (their columns as attributes), None for one not found
    (the debtor is looked for only with the creditor)."""
    record = await on_driver(
        conn, lambda d: d.fetchrow(_PARTIES, creditor_id, debtor_id, tenant_id)
    )
    if record is None:
        return None, None
    creditor = SimpleNamespace(**{name: record[f"c_{name}"] for name in _CREDITOR_COLUMNS})
    if record["d_id"] is None:
        return creditor, None
    return creditor, SimpleNamespace(**{name: record[f"d_{name}"] for name in _DEBTOR_COLUMNS})


async def insert(
    conn: AsyncConnection, invoice: NewInvoice
) -> tuple[dt.datetime, dt.datetime] | None:
    """INSERT a new invoice; its (created_at, updated_at), or None if the number is taken."""
    args = [getattr(invoice, name) for name in INSERTED]
    record = await on_driver(conn, lambda d: d.fetchrow(_INSERT, *args))
    return None if record is None else (record["created_at"], record["updated_at"])


_unique_key = operator.itemgetter("creditor_id", "number")


@functools.lru_cache(maxsize=64)
def _insert_many(varying: tuple[str, ...]) -> str:
    """A batch's new invoices in one statement: one array for each column in `varying` (unnest),
    one value for each of the others, the same in every row. asyncpg encodes the arrays in C,
    where the ORM's bulk INSERT processed each row's values in Python; a column alike in every
    row (the tenant, the status, the empty lifecycle...) as one value spares it and PostgreSQL
    an array of 1,000: 7-9 ms of CPU a batch instead of 17-24 (bench/README.md, tenth session).
    Built on first use, once the models' foreign-key columns know their types."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    types = {column.name: column.type.compile(dialect=dialect) for column in _TABLE.columns}
    values = [
        f"v.{name}" if name in varying else f"CAST(${n} AS {types[name]})"
        for n, name in enumerate(INSERTED, 1)
    ]
    arrays = [
        f"CAST(${n} AS {types[name]}[])" for n, name in enumerate(INSERTED, 1) if name in varying
    ]
    return (
        f"INSERT INTO invoices ({', '.join(INSERTED)}) SELECT {', '.join(values)} "  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join(varying)}) "
        "ON CONFLICT DO NOTHING RETURNING creditor_id, number"
    )


async def insert_many(conn: AsyncConnection, invoices: list[NewInvoice]) -> set[tuple[str, str]]:
    """INSERT new invoices (in the connection's transaction); the (creditor_id, number) of
    those inserted: one missing was created concurrently meanwhile. In the order of the unique
    key: a batch inserting a number another transaction has just inserted waits for it, and two
    batches naming the same new numbers in other orders would wait for each other (deadlock)."""
    rows = sorted((invoice.__dict__ for invoice in invoices), key=_unique_key)
    args: list[Any] = []
    varying: list[str] = []
    for name in INSERTED:
        values = [row[name] for row in rows]
        first = values[0]
        # The ids always vary (and make the rows when there is one).
        if name == "id" or values.count(first) != len(values):
            args.append(values)
            varying.append(name)
        else:
            args.append(first)
    records = await on_driver(conn, lambda d: d.fetch(_insert_many(tuple(varying)), *args))
    return {(r["creditor_id"], r["number"]) for r in records}
