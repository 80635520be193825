"""The app's own cost per request, in-process and without a client: ASGI calls straight into the
service and into the bare stack (bench/bare.py), on the same database, in alternating rounds.
`python -m bench.asgi_cost [get|create] [COUNT]` prints microseconds per request for each and
their ratio. It leaves out uvicorn, the socket and the load generator, which both stacks share,
so it shows what the service adds; `make bench` stays the measure of record."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.bare import build as build_bare
from bench.profile_request import ADMIN, _fresh_database

ROUNDS = 11
Call = Callable[[str, str, dict[str, str], bytes], Awaitable[int]]


def asgi_caller(app: Any) -> Call:
    async def call(method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            + [(b"content-length", str(len(body)).encode()), (b"host", b"relance")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


async def measure(
    call: Call, request: Callable[[int], tuple[str, str, bytes]], key: dict[str, str], count: int
) -> float:
    for n in range(100):
        method, path, body = request(count + n)
        assert await call(method, path, key, body) < 300
    # CPU time of this process: what limits throughput under load (the database runs apart).
    started = time.process_time()
    for n in range(count):
        method, path, body = request(n)
        await call(method, path, key, body)
    return (time.process_time() - started) / count * 1e6


async def main(kind: str, count: int) -> None:
    from app.core.settings import Settings
    from app.main import create_app

    dsn = await _fresh_database()
    settings = Settings(
        database_url=dsn,
        admin_token="profile-admin",
        scheduler_enabled=False,
        log_level=os.environ.get("RELANCE_LOG_LEVEL", "WARNING"),
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client,
    ):
        tenant = (await client.post("/v1/admin/tenants", json={"name": "P"}, headers=ADMIN)).json()
        key = {"Authorization": f"Bearer {tenant['api_key']}", "content-type": "application/json"}
        creditor = (await client.post("/v1/creditors", json={"name": "C"}, headers=key)).json()
        debtor = (
            await client.post(
                "/v1/debtors",
                json={"creditor_id": creditor["id"], "kind": "business", "name": "D"},
                headers=key,
            )
        ).json()
        body = {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": "N-0",
            "issue_date": "2026-11-01",
            "amount": "100.00",
        }
        invoice = (await client.post("/v1/invoices", json=body, headers=key)).json()

        def request(prefix: str) -> Callable[[int], tuple[str, str, bytes]]:
            def one(n: int) -> tuple[str, str, bytes]:
                if kind == "get":
                    return "GET", f"/v1/invoices/{invoice['id']}", b""
                return (
                    "POST",
                    "/v1/invoices",
                    json.dumps(body | {"number": f"{prefix}{n}"}).encode(),
                )

            return one

        ours_call = asgi_caller(app)
        bare_app = build_bare(dsn.replace("postgresql://", "postgres://"), tenant["id"])
        async with bare_app.router.lifespan_context(bare_app):
            bare_call = asgi_caller(bare_app)
            # Alternating rounds, the fastest of each: other work on the machine only slows a
            # round down, so the minimum is the cost itself.
            ours_rounds, bare_rounds = [], []
            for r in range(ROUNDS):
                ours_rounds.append(await measure(ours_call, request(f"S{r}-"), key, count))
                bare_rounds.append(await measure(bare_call, request(f"B{r}-"), key, count))
        ours, bare = min(ours_rounds), min(bare_rounds)
    print(
        f"{kind}: CPU per request: service {ours:.0f} us, bare {bare:.0f} us, "
        f"ratio {bare / ours:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
