"""The service's own cost of each request of `make soak`'s mix, in-process (httpx's ASGITransport,
no profiler, the collector set as `relance serve` sets it) against the local PostgreSQL at
127.0.0.1:5432, on a tenant of 5,000 invoices over 20 debtors (ROUTE_COSTS_INVOICES and
ROUTE_COSTS_DEBTORS change them, e.g. 80000 and 4000 for the soak's ledger at its end):
`python -m bench.route_costs [COUNT] [KIND,KIND...]` prints the wall and CPU microseconds per
request of each kind. The CPU is the service's (and the in-process client's, about 0.5 ms), the
rest of the wall time the database's: where the soak's p99 goes (bench/README.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.profile_request import DATABASE, SERVER, in_process

INVOICES = int(os.environ.get("ROUTE_COSTS_INVOICES", "5000"))
DEBTORS = int(os.environ.get("ROUTE_COSTS_DEBTORS", "20"))


Kinds = dict[str, Callable[[], Awaitable[httpx.Response]]]


async def seeded_kinds(client: httpx.AsyncClient, key: dict[str, str]) -> Kinds:
    """The ledger seeded (INVOICES over DEBTORS), and a call of each kind of request on it."""
    creditor = await client.post(
        "/v1/creditors", json={"name": "C", "siren": "732829320"}, headers=key
    )
    creditor_id = creditor.json()["id"]
    debtors = []
    for n in range(DEBTORS):
        made = await client.post(
            "/v1/debtors",
            json={"creditor_id": creditor_id, "kind": "business", "name": f"D{n}"},
            headers=key,
        )
        debtors.append(made.json()["id"])
    today = dt.date.today()
    serial = 0

    def invoice(due_in_days: int) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {
            "creditor_id": creditor_id,
            "debtor_id": debtors[serial % DEBTORS],
            "number": f"N-{serial}",
            "issue_date": (today - dt.timedelta(days=30)).isoformat(),
            "due_date": (today + dt.timedelta(days=due_in_days)).isoformat(),
            "amount": "500.00",
        }

    for _ in range(INVOICES // 1000):
        items = [invoice(5 - serial % 40) for _ in range(1000)]
        made = await client.post("/v1/invoices/batch", json={"invoices": items}, headers=key)
        assert made.status_code == 200, made.text
    database = await asyncpg.connect(f"{SERVER}/{DATABASE}")
    try:
        # Statistics as a served process keeps them (analyze_stale_tables), not as seeded.
        await database.execute("ANALYZE")
        ids = [r["id"] for r in await database.fetch("SELECT id FROM invoices ORDER BY random()")]
    finally:
        await database.close()
    picked = iter(range(10**9))

    def some_invoice() -> str:
        return str(ids[next(picked) % len(ids)])

    now = dt.datetime.now(dt.UTC).isoformat()
    kinds: Kinds = {
        "create": lambda: client.post("/v1/invoices", json=invoice(-3), headers=key),
        "get": lambda: client.get(f"/v1/invoices/{some_invoice()}", headers=key),
        "payment": lambda: client.post(
            f"/v1/invoices/{some_invoice()}/payments",
            json={"amount": "10.00", "paid_at": today.isoformat()},
            headers=key,
        ),
        "action": lambda: client.post(
            f"/v1/invoices/{some_invoice()}/actions",
            json={"type": "phone_call", "performed_at": now},
            headers=key,
        ),
        "dispute": lambda: client.post(
            f"/v1/invoices/{some_invoice()}/disputes", json={"reason": "quality"}, headers=key
        ),
        "timeline": lambda: client.get(f"/v1/invoices/{some_invoice()}/timeline", headers=key),
        "overdue": lambda: client.get(
            "/v1/invoices", params={"limit": 50, "overdue": True}, headers=key
        ),
        "events": lambda: client.get("/v1/events", params={"limit": 100}, headers=key),
        "aged": lambda: client.get(
            "/v1/reports/aged-balance", params={"creditor_id": creditor_id}, headers=key
        ),
        "debtor": lambda: client.post(
            "/v1/debtors",
            json={"creditor_id": creditor_id, "kind": "business", "name": "Soak SAS"},
            headers=key,
        ),
        "batch50": lambda: client.post(
            "/v1/invoices/batch",
            json={"invoices": [invoice(-3) for _ in range(50)]},
            headers=key,
        ),
    }
    return kinds


async def main(count: int, only: list[str] | None) -> None:
    async with in_process(log_level="ERROR", freeze_heap=True) as (client, key):
        kinds = await seeded_kinds(client, key)
        print(f"{'request':10s} {'wall µs':>9s} {'CPU µs':>9s}")
        for name in only or list(kinds):
            call = kinds[name]
            for _ in range(10):  # warm-up: caches, prepared statements
                response = await call()
                assert response.status_code < 300, (name, response.text)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                response = await call()
                assert response.status_code < 300, (name, response.text)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{name:10s} {wall / count * 1e6:9.0f} {cpu / count * 1e6:9.0f}", flush=True)


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 200,
            sys.argv[2].split(",") if len(sys.argv) > 2 else None,
        )
    )
