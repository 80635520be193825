"""Load generators and raw baselines, each run in a process of its own (never the server's).

`python -m bench.loadgen SPEC.json` runs one measurement described by the JSON file and prints
its result as one JSON line on stdout. Modes:

- `http_create`: POST /v1/invoices, `concurrency` tasks sharing one keep-alive client;
- `http_get`: GET /v1/invoices/{id} on ids drawn from `ids_file`;
- `http_batch`: POST /v1/invoices/batch of `batch_size` new rows, `batches` of them;
- `raw_insert`: the API's single-row INSERT into invoices, straight through asyncpg, one
  connection per task;
- `raw_get`: SELECT of one invoice by id through asyncpg;
- `raw_copy`: the batch rows through asyncpg `copy_records_to_table`;
- `deliver`: the service's webhook delivery worker (app.outbox.webhooks.tasks.Dispatcher, what the
  scheduler tick runs) until an endpoint has `target` successful deliveries.

Duration-based modes run for `warmup + duration` seconds and count only what completes inside
the measured window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

# The columns POST /v1/invoices writes (everything but the server defaults and closing fields).
INVOICE_COLUMNS = (
    "id",
    "tenant_id",
    "creditor_id",
    "debtor_id",
    "number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "late_penalty_rate",
    "external_id",
    "paid_amount",
    "status",
    "disputed",
    "tracked_since",
    "dunning_stage",
    "last_step",
    "next_step",
    "next_action_at",
    "paused",
    "paused_reason",
    "formal_notice_deadline",
    "limitation_ends_on",
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def decode_row(template: dict[str, Any]) -> dict[str, Any]:
    """A template row sent as JSON (dates and money as strings) back to Python values."""
    row = dict(template)
    for key in (
        "issue_date",
        "due_date",
        "tracked_since",
        "formal_notice_deadline",
        "limitation_ends_on",
    ):
        if row.get(key):
            row[key] = dt.date.fromisoformat(row[key])
    if row.get("next_action_at"):
        row["next_action_at"] = dt.datetime.fromisoformat(row["next_action_at"])
    for key in ("amount", "paid_amount", "late_penalty_rate"):
        if row.get(key) is not None:
            row[key] = Decimal(row[key])
    return row


def new_invoice_id() -> str:
    from ulid import ULID

    return f"inv_{ULID()}"


class Window:
    """Counts completions and latencies inside [start + warmup, start + warmup + duration]."""

    def __init__(self, warmup: float, duration: float) -> None:
        now = time.perf_counter()
        self.begin = now + warmup
        self.end = self.begin + duration
        self.duration = duration
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []

    def running(self) -> bool:
        return time.perf_counter() < self.end

    def record(self, started: float, ok: bool, error: str | None = None) -> None:
        done = time.perf_counter()
        if started < self.begin or done > self.end:
            return
        if ok:
            self.latencies.append(done - started)
        else:
            self.errors += 1
            if error and len(self.error_samples) < 5:
                self.error_samples.append(error[:300])

    def result(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies]
        return {
            "requests": len(ms),
            "errors": self.errors,
            "error_samples": self.error_samples,
            "seconds": self.duration,
            "per_s": len(ms) / self.duration,
            "p50_ms": percentile(ms, 50),
            "p90_ms": percentile(ms, 90),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else 0.0,
        }


# --- HTTP -------------------------------------------------------------------------------------


def http_client(spec: dict[str, Any]) -> Any:
    """aiohttp, not httpx: at 32 concurrent requests httpx's pool (httpcore 1.0) was itself the
    bottleneck here (40 to 80 req/s on /healthz, where aiohttp does 1,600 and the server 2,700)."""
    import aiohttp

    return aiohttp.ClientSession(
        base_url=spec["base_url"],
        headers={"Authorization": f"Bearer {spec['api_key']}"},
        connector=aiohttp.TCPConnector(limit=spec["concurrency"]),
        timeout=aiohttp.ClientTimeout(total=600),
    )


async def http_create(spec: dict[str, Any]) -> dict[str, Any]:
    prefix = spec["prefix"]
    body = dict(spec["body"])
    async with http_client(spec) as client:
        window: Window

        async def one(_: int, i: int) -> None:
            started = time.perf_counter()
            try:
                async with client.post(
                    "/v1/invoices", json=body | {"number": f"{prefix}{i}"}
                ) as response:
                    text = await response.text()
                    ok = response.status == 201
            except Exception as exc:
                window.record(started, False, repr(exc))
                return
            window.record(started, ok, None if ok else f"{response.status} {text}")

        window = Window(spec["warmup"], spec["duration"])
        await _drive(spec["concurrency"], window, one)
    return window.result()


async def http_get(spec: dict[str, Any]) -> dict[str, Any]:
    ids = spec["ids"]
    rng = random.Random(spec.get("seed", 1))
    async with http_client(spec) as client:
        window: Window

        async def one(_: int, __: int) -> None:
            invoice_id = rng.choice(ids)
            started = time.perf_counter()
            try:
                async with client.get(f"/v1/invoices/{invoice_id}") as response:
                    text = await response.text()
                    ok = response.status == 200
            except Exception as exc:
                window.record(started, False, repr(exc))
                return
            window.record(started, ok, None if ok else f"{response.status} {text}")

        window = Window(spec["warmup"], spec["duration"])
        await _drive(spec["concurrency"], window, one)
    return window.result()


async def _drive(
    concurrency: int, window: Window, one: Callable[[int, int], Awaitable[None]]
) -> None:
    counter = itertools.count()

    async def task(n: int) -> None:
        while window.running():
            await one(n, next(counter))

    await asyncio.gather(*(task(n) for n in range(concurrency)))


async def http_batch(spec: dict[str, Any]) -> dict[str, Any]:
    """`batches` POSTs of `batch_size` new invoices, `concurrency` at a time; rows per second."""
    prefix, size, item = spec["prefix"], spec["batch_size"], spec["item"]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(spec["batches"]):
        queue.put_nowait(b)
    created = 0
    errors: list[str] = []
    latencies: list[float] = []
    async with http_client(spec) as client:

        async def post(items: list[dict[str, Any]]) -> tuple[int, Any]:
            async with client.post("/v1/invoices/batch", json={"invoices": items}) as response:
                return response.status, await response.json(content_type=None)

        async def worker() -> None:
            nonlocal created
            while not queue.empty():
                b = queue.get_nowait()
                items = [item | {"number": f"{prefix}{b}-{i}"} for i in range(size)]
                started = time.perf_counter()
                status, result = await post(items)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors.append(f"{status} {json.dumps(result)[:300]}")
                    continue
                created += result["created"]
                if result["errors"]:
                    errors.append(json.dumps(result["errors"][:2]))

        # One warm-up batch, not counted (first-call costs in the server).
        status, result = await post([item | {"number": f"{prefix}warm-{i}"} for i in range(size)])
        if status != 200:
            raise RuntimeError(f"warm-up batch: {status} {result}")
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        elapsed = time.perf_counter() - started
    return {
        "rows": created,
        "batches": spec["batches"],
        "seconds": elapsed,
        "rows_per_s": created / elapsed,
        "batch_p50_ms": percentile([x * 1000 for x in latencies], 50),
        "batch_max_ms": max(latencies) * 1000 if latencies else 0.0,
        "errors": len(errors),
        "error_samples": errors[:3],
    }


# --- raw asyncpg --------------------------------------------------------------------------------


async def raw_insert(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    template = decode_row(spec["template"])
    prefix = spec["prefix"]
    sql = (
        f"INSERT INTO invoices ({', '.join(INVOICE_COLUMNS)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(INVOICE_COLUMNS) + 1))})"
    )
    conns = [await asyncpg.connect(spec["dsn"]) for _ in range(spec["concurrency"])]
    try:
        window: Window

        async def one(n: int, i: int) -> None:
            row = template | {"id": new_invoice_id(), "number": f"{prefix}{i}"}
            started = time.perf_counter()
            try:
                await conns[n].execute(sql, *(row[c] for c in INVOICE_COLUMNS))
            except Exception as exc:
                window.record(started, False, repr(exc))
                return
            window.record(started, True)

        window = Window(spec["warmup"], spec["duration"])
        await _drive(spec["concurrency"], window, one)
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return window.result()


async def raw_get(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    ids = spec["ids"]
    rng = random.Random(spec.get("seed", 1))
    conns = [await asyncpg.connect(spec["dsn"]) for _ in range(spec["concurrency"])]
    try:
        window: Window

        async def one(n: int, _: int) -> None:
            started = time.perf_counter()
            row = await conns[n].fetchrow("SELECT * FROM invoices WHERE id = $1", rng.choice(ids))
            window.record(started, row is not None, "missing row")

        window = Window(spec["warmup"], spec["duration"])
        await _drive(spec["concurrency"], window, one)
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return window.result()


async def raw_copy(spec: dict[str, Any]) -> dict[str, Any]:
    """The same rows as the batch benchmark (fully computed, as the API would store them), one
    COPY of `batch_size` rows per batch, `concurrency` connections."""
    import asyncpg

    template = decode_row(spec["template"])
    prefix, size = spec["prefix"], spec["batch_size"]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(spec["batches"]):
        queue.put_nowait(b)
    conns = [await asyncpg.connect(spec["dsn"]) for _ in range(spec["concurrency"])]
    rows = 0

    def records(b: int) -> list[tuple[Any, ...]]:
        out = []
        for i in range(size):
            row = template | {"id": new_invoice_id(), "number": f"{prefix}{b}-{i}"}
            out.append(tuple(row[c] for c in INVOICE_COLUMNS))
        return out

    async def worker(conn: Any) -> None:
        nonlocal rows
        while not queue.empty():
            b = queue.get_nowait()
            await conn.copy_records_to_table(
                "invoices", records=records(b), columns=INVOICE_COLUMNS
            )
            rows += size

    try:
        await conns[0].copy_records_to_table(
            "invoices", records=records(-1), columns=INVOICE_COLUMNS
        )  # warm-up, not counted
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return {"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed}


# --- webhook deliveries -------------------------------------------------------------------------


async def bare_post(spec: dict[str, Any]) -> dict[str, Any]:
    """The baseline of the deliveries: `count` POSTs of a webhook-sized body to `url` from a
    plain httpx.AsyncClient (httpx's own transport), `concurrency` at a time: no database, no
    signing, nothing of the service."""
    import httpx

    body = json.dumps({"id": "evt_x", "type": "invoice.overdue", "data": {"x": "y" * 600}})
    sem = asyncio.Semaphore(spec["concurrency"])
    async with httpx.AsyncClient(timeout=15) as client:

        async def one() -> bool:
            async with sem:
                response = await client.post(spec["url"], content=body)
                return response.status_code < 300

        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(spec["count"])))
        seconds = time.perf_counter() - started
    return {
        "sent": len(results),
        "ok": sum(results),
        "seconds": seconds,
        "per_s": len(results) / seconds,
    }


async def deliver(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the service's delivery worker (the scheduler tick's Dispatcher, in this process)
    until `endpoint_id` has `target` successful deliveries; time it."""
    import asyncpg

    from app.core.settings import Settings
    from app.main import create_app
    from app.outbox.webhooks.tasks import dispatcher

    settings = Settings(
        database_url=spec["dsn"],
        scheduler_enabled=False,
        webhook_allow_private_urls=True,
        log_level="WARNING",
    )
    app = create_app(settings, migrate_on_start=False)
    profiler = None
    conn = await asyncpg.connect(spec["dsn"])
    sql = "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'"
    async with app.router.lifespan_context(app):
        worker = dispatcher(app)
        stop = asyncio.Event()

        async def loop() -> None:
            while not stop.is_set():
                await worker.run(app, budget=1.0)
                if not worker.in_flight:
                    await asyncio.sleep(0.01)

        if spec.get("profile"):
            from pyinstrument import Profiler

            profiler = Profiler(interval=spec.get("profile_interval", 0.001), async_mode="disabled")
            profiler.start()
        started = time.perf_counter()
        cpu_started = time.process_time()
        task = asyncio.create_task(loop())
        done = 0
        timed_out = False
        progress: list[tuple[float, int]] = []  # (seconds, delivered), every half second
        try:
            while True:
                done = await conn.fetchval(sql, spec["endpoint_id"])
                now = time.perf_counter() - started
                if not progress or now - progress[-1][0] >= 0.5:
                    progress.append((round(now, 2), done))
                if done >= spec["target"]:
                    break
                if time.perf_counter() - started > spec["timeout"]:
                    timed_out = True
                    break
                # Every 100 ms: polled every 20 ms, this count over the endpoint's deliveries
                # took 0.09 of a database backend from the worker it measures (bench/README.md).
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            if profiler is not None:
                profiler.stop()
            stop.set()
            for t in list(worker.in_flight):
                t.cancel()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            with contextlib.suppress(BaseException):
                await asyncio.gather(*worker.in_flight, return_exceptions=True)
    await conn.close()
    if profiler is not None:
        base = Path(spec["profile"])
        base.with_suffix(".txt").write_text(profiler.output_text(unicode=False, color=False))
        base.with_suffix(".html").write_text(profiler.output_html())
    return {
        "delivered": done,
        "target": spec["target"],
        "seconds": elapsed,
        "per_s": done / elapsed,
        # This process's CPU (the dispatcher and the progress query) per delivery, and its share
        # of one core: near 1, the dispatcher is CPU-bound; well under, it waits.
        "cpu_ms_per_delivery": cpu * 1000 / max(done, 1),
        "cpu_share": cpu / elapsed,
        "timed_out": timed_out,
        "progress": progress,
    }


MODES: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "http_create": http_create,
    "http_get": http_get,
    "http_batch": http_batch,
    "raw_insert": raw_insert,
    "raw_get": raw_get,
    "raw_copy": raw_copy,
    "deliver": deliver,
    "bare_post": bare_post,
}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    if "ids_file" in spec:
        spec["ids"] = json.loads(Path(spec["ids_file"]).read_text())
    mode = MODES[spec["mode"]]
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        result = asyncio.run(mode(spec))
    else:
        result = uvloop.run(mode(spec))
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
