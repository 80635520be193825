"""Profile one kind of request in-process (httpx's ASGITransport, pyinstrument) against the local
PostgreSQL at 127.0.0.1:5432:
`python -m bench.profile_request get|create|batch|payment|timeline|list [COUNT]` (list: pages of
50). Writes bench/results/request_<kind>.txt. The client shares the process: read the app's
subtree (from `FastAPI.__call__`), not the totals."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from pyinstrument import Profiler

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "relance_profile_request"
ADMIN = {"Authorization": "Bearer profile-admin"}


async def _fresh_database() -> str:
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    return f"{SERVER}/{DATABASE}"


@contextlib.asynccontextmanager
async def in_process(
    log_level: str = "WARNING", *, freeze_heap: bool = False
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The service on a fresh database (no scheduler), a client calling it in-process, and the
    headers of a new tenant's key. `freeze_heap`: the collector set as `relance serve` sets it."""
    from app.core.settings import Settings
    from app.main import create_app

    settings = Settings(
        database_url=await _fresh_database(),
        admin_token="profile-admin",
        scheduler_enabled=False,
        log_level=log_level,
    )
    app = create_app(settings, freeze_heap=freeze_heap)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://relance") as client,
    ):
        tenant = (await client.post("/v1/admin/tenants", json={"name": "P"}, headers=ADMIN)).json()
        yield client, {"Authorization": f"Bearer {tenant['api_key']}"}


async def main(kind: str, count: int) -> None:
    async with in_process() as (client, key):
        creditor = (await client.post("/v1/creditors", json={"name": "C"}, headers=key)).json()
        debtor = await client.post(
            "/v1/debtors",
            json={"creditor_id": creditor["id"], "kind": "business", "name": "D"},
            headers=key,
        )
        body = {
            "creditor_id": creditor["id"],
            "debtor_id": debtor.json()["id"],
            "number": "N-0",
            "issue_date": "2026-11-01",
            "amount": "100.00",
        }
        invoice = (await client.post("/v1/invoices", json=body, headers=key)).json()
        # one payment or one timeline per invoice, as in the soak's mix; made by batches first
        payable: list[str] = []
        if kind in ("payment", "timeline", "list"):
            for start in range(0, count + 50, 1000):
                items = [body | {"number": f"P-{start + i}"} for i in range(1000)]
                made = await client.post(
                    "/v1/invoices/batch", json={"invoices": items}, headers=key
                )
                assert made.json()["created"] == 1000, made.text
            database = await asyncpg.connect(f"{SERVER}/{DATABASE}")
            try:
                rows = await database.fetch("SELECT id FROM invoices WHERE number LIKE 'P-%'")
            finally:
                await database.close()
            payable = [row["id"] for row in rows]
        payment = {"amount": "10.00", "paid_at": "2026-11-20"}

        async def one(n: int) -> None:
            if kind == "get":
                response = await client.get(f"/v1/invoices/{invoice['id']}", headers=key)
            elif kind == "batch":  # COUNT batches of 1,000 new invoices
                items = [body | {"number": f"B-{n}-{i}"} for i in range(1000)]
                response = await client.post(
                    "/v1/invoices/batch", json={"invoices": items}, headers=key
                )
            elif kind == "payment":
                response = await client.post(
                    f"/v1/invoices/{payable[n]}/payments", json=payment, headers=key
                )
            elif kind == "timeline":
                response = await client.get(f"/v1/invoices/{payable[n]}/timeline", headers=key)
            elif kind == "list":
                response = await client.get("/v1/invoices", params={"limit": 50}, headers=key)
            else:
                response = await client.post(
                    "/v1/invoices", json=body | {"number": f"N-{n + 1}"}, headers=key
                )
            assert response.status_code < 300, response.text

        for n in range(5 if kind == "batch" else 50):  # warm-up: caches, prepared statements
            await one(count + n)
        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        started = time.perf_counter()
        for n in range(count):
            await one(n)
        seconds = time.perf_counter() - started
        profiler.stop()
    print(f"{kind}: {count / seconds:.0f}/s in-process, {seconds / count * 1000:.2f} ms each")
    out = Path(__file__).parent / "results" / f"request_{kind}.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=True))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1500))
