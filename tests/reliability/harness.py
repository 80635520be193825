"""Run the real service as subprocesses, a live webhook receiver, and count what the database
holds. Every process and server started here is stopped by its context manager, and every wait
is bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url
from standardwebhooks import Webhook

from app.core.migrate import MIGRATIONS_DIR

ROOT = MIGRATIONS_DIR.parent
ADMIN_TOKEN = "reliability-admin-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asyncpg_dsn(url: str) -> str:
    """`postgresql://...` (maybe with `?host=/socket/dir`) as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.1, what: str
) -> None:
    deadline = time.monotonic() + within
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


# ------------------------------------------------------------------------------------------------
# Databases
# ------------------------------------------------------------------------------------------------
async def create_database(server_url: str, prefix: str = "relance_rel") -> str:
    """An empty database on the same server as `server_url`; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(
        asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(hide_password=False))
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "relance_rel") -> AsyncIterator[str]:
    """An empty database on the same server as `server_url`, dropped at the end (the service
    migrates it when it starts)."""
    url = await create_database(server_url, prefix)
    try:
        yield url
    finally:
        await drop_database(url)


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def scalar(url: str, sql: str, *args: Any) -> Any:
    rows = await fetch(url, sql, *args)
    return rows[0][0] if rows else None


# ------------------------------------------------------------------------------------------------
# The service as a subprocess
# ------------------------------------------------------------------------------------------------
@dataclass
class Service:
    """`python -m app.cli serve` on a loopback port; output to `log_path`."""

    database_url: str
    log_path: Path
    scheduler: bool = True
    interval: float = 0.5
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")}
        env.update(
            RELANCE_DATABASE_URL=self.database_url,
            RELANCE_ADMIN_TOKEN=ADMIN_TOKEN,
            RELANCE_SCHEDULER_ENABLED="true" if self.scheduler else "false",
            RELANCE_SCHEDULER_INTERVAL_SECONDS=str(self.interval),
            RELANCE_WEBHOOK_ALLOW_PRIVATE_URLS="true",
            RELANCE_LOG_LEVEL="INFO",
            RELANCE_DB_POOL_SIZE="10",
            RELANCE_DATA_DIR=str(self.log_path.parent / "unused-data-dir"),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n==== start #{self.starts} at {dt.datetime.now(dt.UTC)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    async def wait_healthy(self, within: float = 60) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:

            async def healthy() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"service exited with {self.process.returncode}:\n{self.tail()}"
                    )
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(healthy, within=within, interval=0.2, what="the service to start")

    async def start_healthy(self, within: float = 60) -> None:
        self.start()
        await self.wait_healthy(within)

    def kill(self) -> None:
        """kill -9: no shutdown code runs, in-flight transactions are cut."""
        if self.process is not None and self.process.poll() is None:
            # The whole process group: `--workers` processes die with their parent.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)  # beyond the shutdown's drain of webhook requests
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def running_services(*services: Service) -> Iterator[tuple[Service, ...]]:
    try:
        yield services
    finally:
        for service in services:
            service.kill()


# ------------------------------------------------------------------------------------------------
# A live webhook receiver verifying Standard Webhooks signatures
# ------------------------------------------------------------------------------------------------
class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed mid-request resets its connection: expected here, not worth a trace.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that verifies every delivery with the
    `standardwebhooks` package and counts them by `webhook-id`."""

    def __init__(
        self,
        *,
        hang_seconds: float = 0.0,
        status: int = 200,
        headers: dict[str, str] | None = None,
        verify: bool = True,
    ) -> None:
        self.secrets: list[str] = []
        self.requests = 0  # answered
        self.truncated = 0  # cut short by the sender's death: never answered
        self.arrived = 0  # read, maybe not answered yet
        self.extra_headers = headers or {}
        self.verify = verify
        self.received: Counter[str] = Counter()
        self.bad_signatures = 0
        self.bodies: dict[str, dict[str, Any]] = {}
        self.hang_seconds = hang_seconds
        self.status = status
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.arrived += 1
                    if len(body) < length:  # the sender died mid-request (kill -9)
                        receiver.truncated += 1
                        return
                if receiver.hang_seconds:
                    receiver.stopping.wait(receiver.hang_seconds)
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = not receiver.verify or any(
                    receiver._verifies(secret, body, headers) for secret in receiver.secrets
                )
                with receiver.lock:
                    receiver.requests += 1
                    if verified:
                        webhook_id = headers.get("webhook-id", "")
                        receiver.received[webhook_id] += 1
                        receiver.bodies.setdefault(webhook_id, json.loads(body))
                    else:
                        receiver.bad_signatures += 1
                status = receiver.status if verified else 400
                try:
                    self.send_response(status)
                    for name, value in receiver.extra_headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(secret).verify(body, headers)
        except Exception:
            return False
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def distinct(self) -> int:
        with self.lock:
            return len(self.received)

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# ------------------------------------------------------------------------------------------------
# Seeding through the public API
# ------------------------------------------------------------------------------------------------
@dataclass
class Seeded:
    tenant_id: str
    api_key: str
    creditor_id: str
    debtor_id: str
    endpoint_id: str | None
    invoices: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def seed(
    base_url: str,
    *,
    invoices: int,
    receiver: Receiver | None,
    name: str = "Reliability",
    today: dt.date | None = None,
) -> Seeded:
    """A tenant, a webhook endpoint (all events) to `receiver`, a creditor, a debtor and
    `invoices` invoices due 5 to 40 days ago by the real clock, in batches of 1000."""
    today = today or dt.datetime.now(dt.UTC).date()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        made = await client.post("/v1/admin/tenants", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
        tenant = made.json()
        headers = {"Authorization": f"Bearer {tenant['api_key']}"}
        endpoint_id = None
        if receiver is not None:
            ep = await client.post(
                "/v1/webhook-endpoints",
                json={"url": receiver.url, "event_types": ["*"]},
                headers=headers,
            )
            assert ep.status_code == 201, ep.text
            receiver.secrets.append(ep.json()["secret"])
            endpoint_id = ep.json()["id"]
        creditor = await client.post(
            "/v1/creditors",
            json={"name": "Atelier Fiable SARL", "siren": "732829320"},
            headers=headers,
        )
        assert creditor.status_code == 201, creditor.text
        creditor_id = creditor.json()["id"]
        debtor = await client.post(
            "/v1/debtors",
            json={"creditor_id": creditor_id, "kind": "business", "name": "Client Lent SAS"},
            headers=headers,
        )
        assert debtor.status_code == 201, debtor.text
        debtor_id = debtor.json()["id"]
        for start in range(0, invoices, 1000):
            rows = []
            for n in range(start, min(start + 1000, invoices)):
                due = today - dt.timedelta(days=5 + n % 36)
                rows.append(
                    {
                        "creditor_id": creditor_id,
                        "debtor_id": debtor_id,
                        "number": f"R-{n:06d}",
                        "issue_date": (due - dt.timedelta(days=30)).isoformat(),
                        "due_date": due.isoformat(),
                        "amount": f"{100 + n % 900}.{n % 100:02d}",
                    }
                )
            batch = await client.post(
                "/v1/invoices/batch", json={"invoices": rows}, headers=headers
            )
            assert batch.status_code == 200, batch.text
            result = batch.json()
            assert result["errors"] == [], result["errors"][:3]
            assert result["created"] == len(rows), result
    return Seeded(tenant["id"], tenant["api_key"], creditor_id, debtor_id, endpoint_id, invoices)


# ------------------------------------------------------------------------------------------------
# Counting
# ------------------------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What the database holds after a run, and what it should hold."""

    invoices: int
    events: int
    distinct_occurrences: int
    duplicated_events: int
    expected_occurrences: int
    missing_occurrences: int
    unexpected_occurrences: int
    still_due: int
    deliveries: int
    deliveries_per_event_max: int
    deliveries_not_succeeded: int
    attempts: int
    # Deadlocks PostgreSQL broke in the run's database (pg_stat_database; a process's count is
    # flushed when it goes idle or exits, so read after the services stop to count them all).
    deadlocks: int
    event_ids: set[str]

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


async def expected_occurrences(url: str, tenant_id: str) -> dict[str, set[str]]:
    """The oracle: the pure engine run, for each invoice, with nothing emitted yet, on the local
    day of now (what the sweeps must have written, exactly once each)."""
    from app.core.clock import Clock
    from app.escalation.engine import InvoiceState, evaluate
    from app.escalation.policy import DEFAULT_POLICY
    from app.legal.calendar import FRENCH_CALENDAR

    today = Clock().today()
    rows = await fetch(
        url,
        """
        SELECT i.id, i.issue_date, i.due_date, i.amount, i.paid_amount, i.status, i.disputed,
               i.tracked_since, d.kind, d.insolvency_procedure
        FROM invoices i JOIN debtors d ON d.id = i.debtor_id
        WHERE i.tenant_id = $1
        """,
        tenant_id,
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        state = InvoiceState(
            issue_date=r["issue_date"],
            due_date=r["due_date"],
            amount=r["amount"],
            balance=r["amount"] - (r["paid_amount"] or 0),
            status=r["status"],
            debtor_kind=r["kind"],
            created_on=r["tracked_since"],
            disputed=r["disputed"],
            insolvent=r["insolvency_procedure"] is not None,
        )
        evaluation = evaluate(state, DEFAULT_POLICY, (), FRENCH_CALENDAR, today)
        out[r["id"]] = {o.key for o in evaluation.due}
    return out


# Deadlocks PostgreSQL broke in this database since its creation (each run has its own).
DEADLOCKS = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"


async def ledger(url: str, tenant_id: str) -> Ledger:
    expected = await expected_occurrences(url, tenant_id)
    events = await fetch(
        url, "SELECT id, invoice_id, occurrence FROM events WHERE tenant_id = $1", tenant_id
    )
    stored: Counter[tuple[str, str]] = Counter((e["invoice_id"], e["occurrence"]) for e in events)
    wanted = {(inv, key) for inv, keys in expected.items() for key in keys}
    per_event = await fetch(
        url,
        """
        SELECT e.id, count(d.id) AS n, count(d.id) FILTER (WHERE d.status = 'succeeded') AS ok
        FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id
        WHERE e.tenant_id = $1 GROUP BY e.id
        """,
        tenant_id,
    )
    attempts = await scalar(
        url,
        """
        SELECT count(*) FROM webhook_attempts a
        JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = $1
        """,
        tenant_id,
    )
    still_due = await scalar(
        url,
        "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND status = 'open' "
        "AND next_action_at <= now()",
        tenant_id,
    )
    deadlocks = await scalar(url, DEADLOCKS)
    return Ledger(
        invoices=len(expected),
        events=len(events),
        distinct_occurrences=len(stored),
        duplicated_events=sum(n - 1 for n in stored.values()),
        expected_occurrences=len(wanted),
        missing_occurrences=len(wanted - set(stored)),
        unexpected_occurrences=len(set(stored) - wanted),
        still_due=int(still_due),
        deliveries=sum(int(r["n"]) for r in per_event),
        deliveries_per_event_max=max((int(r["n"]) for r in per_event), default=0),
        deliveries_not_succeeded=sum(1 for r in per_event if int(r["ok"]) < 1),
        attempts=int(attempts),
        deadlocks=int(deadlocks),
        event_ids={e["id"] for e in events},
    )


class Probe:
    """One open connection for polling counts quickly while a service runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Probe:
        self.conn = await asyncpg.connect(asyncpg_dsn(self.url), timeout=5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def value(self, sql: str, *args: Any) -> Any:
        assert self.conn is not None
        return await self.conn.fetchval(sql, *args)

    async def events(self) -> int:
        return int(await self.value("SELECT count(*) FROM events"))

    async def delivered(self) -> int:
        return int(
            await self.value("SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'")
        )

    async def leased(self) -> int:
        return int(
            await self.value(
                "SELECT count(*) FROM webhook_deliveries "
                "WHERE status = 'pending' AND locked_until > now()"
            )
        )
