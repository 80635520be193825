"""The plans of the queries that claim work on a partitioned history (docs/partitioning.md).

Builds a scratch database on the server of RELANCE_DATABASE_URL (default: the local one), 13
months of history (`PLAN_ROWS` events a month, each with a delivery and an attempt; the last
month's deliveries pending for a few endpoints), then prints EXPLAIN (ANALYZE, BUFFERS) of the
delivery claim and of the retention check, and the claim's mean time. Not a test: figures.

    .venv/bin/python -m bench.partition_plans > bench/partition_plans.txt

Literal values are inlined, as a custom plan of the prepared statement would see them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import create_engine
from app.core.migrate import migrate
from app.outbox.partitions import _HOLDS_PENDING, Month, ensure_partitions, id_floor, month_floor
from app.outbox.webhooks.repository import _CLAIM, _OLDEST_PENDING, CLOCK_SKEW

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


async def _explain(conn: AsyncConnection, title: str, sql: str) -> None:
    print(f"\n## {title}\n")
    for (line,) in await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")):
        print(line)
    await conn.rollback()


async def _mean_ms(conn: AsyncConnection, sql: str, runs: int = 50) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        await conn.execute(text(sql))
        await conn.rollback()
    return (time.perf_counter() - started) / runs * 1000


async def _plans(url: str, now: dt.datetime) -> None:
    engine = create_engine(url, pool_size=1)
    params: dict[str, object] = {
        "now": now.isoformat(),
        "limit": 100,
        "per_endpoint": 10,
        "lease_seconds": 6,
        "tenant_id": None,
    }
    async with engine.connect() as conn:
        await _explain(
            conn, "The oldest pending delivery (claim_floor, cached 60 s)", str(_OLDEST_PENDING)
        )
        oldest = (await conn.execute(_OLDEST_PENDING)).scalar()
        floor = month_floor("whd", oldest, now - CLOCK_SKEW)
        pruned = _inline(str(_CLAIM), {**params, "floor": floor})
        unpruned = _inline(str(_CLAIM), {**params, "floor": ""})
        await _explain(conn, f"The delivery claim (_CLAIM), floor {floor}, rolled back", pruned)
        await _explain(conn, "The same claim without a floor (every month read)", unpruned)
        month = Month.of(now)
        bounds = {
            f"{prefix}_{side}": id_floor(prefix, instant)
            for prefix in ("whd", "evt")
            for side, instant in (("low", month.start()), ("high", month.end()))
        }
        await _explain(
            conn,
            f"Retention: does {month} hold a pending delivery?",
            _inline(str(_HOLDS_PENDING), bounds),
        )
        print()
        for label, sql in (("claim with floor", pruned), ("claim without floor", unpruned)):
            print(
                f"{label}: {await _mean_ms(conn, sql):.2f} ms mean of 50 (plan + run, rolled back)"
            )
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
