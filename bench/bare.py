"""The bare stack: a minimal FastAPI + uvicorn + asyncpg app doing the service's hot queries on the
same database, served the same way (uvicorn, uvloop and httptools when installed, one process),
driven by the same load generator. It is the ceiling the service is measured against
(`api_get_vs_bare_ratio`, `api_create_vs_bare_ratio`): what this machine gives for the same SELECT
and INSERT with nothing of the service's own (no auth, no validation beyond the body's shape, no
ORM, no unit of work).

    python -m bench.bare --dsn postgresql://... --tenant ten_... --port 8123
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

# The columns GET /v1/invoices/{id} shows, read in one SELECT by id and tenant.
_SELECT = """
    SELECT id, creditor_id, debtor_id, number, issue_date, due_date, amount, currency,
           late_penalty_rate, external_id, paid_amount, status, closed_reason, disputed,
           dunning_stage, last_step, next_step, next_action_at, paused, paused_reason,
           formal_notice_deadline, limitation_ends_on, created_at, updated_at
    FROM invoices WHERE id = $1 AND tenant_id = $2
"""
# The single INSERT ... RETURNING of a create (the service's columns, its defaults).
_INSERT = """
    INSERT INTO invoices (id, tenant_id, creditor_id, debtor_id, number, issue_date, due_date,
                          amount, currency, paid_amount, status, disputed, tracked_since,
                          dunning_stage, paused)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'EUR', 0, 'open', false, $9, 'not_due', false)
    RETURNING id, created_at, updated_at
"""


class InvoiceIn(BaseModel):
    creditor_id: str
    debtor_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date | None = None
    amount: Decimal


def _json(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            out[key] = f"{value:.2f}"
        elif isinstance(value, dt.date | dt.datetime):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def build(dsn: str, tenant_id: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=20)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/v1/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str, request: Request) -> dict[str, Any]:
        row = await request.app.state.pool.fetchrow(_SELECT, invoice_id, tenant_id)
        if row is None:
            raise HTTPException(404)
        return _json(row)

    @app.post("/v1/invoices", status_code=201)
    async def create_invoice(body: InvoiceIn, request: Request) -> dict[str, Any]:
        from ulid import ULID

        row = await request.app.state.pool.fetchrow(
            _INSERT,
            f"inv_{ULID()}",
            tenant_id,
            body.creditor_id,
            body.debtor_id,
            body.number,
            body.issue_date,
            body.due_date or body.issue_date + dt.timedelta(days=30),
            body.amount,
            dt.date.today(),
        )
        return _json(row) | body.model_dump(mode="json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.dsn, args.tenant), host="127.0.0.1", port=args.port, log_config=None)


if __name__ == "__main__":
    main()
