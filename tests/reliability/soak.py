"""Soak: mixed load on the real service for a while (10 minutes by `make soak`); the error rate
must be 0, with no deadlock in the database, and the service's memory flat.

    python -m tests.reliability.soak [--duration 600] [--concurrency 8] [--workers 1] [--out FILE]

Runs the service as a subprocess (scheduler on, a live webhook receiver on loopback) against a
fresh database on RELANCE_TEST_DATABASE_URL's server, or on a throwaway embedded PostgreSQL.
Every request is checked against what it must answer; anything else is an error. No event may
be stored twice, nor any delivery received twice. The service's RSS is sampled every few
seconds; "flat" means the median of the last third of the run is within MAX_GROWTH (ratio) +
SLACK_MB of the median of the second third (the first third is warm-up).
Prints a JSON summary (also to --out), exits 1 when a promise is broken. Not part of CI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from tests.reliability.harness import (
    DEADLOCKS,
    Receiver,
    Service,
    create_database,
    drop_database,
    running_services,
    scalar,
    seed,
)

# Grouped events (one per debtor) have no invoice: their key is the debtor's.
DUPLICATED_EVENTS = """
    SELECT count(*) - count(DISTINCT (coalesce(invoice_id, debtor_id), occurrence)) FROM events
    WHERE coalesce(invoice_id, debtor_id) IS NOT NULL
"""
MAX_GROWTH = 1.15
SLACK_MB = 25.0
SAMPLE_SECONDS = 5.0
_ID = re.compile(r"/[a-z]+_[0-9A-Z]{26}")


def _route(method: str, path: str) -> str:
    """`POST /v1/invoices/{id}/payments`: the latencies are also reported per route."""
    return f"{method} {_ID.sub('/{id}', path)}"


def _percentile_ms(values: list[float], pct: int) -> float | None:
    if len(values) < 100:
        return None
    return round(statistics.quantiles(values, n=100)[pct - 1] * 1000, 1)


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[str]:
    server = os.environ.get("RELANCE_TEST_DATABASE_URL")
    if server:
        url = await create_database(server, prefix="relance_soak")
        try:
            yield url
        finally:
            await drop_database(url)
        return
    from app.core.database_server import embedded_postgres

    with (
        tempfile.TemporaryDirectory(prefix="relance-soak-") as tmp,
        embedded_postgres(Path(tmp), cleanup="delete") as url,
    ):
        yield url


class Load:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], creditor: str) -> None:
        self.client = client
        self.headers = headers
        self.creditor = creditor
        self.debtors: list[str] = []
        self.invoices: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.route_latencies: dict[str, list[float]] = {}
        self.serial = 0

    async def call(self, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        started = time.monotonic()
        try:
            response = await self.client.request(method, path, headers=self.headers, **kw)
        except httpx.HTTPError as exc:
            self.statuses[f"{method} {type(exc).__name__}"] += 1
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None
        elapsed = time.monotonic() - started
        self.latencies.append(elapsed)
        self.route_latencies.setdefault(_route(method, path), []).append(elapsed)
        self.statuses[f"{method} {response.status_code}"] += 1
        if response.status_code not in expect:
            self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        return response.json() if response.content else {}

    def next_number(self) -> str:
        self.serial += 1
        return f"SOAK-{self.serial:07d}"

    async def step(self, rng: random.Random) -> None:
        today = dt.datetime.now(dt.UTC).date()
        roll = rng.random()
        if roll < 0.05 or not self.debtors:
            made = await self.call(
                "POST",
                "/v1/debtors",
                (201,),
                json={"creditor_id": self.creditor, "kind": "business", "name": "Soak SAS"},
            )
            if made:
                self.debtors.append(made["id"])
        elif roll < 0.30:
            due = today - dt.timedelta(days=rng.randint(-10, 40))
            made = await self.call(
                "POST",
                "/v1/invoices",
                (201,),
                json={
                    "creditor_id": self.creditor,
                    "debtor_id": rng.choice(self.debtors),
                    "number": self.next_number(),
                    "issue_date": (due - dt.timedelta(days=30)).isoformat(),
                    "due_date": due.isoformat(),
                    "amount": f"{rng.randint(50, 5000)}.{rng.randint(0, 99):02d}",
                },
            )
            if made:
                self.invoices.append(made["id"])
                del self.invoices[:-5000]
        elif roll < 0.35:
            rows = [
                {
                    "creditor_id": self.creditor,
                    "debtor_id": rng.choice(self.debtors),
                    "number": self.next_number(),
                    "issue_date": (today - dt.timedelta(days=45)).isoformat(),
                    "amount": "99.90",
                }
                for _ in range(50)
            ]
            await self.call("POST", "/v1/invoices/batch", (200,), json={"invoices": rows})
        elif roll < 0.45 and self.invoices:
            await self.call(
                "POST",
                f"/v1/invoices/{rng.choice(self.invoices)}/payments",
                (201, 409, 422),  # paid, cancelled or overpaid: refused as it must be
                json={"amount": "10.00", "paid_at": today.isoformat()},
            )
        elif roll < 0.50 and self.invoices:
            await self.call(
                "POST",
                f"/v1/invoices/{rng.choice(self.invoices)}/actions",
                (201, 409),  # beyond the caps: 409
                json={
                    "type": "phone_call",
                    "performed_at": dt.datetime.now(dt.UTC).isoformat(),
                },
            )
        elif roll < 0.53 and self.invoices:
            await self.call(
                "POST",
                f"/v1/invoices/{rng.choice(self.invoices)}/disputes",
                (201, 409),
                json={"reason": "quality"},
            )
        elif roll < 0.70 and self.invoices:
            await self.call("GET", f"/v1/invoices/{rng.choice(self.invoices)}", (200,))
        elif roll < 0.80 and self.invoices:
            await self.call("GET", f"/v1/invoices/{rng.choice(self.invoices)}/timeline", (200,))
        elif roll < 0.90:
            await self.call("GET", "/v1/invoices", (200,), params={"limit": 50, "overdue": True})
        elif roll < 0.95:
            await self.call("GET", "/v1/events", (200,), params={"limit": 100})
        else:
            await self.call(
                "GET", "/v1/reports/aged-balance", (200,), params={"creditor_id": self.creditor}
            )


async def soak(duration: float, concurrency: int, workers: int, workdir: Path) -> dict[str, Any]:
    async with database() as url:
        service = Service(
            url, workdir / "soak-service.log", scheduler=True, interval=2.0, workers=workers
        )
        with Receiver() as receiver, running_services(service):
            await service.start_healthy()
            seeded = await seed(service.base_url, invoices=2000, receiver=receiver, name="Soak")
            assert service.process is not None
            proc = psutil.Process(service.process.pid)
            samples: list[tuple[float, float]] = []
            stop = asyncio.Event()
            started = time.monotonic()

            async def sample() -> None:
                while not stop.is_set():
                    # With --workers, the workers are the server's children: all of them count.
                    family = [proc, *proc.children(recursive=True)]
                    rss = 0
                    for member in family:
                        with contextlib.suppress(psutil.NoSuchProcess):
                            rss += member.memory_info().rss
                    samples.append((time.monotonic() - started, rss / 2**20))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)

            async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
                load = Load(client, seeded.headers, seeded.creditor_id)

                async def worker(seed_: int) -> None:
                    rng = random.Random(seed_)
                    while time.monotonic() - started < duration:
                        await load.step(rng)

                sampler = asyncio.create_task(sample())
                await asyncio.gather(*(worker(i) for i in range(concurrency)))
                stop.set()
                await sampler
                ready = (await client.get("/readyz")).status_code
            service.stop()
            log = service.log_path.read_text(errors="replace")
            deadlocks = await scalar(url, DEADLOCKS)
            duplicated_events = await scalar(url, DUPLICATED_EVENTS)
            events = await scalar(url, "SELECT count(*) FROM events")
            pending = await scalar(
                url, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
            )

    third = duration / 3
    middle = [rss for t, rss in samples if third <= t < 2 * third] or [samples[0][1]]
    last = [rss for t, rss in samples if t >= 2 * third] or [samples[-1][1]]
    requests = sum(load.statuses.values())
    summary: dict[str, Any] = {
        "duration_s": duration,
        "concurrency": concurrency,
        "workers": workers,
        "requests": requests,
        "requests_per_s": round(requests / duration, 1),
        "errors": len(load.errors),
        "error_rate": round(len(load.errors) / max(requests, 1), 6),
        "first_errors": load.errors[:10],
        "statuses": dict(load.statuses),
        "p50_ms": round(statistics.median(load.latencies) * 1000, 1) if load.latencies else None,
        "p99_ms": _percentile_ms(load.latencies, 99),
        "routes": {
            route: {
                "requests": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p99_ms": _percentile_ms(values, 99),
            }
            for route, values in sorted(load.route_latencies.items())
        },
        "rss_mb_start": round(samples[0][1], 1),
        "rss_mb_middle_median": round(statistics.median(middle), 1),
        "rss_mb_last_median": round(statistics.median(last), 1),
        "rss_mb_max": round(max(rss for _, rss in samples), 1),
        "events": int(events),
        "webhooks_received": receiver.total(),
        # Not a promise: the backlog the delivery worker had not caught up with at the end.
        "deliveries_pending_at_end": int(pending),
        # Each event once: the same (invoice, occurrence) stored twice, or one event's delivery
        # received twice (no fault is injected: a second delivery means a success went unrecorded).
        "duplicated_events": int(duplicated_events),
        "webhooks_received_twice": receiver.total() - receiver.distinct(),
        "webhook_bad_signatures": receiver.bad_signatures,
        "unhandled_errors_in_log": log.count("unhandled error"),
        "deadlocks": int(deadlocks),
        "readyz_at_end": ready,
    }
    summary["memory_flat"] = summary["rss_mb_last_median"] <= (
        summary["rss_mb_middle_median"] * MAX_GROWTH + SLACK_MB
    )
    summary["ok"] = (
        summary["errors"] == 0
        and summary["memory_flat"]
        and summary["unhandled_errors_in_log"] == 0
        and summary["deadlocks"] == 0
        and summary["duplicated_events"] == 0
        and summary["webhooks_received_twice"] == 0
        and summary["webhook_bad_signatures"] == 0
        and ready == 200
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="relance serve --workers")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON summary here")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 64 or not 5 <= args.duration <= 3600 or args.workers < 1:
        parser.error("--concurrency 1..64, --duration 5..3600, --workers 1 or more")
    with tempfile.TemporaryDirectory(prefix="relance-soak-logs-") as tmp:
        summary = asyncio.run(soak(args.duration, args.concurrency, args.workers, Path(tmp)))
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
