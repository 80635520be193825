"""The plans of the queries that claim work on a partitioned history (docs/partitioning.md).

Builds a scratch database on the server of RELANCE_DATABASE_URL (default: the local one), 13
months of history (`PLAN_ROWS` events a month, each with a delivery and an attempt; the last
month's deliveries pending for a few endpoints), then prints EXPLAIN (ANALYZE, BUFFERS) of the
delivery claim and of the retention check, and the claim's mean time. Not a test: figures.

    .venv/bin/python -m bench.partition_plans > bench/partition_plans.txt
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core.db import create_engine
from app.core.migrate import migrate
from app.outbox.partitions import Month, ensure_partitions, id_floor
from app.outbox.webhooks.repository import _CLAIM

SERVER = os.environ.get("RELANCE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROWS = int(os.environ.get("PLAN_ROWS", "20000"))
MONTHS = 13
ENDPOINTS = 20


def _stem(prefix: str, month: Month) -> str:
    """The first 14 characters of the month's ids: prefix and the ULID's timestamp."""
    return id_floor(prefix, month.start())[:14]


async def _fill(url: str, first: Month) -> None:
    engine = create_engine(url, pool_size=1)
    await migrate(engine)
    await ensure_partitions(engine, first.start(), MONTHS)
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO tenants (id, name) VALUES ('ten_1', 'Acme')"))
        await conn.execute(
            text(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, enabled, secret)"
                " SELECT 'whe_' || n, 'ten_1', 'https://example.com', '[\"*\"]', true, 's'"
                " FROM generate_series(1, :n) n"
            ),
            {"n": ENDPOINTS},
        )
        month, last = first, first
        for index in range(MONTHS):
            pending = index == MONTHS - 1
            params = {
                "evt": _stem("evt", month),
                "whd": _stem("whd", month),
                "wha": _stem("wha", month),
                "rows": ROWS,
                "endpoints": ENDPOINTS,
                "status": "pending" if pending else "succeeded",
                "at": month.start(),
                "due": month.start() if pending else None,
            }
            await conn.execute(
                text(
                    "INSERT INTO events (id, tenant_id, invoice_id, occurrence, type, data,"
                    " created_at) SELECT :evt || lpad(n::text, 16, '0'), 'ten_1', 'inv_' || n,"
                    " 'paid', 'invoice.paid', '{}', :at FROM generate_series(1, :rows) n"
                ),
                params,
            )
            await conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, tenant_id, event_id, endpoint_id, status,"
                    " attempts, next_attempt_at) SELECT :whd || lpad(n::text, 16, '0'), 'ten_1',"
                    " :evt || lpad(n::text, 16, '0'), 'whe_' || (n % :endpoints + 1), :status, 0,"
                    " :due FROM generate_series(1, :rows) n"
                ),
                params,
            )
            await conn.execute(
                text(
                    "INSERT INTO webhook_attempts (id, delivery_id, tenant_id, attempted_at,"
                    " duration_ms) SELECT :wha || lpad(n::text, 16, '0'),"
                    " :whd || lpad(n::text, 16, '0'), 'ten_1', :at, 1"
                    " FROM generate_series(1, :rows) n"
                ),
                params,
            )
            last, month = month, month.next()
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    print(f"{MONTHS} months x {ROWS} events, deliveries, attempts; pending in {last}")


def _inline(sql: str, params: dict[str, object]) -> str:
    for key, value in params.items():
        literal = "NULL" if value is None else f"'{value}'"
        sql = sql.replace(f":{key}", literal)
    return sql


async def _plans(url: str, now: dt.datetime) -> None:
    engine = create_engine(url, pool_size=1)
    params = {
        "now": now.isoformat(),
        "limit": 100,
        "per_endpoint": 10,
        "lease_seconds": 6,
        "tenant_id": None,
    }
    claim = _inline(str(_CLAIM), params)
    async with engine.connect() as conn:
        print("\n## The delivery claim (_CLAIM), rolled back\n")
        for (line,) in await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {claim}")):
            print(line)
        await conn.rollback()
        started, runs = time.perf_counter(), 50
        for _ in range(runs):
            await conn.execute(text(claim))
            await conn.rollback()
        print(f"\nclaim: {(time.perf_counter() - started) / runs * 1000:.2f} ms mean of {runs}")
    await engine.dispose()


async def main() -> None:
    name = f"relance_plans_{secrets.token_hex(3)}"
    admin = create_engine(SERVER, pool_size=1, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    now = dt.datetime.now(dt.UTC)
    first = Month.of(now)
    for _ in range(MONTHS - 1):
        first = Month(first.year - (first.month == 1), (first.month - 2) % 12 + 1)
    try:
        await _fill(url, first)
        await _plans(url, now)
    finally:
        if os.environ.get("PLAN_KEEP"):
            print(f"kept database {name}")
        else:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
