"""The benchmark: the real service (`relance serve` as a subprocess) on a fresh database, each
figure next to a raw-database baseline measured in the same run. See bench/README.md.

    BENCH_SCALE=small .venv/bin/python -m bench.run     # 100,000 background invoices, < 5 min
    .venv/bin/python -m bench.run                       # full: 1,000,000

Writes bench/results/latest.json (and a timestamped copy), the server log and the profiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARIS = ZoneInfo("Europe/Paris")
ADMIN_TOKEN = "bench-admin-" + secrets.token_hex(8)
CONCURRENCY = 32
# Runs of each side of a ratio (the service and its baseline), alternately: see `alternately`.
ROUNDS = 2
BATCH_SIZE = 1000
BATCH_CONCURRENCY = 2  # API batches and COPY batches alike
# `relance serve --workers N` for the measured service (the profiled one is always a single
# process); CPU and memory figures add up all its processes.
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))

SCALES: dict[str, dict[str, Any]] = {
    "tiny": {  # a smoke test of the harness itself, not a measurement
        "background": 10_000,
        "due": 200,
        "reps": 1,
        "warmup_s": 0.5,
        "http_s": 2.0,
        "batches": 2,
        "hook_invoices": 100,
        "profile_s": 2.0,
        "profiles": "api_create,batch,webhooks",
    },
    "small": {
        "background": 100_000,
        "due": 1000,
        "reps": 3,
        "warmup_s": 2.0,
        "http_s": 10.0,
        "batches": 20,
        "hook_invoices": 3000,  # 2 events each: overdue + reminder_1; runs of 3 s or more
        "profile_s": 5.0,
        "profiles": "api_create,batch,webhooks",
    },
    # bench/month_end.py: its own scenario (BENCH_MONTH_END_INVOICES, BENCH_MONTH_END_DUE).
    "month-end": {},
    "full": {
        "background": 1_000_000,
        "due": 1000,
        "reps": 3,
        "warmup_s": 3.0,
        "http_s": 20.0,
        "batches": 50,
        "hook_invoices": 6000,
        "profile_s": 10.0,
        "profiles": "all",
    },
}

# key -> (comparison, goal)
GOALS: dict[str, tuple[str, float]] = {
    "sweep_scaling_ratio": ("<=", 1.5),
    "api_create_vs_raw_ratio": (">=", 0.25),
    # Against the bare stack (bench/bare.py), same machine, same client, same run.
    "api_get_vs_bare_ratio": (">=", 0.5),
    "api_create_vs_bare_ratio": (">=", 0.35),
    "api_get_p99_vs_bare_ratio": ("<=", 2.0),
    "api_create_p99_vs_bare_ratio": ("<=", 2.0),
    "batch_vs_copy_ratio": (">=", 0.30),
    "webhook_deliveries_per_s": (">=", 500.0),
    "webhook_dead_endpoint_ratio": (">=", 0.9),
}
KEYS = (
    "sweep_scaling_ratio",
    "sweep_due_per_s",
    "sweep_grouped_due_per_s",
    "api_create_per_s",
    "api_create_p99_ms",
    "api_create_vs_raw_ratio",
    "api_create_vs_bare_ratio",
    "api_create_p99_vs_bare_ratio",
    "api_get_p99_ms",
    "api_get_vs_bare_ratio",
    "api_get_p99_vs_bare_ratio",
    "batch_rows_per_s",
    "batch_vs_copy_ratio",
    "webhook_deliveries_per_s",
    "webhook_dead_endpoint_ratio",
    "server_rss_mb",
)

# One endpoint never has more than this in flight: the bare loop gets the same.
PER_ENDPOINT_CONCURRENCY = 8

T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


# --- the database -------------------------------------------------------------------------------


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


@contextlib.contextmanager
def database_server() -> Iterator[tuple[str, str]]:
    """(server URL, kind): RELANCE_BENCH_DATABASE_URL, else the PostgreSQL at 127.0.0.1:5432
    when it answers, else an embedded PostgreSQL in a temporary directory."""
    configured = os.environ.get("RELANCE_BENCH_DATABASE_URL")
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if configured:
        yield configured, "RELANCE_BENCH_DATABASE_URL"
    elif asyncio.run(_answers(local)):
        yield local, "local 127.0.0.1:5432"
    else:
        from app.core.database_server import embedded_postgres

        with (
            tempfile.TemporaryDirectory(prefix="relance-bench-") as tmp,
            embedded_postgres(Path(tmp), cleanup="delete") as url,
        ):
            yield url, "embedded"


async def admin_sql(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- the service --------------------------------------------------------------------------------


@dataclass
class Server:
    process: asyncio.subprocess.Process
    port: int
    base_url: str
    log_path: Path

    def pids(self) -> list[int]:
        """The service's processes: the server and, with BENCH_WORKERS > 1, its workers."""
        found = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def rss_mb(self) -> dict[str, float]:
        """VmRSS and VmHWM summed over the service's processes."""
        total = {"VmRSS": 0.0, "VmHWM": 0.0}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                for name in total:
                    if name in fields:
                        total[name] += int(fields[name].split()[0]) / 1024
        return total

    def cpu_seconds(self) -> float:
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    async def stop(self, sig: int = signal.SIGTERM, grace: float = 60) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def relance_command() -> list[str]:
    script = Path(sys.executable).parent / "relance"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


async def start_server(
    db_url: str,
    name: str,
    profile: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    workers: int = WORKERS,
) -> Server:
    """`relance serve` ready, its scheduler off unless `env` turns it on."""
    port = free_port()
    env = (
        os.environ
        | {
            "RELANCE_DATABASE_URL": db_url,
            "RELANCE_SCHEDULER_ENABLED": "false",
            "RELANCE_ADMIN_TOKEN": ADMIN_TOKEN,
            "RELANCE_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "RELANCE_LOG_LEVEL": "WARNING",
        }
        | (env or {})
    )
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile is None:
        serve += ["--workers", str(workers)]
        command = [*relance_command(), *serve]
    else:
        command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "-i",
            "0.002",
            "-r",
            "pyisession",
            "-o",
            str(profile),
            "-m",
            "app.cli",
            *serve,
        ]
    log_path = RESULTS / f"{name}.log"
    with open(log_path, "wb") as out:  # noqa: ASYNC230 - before the service starts
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    server = Server(process, port, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the service exited; see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                await server.stop(signal.SIGKILL)
                raise RuntimeError(f"the service did not become ready; see {log_path}")
            await asyncio.sleep(0.2)


async def start_bare(db_url: str, tenant_id: str) -> Server:
    """The bare stack (bench/bare.py) on a port of its own, ready."""
    port = free_port()
    log_path = RESULTS / "bare.log"
    with open(log_path, "wb") as out:  # noqa: ASYNC230 - before the server starts
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bare",
            "--dsn",
            db_url,
            "--tenant",
            tenant_id,
            "--port",
            str(port),
            cwd=ROOT,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = Server(process, port, f"http://127.0.0.1:{port}", log_path)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"the bare stack exited; see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return server
            await asyncio.sleep(0.2)
    await server.stop(signal.SIGKILL)
    raise RuntimeError(f"the bare stack did not become ready; see {log_path}")


class Api:
    """Set-up calls (not measured) through the public API."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(600.0))

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, key: str, body: Any = None) -> Any:
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    async def ledger(self, name: str) -> dict[str, str]:
        """A tenant, a creditor and a business debtor."""
        tenant = await self.call("POST", "/v1/admin/tenants", ADMIN_TOKEN, {"name": name})
        key = tenant["api_key"]
        creditor = await self.call("POST", "/v1/creditors", key, {"name": f"{name} SARL"})
        debtor = await self.call(
            "POST",
            "/v1/debtors",
            key,
            {"creditor_id": creditor["id"], "kind": "business", "name": f"{name} client"},
        )
        return {
            "tenant_id": tenant["id"],
            "key": key,
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
        }

    async def due_invoices(self, ledger: dict[str, str], count: int, prefix: str) -> None:
        """`count` invoices 10 days past due (due now: overdue + the first reminder)."""
        today = dt.datetime.now(PARIS).date()
        for start in range(0, count, BATCH_SIZE):
            items = [
                {
                    "creditor_id": ledger["creditor_id"],
                    "debtor_id": ledger["debtor_id"],
                    "number": f"{prefix}{i}",
                    "issue_date": (today - dt.timedelta(days=40)).isoformat(),
                    "due_date": (today - dt.timedelta(days=10)).isoformat(),
                    "amount": "980.00",
                }
                for i in range(start, min(count, start + BATCH_SIZE))
            ]
            result = await self.call(
                "POST", "/v1/invoices/batch", ledger["key"], {"invoices": items}
            )
            if result["created"] != len(items):
                raise RuntimeError(f"batch of due invoices: {result}")

    async def sweep(self, as_of: dt.datetime) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        result = await self.call(
            "POST", "/v1/admin/sweep", ADMIN_TOKEN, {"as_of": as_of.isoformat()}
        )
        return time.perf_counter() - started, result


async def loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a process of its own (bench/loadgen.py)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f, default=json_default)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.loadgen",
            f.name,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    finally:
        os.unlink(f.name)
    if process.returncode != 0:
        raise RuntimeError(f"loadgen {spec['mode']} failed:\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@contextlib.asynccontextmanager
async def receiver() -> Any:
    """bench/receiver.py in its own process: yields its ports {"live": ..., "dead": ...}."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.receiver",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        yield json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    finally:
        process.terminate()
        await process.wait()


# --- the measurements -----------------------------------------------------------------------------


class Bench:
    def __init__(self, db_url: str, scale: str) -> None:
        self.db_url = db_url
        self.scale = scale
        self.cfg = SCALES[scale]
        self.figures: dict[str, float | None] = dict.fromkeys(KEYS)
        self.baselines: dict[str, str] = {}
        self.details: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.server: Server | None = None
        self.api: Api | None = None
        self.conn: asyncpg.Connection | None = None
        self.background_ids: list[str] = []
        self.main: dict[str, str] = {}
        self.as_of = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.today = dt.datetime.now(PARIS).date()

    # helpers

    def invoice_body(self, ledger: dict[str, str]) -> dict[str, str]:
        """A new invoice as an integrator sends it: issued today, due in 60 days."""
        return {
            "creditor_id": ledger["creditor_id"],
            "debtor_id": ledger["debtor_id"],
            "issue_date": self.today.isoformat(),
            "due_date": (self.today + dt.timedelta(days=60)).isoformat(),
            "amount": "1250.00",
        }

    async def row(self, invoice_id: str) -> dict[str, Any]:
        from bench.loadgen import INVOICE_COLUMNS

        assert self.conn is not None
        record = await self.conn.fetchrow(
            f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoices WHERE id = $1", invoice_id
        )
        assert record is not None, invoice_id
        return dict(record)

    async def phase(self, name: str, coro: Any) -> None:
        log(f"{name} ...")
        started = time.perf_counter()
        try:
            await coro
        except Exception:
            self.errors[name] = traceback.format_exc()
            log(f"{name} FAILED:\n{self.errors[name]}")
        else:
            log(f"{name} done in {time.perf_counter() - started:.1f}s")

    # the run

    async def run(self) -> None:
        self.conn = await asyncpg.connect(self.db_url)
        self.server = await start_server(self.db_url, "server")
        self.api = Api(self.server.base_url)
        log(f"service up on {self.server.base_url} (pid {self.server.process.pid})")
        try:
            self.main = await self.api.ledger("Bench")
            only = [p for p in os.environ.get("BENCH_ONLY", "").split(",") if p]
            phases = {
                "sweep": self.sweep_scaling,
                "api_create": self.api_create,
                "api_get": self.api_get,
                "batch": self.batch,
                "webhooks": self.webhooks,
                "reports": self.reports,
            }
            if unknown := set(only) - set(phases):
                raise SystemExit(f"BENCH_ONLY: unknown {unknown}; known: {', '.join(phases)}")
            if only and "sweep" not in only and {"api_get", "reports"} & set(only):
                # GET and the reports read the large set.
                await self.phase("seed", self.seed_background())
            for name, measure in phases.items():
                if not only or name in only:
                    await self.phase(name, measure())
            rss = self.server.rss_mb()
            self.figures["server_rss_mb"] = round(rss["VmRSS"], 1)
            self.details["server_memory_mb"] = rss
            if self.profiling("webhooks"):  # needs this service for its set-up
                await self.phase("profile webhooks", self.profile_webhooks())
        finally:
            await self.api.close()
            await self.server.stop()
        await self.phase("profiles", self.profiles())
        await self.conn.close()

    def profiling(self, name: str) -> bool:
        wanted = os.environ.get("BENCH_PROFILE") or self.cfg["profiles"]
        if os.environ.get("BENCH_ONLY") and not os.environ.get("BENCH_PROFILE"):
            return False  # a single figure: no profiles unless asked for
        return wanted == "all" or name in wanted.split(",")

    async def reset_due(self, ids: list[str], debtors: list[str] | None = None) -> None:
        """Put the due invoices back as they were before the sweep (and drop its events, and the
        grouped events of `debtors` with the steps they covered)."""
        assert self.conn is not None
        await self.conn.execute("DELETE FROM events WHERE invoice_id = ANY($1)", ids)
        if debtors:
            await self.conn.execute("DELETE FROM events WHERE debtor_id = ANY($1)", debtors)
            await self.conn.execute("DELETE FROM grouped_steps WHERE invoice_id = ANY($1)", ids)
        await self.conn.execute(
            """
            UPDATE invoices i SET dunning_stage = s.dunning_stage, last_step = s.last_step,
                next_step = s.next_step, next_action_at = s.next_action_at, paused = s.paused,
                paused_reason = s.paused_reason,
                formal_notice_deadline = s.formal_notice_deadline,
                limitation_ends_on = s.limitation_ends_on
            FROM bench_due_snapshot s WHERE i.id = s.id
            """
        )
        await self.conn.execute("VACUUM ANALYZE invoices")
        await self.conn.execute("VACUUM ANALYZE events")

    async def timed_sweeps(
        self, ids: list[str], label: str, debtors: list[str] | None = None
    ) -> list[float]:
        assert self.api is not None
        times = []
        for rep in range(self.cfg["reps"] + 1):  # the first one warms up, not counted
            await self.reset_due(ids, debtors)
            seconds, result = await self.api.sweep(self.as_of)
            if result["invoices_swept"] != len(ids):
                raise RuntimeError(f"sweep {label}: expected {len(ids)} invoices, got {result}")
            self.details.setdefault(f"sweep_{label}_result", result)
            if rep:
                times.append(seconds)
        log(f"sweep {label}: {', '.join(f'{t * 1000:.0f} ms' for t in times)}")
        return times

    async def sweep_scaling(self) -> None:
        assert self.api is not None
        assert self.conn is not None
        due = self.cfg["due"]
        ledger = await self.api.ledger("Sweep")
        await self.api.due_invoices(ledger, due, "D-")
        ids = [
            r["id"]
            for r in await self.conn.fetch(
                "SELECT id FROM invoices WHERE tenant_id = $1 AND next_action_at <= $2",
                ledger["tenant_id"],
                self.as_of,
            )
        ]
        if len(ids) != due:
            raise RuntimeError(f"{len(ids)} of {due} invoices are due at {self.as_of}")
        await self.conn.execute(
            "CREATE TABLE bench_due_snapshot AS SELECT id, dunning_stage, last_step, next_step, "
            "next_action_at, paused, paused_reason, formal_notice_deadline, limitation_ends_on "
            "FROM invoices WHERE id = ANY($1)",
            ids,
        )
        none = await self.timed_sweeps(ids, "none")
        await self.seed_background()
        large = await self.timed_sweeps(ids, "large")
        # The due set stays swept: its next step is days away, so later sweeps don't see it.
        none_s, large_s = statistics.median(none), statistics.median(large)
        self.figures["sweep_scaling_ratio"] = round(large_s / none_s, 3)
        self.figures["sweep_due_per_s"] = round(due / large_s, 1)
        bg = self.cfg["background"]
        self.baselines["sweep_scaling_ratio"] = (
            f"{due} due: {none_s * 1000:.0f} ms alone, {large_s * 1000:.0f} ms among {bg:,}"
        )
        self.baselines["sweep_due_per_s"] = f"{due / none_s:.0f}/s with no other invoice"
        self.details["sweep"] = {
            "due": due,
            "background_open_not_due": bg,
            "none_seconds": none,
            "large_seconds": large,
            "events_per_sweep": self.details.get("sweep_none_result", {}).get("events_created"),
            "plan": await self.claim_plan(),
        }
        await self.sweep_grouped(large_s)

    async def grouped_due(self, count: int, per_debtor: int) -> tuple[list[str], list[str]]:
        """`count` due invoices under a grouped policy (`grouping: "debtor"`), `per_debtor` for
        each debtor: (invoice ids, debtor ids)."""
        assert self.api is not None
        assert self.conn is not None
        tenant = await self.api.call("POST", "/v1/admin/tenants", ADMIN_TOKEN, {"name": "Grouped"})
        key = tenant["api_key"]
        default = await self.api.call("GET", "/v1/dunning-policies/default", key)
        steps = [
            {k: s[k] for k in ("code", "kind", "channel", "offset_days")} for s in default["steps"]
        ]
        policy = await self.api.call(
            "POST",
            "/v1/dunning-policies",
            key,
            {"name": "Grouped", "grouping": "debtor", "steps": steps},
        )
        creditor = await self.api.call(
            "POST",
            "/v1/creditors",
            key,
            {"name": "Grouped SARL", "dunning_policy_id": policy["id"]},
        )
        debtors = []
        for n in range(count // per_debtor):
            debtor = await self.api.call(
                "POST",
                "/v1/debtors",
                key,
                {"creditor_id": creditor["id"], "kind": "business", "name": f"Client {n}"},
            )
            ledger = {"key": key, "creditor_id": creditor["id"], "debtor_id": debtor["id"]}
            await self.api.due_invoices(ledger, per_debtor, f"G{n}-")
            debtors.append(debtor["id"])
        rows = await self.conn.fetch(
            "SELECT id FROM invoices WHERE tenant_id = $1 AND next_action_at <= $2",
            tenant["id"],
            self.as_of,
        )
        return [r["id"] for r in rows], debtors

    async def sweep_grouped(self, per_invoice_s: float) -> None:
        """The same number of due invoices under a grouped policy, 10 per debtor, among the
        background: one grouped event per debtor instead of one reminder per invoice."""
        assert self.conn is not None
        due, per_debtor = self.cfg["due"], 10
        ids, debtors = await self.grouped_due(due, per_debtor)
        if len(ids) != due:
            raise RuntimeError(f"{len(ids)} of {due} grouped invoices are due at {self.as_of}")
        # Only the grouped invoices are put back before each sweep (the per-invoice set stays
        # swept).
        await self.conn.execute("DELETE FROM bench_due_snapshot")
        await self.conn.execute(
            "INSERT INTO bench_due_snapshot SELECT id, dunning_stage, last_step, next_step, "
            "next_action_at, paused, paused_reason, formal_notice_deadline, limitation_ends_on "
            "FROM invoices WHERE id = ANY($1)",
            ids,
        )
        grouped = await self.timed_sweeps(ids, "grouped", debtors)
        grouped_s = statistics.median(grouped)
        self.figures["sweep_grouped_due_per_s"] = round(due / grouped_s, 1)
        self.baselines["sweep_grouped_due_per_s"] = (
            f"{due} due of {len(debtors)} debtors: {grouped_s * 1000:.0f} ms grouped, "
            f"{per_invoice_s * 1000:.0f} ms per invoice (same run)"
        )
        self.details["sweep_grouped"] = {
            "due": due,
            "debtors": len(debtors),
            "seconds": grouped,
            "events_per_sweep": self.details.get("sweep_grouped_result", {}).get("events_created"),
        }

    async def claim_plan(self) -> str:
        """EXPLAIN of the sweep's claim (the per-tenant one, app/escalation/tasks.py) on the large
        set: the per-tenant index must be used."""
        from app.escalation.tasks import _FAIR_CLAIM

        assert self.conn is not None
        sql = _FAIR_CLAIM.text
        for n, name in enumerate((":now", ":limit", ":tenant_id"), start=1):
            sql = sql.replace(name, f"${n}")
        rows = await self.conn.fetch(f"EXPLAIN {sql}", self.as_of, 500, None)
        return "\n".join(r[0] for r in rows)

    async def seed_background(self) -> None:
        """Open invoices that are not due (next action years away), COPYed straight in: the
        values of an invoice the API created with the same dates."""
        assert self.api is not None
        assert self.conn is not None
        from ulid import ULID

        from bench.loadgen import INVOICE_COLUMNS

        count = self.cfg["background"]
        ledger = self.main
        body = self.invoice_body(ledger) | {
            "number": "T-background",
            "due_date": (self.today + dt.timedelta(days=3650)).isoformat(),
        }
        made = await self.api.call("POST", "/v1/invoices", ledger["key"], body)
        template = await self.row(made["id"])
        if template["next_action_at"] is None or template["next_action_at"] <= self.as_of:
            raise RuntimeError(f"background template is not 'open, not due': {template}")
        started = time.perf_counter()
        stem = f"inv_{str(ULID())[:14]}"
        chunk = 50_000
        for start in range(0, count, chunk):
            records = []
            for i in range(start, min(count, start + chunk)):
                row = template | {"id": f"{stem}{i:012d}", "number": f"S-{i:09d}"}
                records.append(tuple(row[c] for c in INVOICE_COLUMNS))
            await self.conn.copy_records_to_table(
                "invoices", records=records, columns=INVOICE_COLUMNS
            )
            self.background_ids.extend(r[0] for r in records[:: max(1, count // 20_000)])
        await self.conn.execute("VACUUM ANALYZE invoices")
        seconds = time.perf_counter() - started
        log(f"seeded {count:,} open, not due invoices in {seconds:.1f}s")
        self.details["seed_seconds"] = seconds

    async def on_server(
        self, spec: dict[str, Any], per_s_key: str = "per_s", server: Server | None = None
    ) -> dict[str, Any]:
        """A load generator run against the service (or `server`), with its CPU use meanwhile:
        the CPU per request holds even when other work on the machine slows the run down."""
        server = server or self.server
        assert server is not None
        cpu, wall = server.cpu_seconds(), time.perf_counter()
        result = await loadgen(spec)
        cpu, wall = server.cpu_seconds() - cpu, time.perf_counter() - wall
        result["server_cpu_util"] = round(cpu / wall, 3)
        if result.get(per_s_key):
            result["server_cpu_ms_per_item"] = round(cpu / wall / result[per_s_key] * 1000, 3)
        return result

    async def alternately(
        self,
        runs: dict[str, Callable[[int], Awaitable[dict[str, Any]]]],
        figures: tuple[str, ...] = ("per_s", "p99_ms"),
    ) -> dict[str, dict[str, Any]]:
        """Each run ROUNDS times in turn, the order reversed every other round (a, b, b, a):
        a drift of the machine (the checkpoint after the seeding, another process) weighs on
        every side alike, where one run each in a row gave it all to the first, and a, b, a, b
        still gave the first side the earlier slot of each pair (the webhook runs slowed from
        the first to the last: 871, 710, 633, 633 deliveries/s, a dead-endpoint ratio of 0.89
        for the same CPU per delivery, 1.28 and 1.25 ms). Each side's `figures` are the
        medians of its rounds (kept in `rounds`), its errors their sum, its other fields the
        last round's; `run(n)` is told its round."""
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
        for n in range(ROUNDS):
            for name, run in runs.items() if n % 2 == 0 else reversed(runs.items()):
                results[name].append(await run(n))
        merged = {}
        for name, rounds in results.items():
            kept = [f for f in figures if f in rounds[0]]
            merged[name] = rounds[-1] | {f: statistics.median(r[f] for r in rounds) for f in kept}
            merged[name]["rounds"] = [{f: r[f] for f in kept} for r in rounds]
            if "errors" in rounds[0]:
                merged[name]["errors"] = sum(r["errors"] for r in rounds)
                merged[name]["error_samples"] = [e for r in rounds for e in r["error_samples"]]
        return merged

    async def api_create(self) -> None:
        assert self.server is not None
        assert self.api is not None
        ledger = self.main
        body = self.invoice_body(ledger)
        made = await self.api.call("POST", "/v1/invoices", ledger["key"], body | {"number": "T-0"})
        template = await self.row(made["id"])
        common = {
            "concurrency": CONCURRENCY,
            "warmup": self.cfg["warmup_s"],
            "duration": self.cfg["http_s"],
        }
        raw = await loadgen(
            common
            | {
                "mode": "raw_insert",
                "dsn": self.db_url,
                "template": template,
                "prefix": "R-",
                "duration": self.cfg["http_s"] / 2,
            }
        )
        bare_server = await start_bare(self.db_url, ledger["tenant_id"])
        service = self.server

        def create_on(server: Server, prefix: str, key: str) -> Any:
            spec = common | {"mode": "http_create", "base_url": server.base_url, "body": body}
            return lambda n: self.on_server(
                spec | {"api_key": key, "prefix": f"{prefix}{n}-"}, server=server
            )

        try:
            sides = await self.alternately(
                {
                    "api": create_on(service, "A", ledger["key"]),
                    "bare": create_on(bare_server, "B", "none"),
                }
            )
        finally:
            await bare_server.stop()
        api, bare = sides["api"], sides["bare"]
        self.details["api_create"], self.details["raw_insert"] = api, raw
        self.details["bare_create"] = bare
        if api["errors"] or bare["errors"]:
            raise RuntimeError(f"create errors: {api['error_samples']} {bare['error_samples']}")
        self.figures["api_create_vs_bare_ratio"] = round(api["per_s"] / bare["per_s"], 3)
        self.figures["api_create_p99_vs_bare_ratio"] = round(api["p99_ms"] / bare["p99_ms"], 2)
        self.baselines["api_create_vs_bare_ratio"] = (
            f"bare FastAPI + asyncpg INSERT {bare['per_s']:.0f}/s (bench/bare.py)"
        )
        self.baselines["api_create_p99_vs_bare_ratio"] = f"bare p99 {bare['p99_ms']:.1f} ms"
        self.figures["api_create_per_s"] = round(api["per_s"], 1)
        self.figures["api_create_p99_ms"] = round(api["p99_ms"], 1)
        self.figures["api_create_vs_raw_ratio"] = round(api["per_s"] / raw["per_s"], 3)
        self.baselines["api_create_per_s"] = f"raw INSERT {raw['per_s']:.0f}/s"
        self.baselines["api_create_p99_ms"] = f"raw INSERT p99 {raw['p99_ms']:.1f} ms"
        self.baselines["api_create_vs_raw_ratio"] = f"asyncpg, {CONCURRENCY} connections"

    async def api_get(self) -> None:
        assert self.server is not None
        if not self.background_ids:
            raise RuntimeError("no background invoices to read (the sweep phase failed)")
        ids = self.background_ids
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(ids, f)
        common = {
            "concurrency": CONCURRENCY,
            "warmup": self.cfg["warmup_s"],
            "duration": self.cfg["http_s"],
            "ids_file": f.name,
        }
        try:
            raw = await loadgen(
                common | {"mode": "raw_get", "dsn": self.db_url, "duration": self.cfg["http_s"] / 2}
            )
            bare_server = await start_bare(self.db_url, self.main["tenant_id"])
            service = self.server

            def get_on(server: Server, key: str) -> Any:
                spec = common | {"mode": "http_get", "base_url": server.base_url, "api_key": key}
                return lambda _: self.on_server(spec, server=server)

            try:
                sides = await self.alternately(
                    {"api": get_on(service, self.main["key"]), "bare": get_on(bare_server, "none")}
                )
            finally:
                await bare_server.stop()
            api, bare = sides["api"], sides["bare"]
        finally:
            os.unlink(f.name)
        self.details["api_get"], self.details["raw_get"] = api, raw
        self.details["bare_get"] = bare
        if api["errors"] or bare["errors"]:
            raise RuntimeError(f"get errors: {api['error_samples']} {bare['error_samples']}")
        self.figures["api_get_vs_bare_ratio"] = round(api["per_s"] / bare["per_s"], 3)
        self.figures["api_get_p99_vs_bare_ratio"] = round(api["p99_ms"] / bare["p99_ms"], 2)
        self.baselines["api_get_vs_bare_ratio"] = (
            f"bare FastAPI + asyncpg SELECT {bare['per_s']:.0f}/s (bench/bare.py)"
        )
        self.baselines["api_get_p99_vs_bare_ratio"] = f"bare p99 {bare['p99_ms']:.1f} ms"
        self.figures["api_get_p99_ms"] = round(api["p99_ms"], 1)
        self.baselines["api_get_p99_ms"] = (
            f"raw SELECT p99 {raw['p99_ms']:.1f} ms; API {api['per_s']:.0f}/s vs raw "
            f"{raw['per_s']:.0f}/s"
        )

    async def batch(self) -> None:
        assert self.server is not None
        assert self.conn is not None
        item = self.invoice_body(self.main)
        common = {
            "batches": self.cfg["batches"],
            "batch_size": BATCH_SIZE,
            "concurrency": BATCH_CONCURRENCY,
        }
        batches = common | {"mode": "http_batch", "base_url": self.server.base_url, "item": item}
        conn = self.conn

        async def copy(n: int) -> dict[str, Any]:
            # COPY writes what the API wrote: the row of the first round's warm-up invoice (the
            # API's round comes first in each turn).
            made = await conn.fetchval(
                "SELECT id FROM invoices WHERE creditor_id = $1 AND number = 'B0-warm-0'",
                self.main["creditor_id"],
            )
            spec = common | {"mode": "raw_copy", "dsn": self.db_url, "prefix": f"C{n}-"}
            return await loadgen(spec | {"template": await self.row(made)})

        sides = await self.alternately(
            {
                "api": lambda n: self.on_server(
                    batches | {"api_key": self.main["key"], "prefix": f"B{n}-"},
                    per_s_key="rows_per_s",
                ),
                "copy": copy,
            },
            figures=("rows_per_s",),
        )
        api, raw = sides["api"], sides["copy"]
        self.details["batch"], self.details["copy"] = api, raw
        if api["errors"]:
            raise RuntimeError(f"batch errors: {api['error_samples']}")
        self.figures["batch_rows_per_s"] = round(api["rows_per_s"], 1)
        self.figures["batch_vs_copy_ratio"] = round(api["rows_per_s"] / raw["rows_per_s"], 3)
        self.baselines["batch_rows_per_s"] = f"COPY {raw['rows_per_s']:.0f} rows/s"
        self.baselines["batch_vs_copy_ratio"] = (
            f"{self.cfg['batches']} x {BATCH_SIZE} rows, {BATCH_CONCURRENCY} at a time"
        )

    async def hook_scenario(
        self,
        name: str,
        receiver: dict[str, int],
        *,
        dead: bool,
        invoices: int,
        profile: Path | None = None,
    ) -> dict[str, Any]:
        """A tenant with a live endpoint (and a dead one), `hook_invoices` due invoices swept by
        the library (so the service does not deliver them itself), then the delivery worker
        until every delivery to the live endpoint succeeded."""
        assert self.api is not None
        assert self.conn is not None
        import app.models  # noqa: F401 - every table, for the ORM's flush order
        from app.core.clock import Clock, FixedInstant
        from app.core.db import create_engine, make_sessionmaker
        from app.escalation.tasks import sweep

        ledger = await self.api.ledger(name)
        live = await self.api.call(
            "POST",
            "/v1/webhook-endpoints",
            ledger["key"],
            {"url": f"http://127.0.0.1:{receiver['live']}/hook", "event_types": ["*"]},
        )
        dead_endpoint = None
        if dead:
            dead_endpoint = await self.api.call(
                "POST",
                "/v1/webhook-endpoints",
                ledger["key"],
                {"url": f"http://127.0.0.1:{receiver['dead']}/hook", "event_types": ["*"]},
            )
        await self.api.due_invoices(ledger, invoices, f"H{name}-")
        engine = create_engine(self.db_url, pool_size=2)
        try:
            stats = await sweep(make_sessionmaker(engine), FixedInstant(Clock(PARIS), self.as_of))
        finally:
            await engine.dispose()
        target = await self.conn.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'",
            live["id"],
        )
        if not target:
            raise RuntimeError(f"no deliveries queued for {name} (sweep: {stats})")
        await self.conn.execute("VACUUM ANALYZE webhook_deliveries")
        spec = {
            "mode": "deliver",
            "dsn": self.db_url,
            "endpoint_id": live["id"],
            "target": target,
            "timeout": 120,
            "profile": str(profile) if profile else None,
            "profile_interval": 0.002,
        }
        # One delivery worker per service process (BENCH_WORKERS), as each runs its scheduler;
        # each stops when the endpoint has `target` successes, whoever sent them.
        workers = 1 if profile else WORKERS
        results = await asyncio.gather(*(loadgen(spec) for _ in range(workers)))
        result = results[0]
        if workers > 1:
            seconds = max(r["seconds"] for r in results)
            result = {
                "delivered": max(r["delivered"] for r in results),
                "target": target,
                "seconds": seconds,
                "per_s": max(r["delivered"] for r in results) / seconds,
                "timed_out": any(r["timed_out"] for r in results),
                "progress": result["progress"],
                "worker_processes": workers,
                # Each worker's CPU over all the deliveries (each counts every success): summed.
                "cpu_ms_per_delivery": sum(r["cpu_ms_per_delivery"] for r in results),
                "cpu_share": sum(r["cpu_share"] for r in results),
            }
        if dead_endpoint is not None:
            # Deleting it cancels its pending deliveries: later sweeps must not wait on them.
            response = await self.api.client.delete(
                f"/v1/webhook-endpoints/{dead_endpoint['id']}",
                headers={"Authorization": f"Bearer {ledger['key']}"},
            )
            if response.status_code >= 300:
                raise RuntimeError(f"deleting the dead endpoint: {response.text}")
        if result["timed_out"]:
            raise RuntimeError(f"deliveries {name} timed out: {result}")
        result["events"] = stats.events
        log(f"webhooks {name}: {result['delivered']} in {result['seconds']:.2f}s")
        return result

    def receiver(self) -> Any:
        return receiver()

    async def webhooks(self) -> None:
        count = self.cfg["hook_invoices"]
        async with self.receiver() as receiver:
            sides = await self.alternately(
                {
                    "alone": lambda n: self.hook_scenario(
                        f"Hooks{n}", receiver, dead=False, invoices=count
                    ),
                    "with_dead": lambda n: self.hook_scenario(
                        f"HooksDead{n}", receiver, dead=True, invoices=count
                    ),
                },
                figures=("per_s",),
            )
            alone, with_dead = sides["alone"], sides["with_dead"]
            bare = await loadgen(
                {
                    "mode": "bare_post",
                    "url": f"http://127.0.0.1:{receiver['live']}/hook",
                    "count": alone["delivered"],
                    "concurrency": PER_ENDPOINT_CONCURRENCY,
                }
            )
        self.details["webhooks_alone"], self.details["webhooks_with_dead"] = alone, with_dead
        self.details["webhooks_bare_httpx"] = bare
        self.figures["webhook_deliveries_per_s"] = round(alone["per_s"], 1)
        self.figures["webhook_dead_endpoint_ratio"] = round(with_dead["per_s"] / alone["per_s"], 3)
        self.baselines["webhook_deliveries_per_s"] = (
            f"{alone['delivered']} deliveries, one endpoint "
            f"({WORKERS} x Dispatcher, as the scheduler tick); bare httpx POST loop to the same "
            f"receiver, {PER_ENDPOINT_CONCURRENCY} at a time: {bare['per_s']:.0f}/s"
        )
        self.baselines["webhook_dead_endpoint_ratio"] = (
            f"{with_dead['per_s']:.0f}/s with a dead endpoint also subscribed"
        )

    # profiles

    async def reports(self) -> None:
        """Each report over the tenant that holds the large set (one creditor, every background
        invoice open), as an operator would call it: median of 3 calls, in milliseconds. Not a
        goal of the issue's list: recorded in `details.reports_ms`."""
        assert self.api is not None
        key, creditor = self.main["key"], self.main["creditor_id"]
        today = self.today.isoformat()
        paths = {
            "aged_balance": f"/v1/reports/aged-balance?creditor_id={creditor}",
            "aged_balance_csv": f"/v1/reports/aged-balance?creditor_id={creditor}&format=csv",
            "dso": f"/v1/reports/dso?creditor_id={creditor}&days=90",
            "payment_terms": f"/v1/reports/payment-terms?creditor_id={creditor}"
            f"&fiscal_year_end={today}",
            "recovery": "/v1/reports/recovery",
        }
        timings: dict[str, float] = {}
        for name, path in paths.items():
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                response = await self.api.client.get(
                    path, headers={"Authorization": f"Bearer {key}"}
                )
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            timings[name] = round(statistics.median(samples), 1)
        self.details["reports_ms"] = timings | {"invoices": self.cfg["background"]}
        log(f"reports over {self.cfg['background']:,} invoices (median ms): {timings}")

    async def profiled(self, name: str, work: Any) -> None:
        """Run `work(server)` against a second service started under pyinstrument; write the
        profile as text and HTML to bench/results/profile_<name>.*"""
        session = RESULTS / f"profile_{name}.pyisession"
        server = await start_server(self.db_url, f"server_profile_{name}", profile=session)
        try:
            await work(server)
        finally:
            await server.stop(signal.SIGINT, grace=120)
        for renderer, suffix, options in (
            ("text", "txt", ["--no-color", "--no-unicode"]),
            ("html", "html", []),
        ):
            out = RESULTS / f"profile_{name}.{suffix}"
            render = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "pyinstrument", f"--load={session}", "-r", renderer],
                *[*options, "-o", str(out)],
                cwd=ROOT,
            )
            if await render.wait():
                raise RuntimeError(f"pyinstrument could not render {session}")
        session.unlink(missing_ok=True)
        log(f"profile written: bench/results/profile_{name}.txt (and .html)")

    async def profiles(self) -> None:
        """pyinstrument on the paths furthest from their goals (see bench/README.md)."""
        seconds = self.cfg["profile_s"]

        async def create(server: Server) -> None:
            await loadgen(
                {
                    "mode": "http_create",
                    "base_url": server.base_url,
                    "api_key": self.main["key"],
                    "body": self.invoice_body(self.main),
                    "prefix": "PA-",
                    "concurrency": CONCURRENCY,
                    "warmup": 0.5,
                    "duration": seconds,
                }
            )

        async def batch(server: Server) -> None:
            await loadgen(
                {
                    "mode": "http_batch",
                    "base_url": server.base_url,
                    "api_key": self.main["key"],
                    "item": self.invoice_body(self.main),
                    "prefix": "PB-",
                    "batches": 4,
                    "batch_size": BATCH_SIZE,
                    "concurrency": BATCH_CONCURRENCY,
                }
            )

        async def sweep(server: Server) -> None:
            api = Api(server.base_url)
            try:
                ledger = await api.ledger("Profile")
                await api.due_invoices(ledger, self.cfg["due"], "P-")
                seconds, result = await api.sweep(self.as_of)
                self.details["profile_sweep"] = {"seconds": seconds, "result": result}
            finally:
                await api.close()

        for name, work in (("api_create", create), ("batch", batch), ("sweep", sweep)):
            if self.profiling(name):
                await self.profiled(name, work)

    async def profile_webhooks(self) -> None:
        """In the delivery worker's own process (pyinstrument's API, see bench/loadgen.py)."""
        async with self.receiver() as receiver:
            await self.hook_scenario(
                "HooksProfile",
                receiver,
                dead=False,
                invoices=max(200, self.cfg["hook_invoices"] // 2),
                profile=RESULTS / "profile_webhooks",
            )
        log("profile written: bench/results/profile_webhooks.txt (and .html)")


# --- report ---------------------------------------------------------------------------------------


def verdict(key: str, value: float | None) -> tuple[str, str]:
    if key not in GOALS:
        return "-", "-"
    op, goal = GOALS[key]
    if value is None:
        return f"{op} {goal:g}", "n/a"
    ok = value <= goal if op == "<=" else value >= goal
    return f"{op} {goal:g}", "pass" if ok else "MISS"


def table(figures: dict[str, float | None], baselines: dict[str, str]) -> str:
    rows = [("figure", "value", "goal", "baseline (same run)", "")]
    for key in KEYS:
        value = figures.get(key)
        goal, status = verdict(key, value)
        rows.append(
            (key, "n/a" if value is None else f"{value:g}", goal, baselines.get(key, ""), status)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def host() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        # Other work on the machine skews every figure: the 1/5/15-minute load averages.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


async def machine(db_url: str, db_kind: str, scale: str) -> dict[str, Any]:
    conn = await asyncpg.connect(db_url)
    try:
        pg = await conn.fetchval("SHOW server_version")
        pg_full = await conn.fetchval("SELECT version()")
    finally:
        await conn.close()
    return {
        **host(),
        "postgres": pg,
        "postgres_full": pg_full,
        "database": db_kind,
        "scale": scale,
        "service_workers": WORKERS,
    }


def main() -> int:
    scale = os.environ.get("BENCH_SCALE", "full")
    if scale not in SCALES:
        print(f"BENCH_SCALE must be one of {', '.join(SCALES)}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    if scale == "month-end":
        return month_end_main()
    started_at = dt.datetime.now(dt.UTC)
    log(f"scale {scale}: {SCALES[scale]}, service workers {WORKERS}")
    host_before = host()
    with database_server() as (server_url, kind):
        name = f"relance_bench_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(admin_sql(server_url, f'CREATE DATABASE "{name}"'))
        db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        log(f"fresh database {name} on {kind}")
        bench = Bench(db_url, scale)
        try:
            asyncio.run(bench.run())
            info = asyncio.run(machine(db_url, kind, scale))
        finally:
            asyncio.run(admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report = {
        **bench.figures,
        "only": os.environ.get("BENCH_ONLY") or None,
        "goals": {k: f"{op} {goal:g}" for k, (op, goal) in GOALS.items()},
        "passed": {k: verdict(k, bench.figures[k])[1] for k in GOALS},
        "baselines": bench.baselines,
        "machine": info | {"loadavg_before": host_before["loadavg"]},
        "timestamp": started_at.isoformat(),
        "duration_s": round(time.perf_counter() - T0, 1),
        "details": bench.details,
        "errors": bench.errors,
    }
    text = json.dumps(report, indent=2, default=json_default)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    # A single-figure run (BENCH_ONLY) never replaces the complete latest.json.
    name = f"only-{stamp}.json" if os.environ.get("BENCH_ONLY") else "latest.json"
    (RESULTS / name).write_text(text + "\n")
    shutil.copyfile(RESULTS / name, RESULTS / f"{scale}-{stamp}.json")
    print()
    print(
        f"Relance benchmark, scale {scale} ({info['cores']} cores, {info['cpu']}, "
        f"PostgreSQL {info['postgres']}, Python {info['python']})"
    )
    print(table(bench.figures, bench.baselines))
    print(f"\nwrote bench/results/{name} in {report['duration_s']:.0f}s")
    if bench.errors:
        print(f"phases that failed: {', '.join(bench.errors)} (see 'errors' in the JSON)")
        return 1
    return 0


def month_end_main() -> int:
    """BENCH_SCALE=month-end: bench/month_end.py, figures in bench/results/month-end-*.json."""
    from bench.month_end import month_end

    started_at = dt.datetime.now(dt.UTC)
    host_before = host()
    with database_server() as (server_url, kind):
        name = f"relance_bench_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(admin_sql(server_url, f'CREATE DATABASE "{name}"'))
        db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        log(f"month-end: fresh database {name} on {kind}")
        try:
            figures = asyncio.run(month_end(db_url, receiver))
            info = asyncio.run(machine(db_url, kind, "month-end"))
        finally:
            asyncio.run(admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report = {
        **figures,
        "machine": info | {"loadavg_before": host_before["loadavg"]},
        "timestamp": started_at.isoformat(),
        "duration_s": round(time.perf_counter() - T0, 1),
    }
    text = json.dumps(report, indent=2, default=json_default)
    path = RESULTS / f"month-end-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(text + "\n")
    print(text)
    print(f"\nwrote {path.relative_to(ROOT)} in {report['duration_s']:.0f}s")
    timed_out = [k for k, v in figures.items() if isinstance(v, dict) and v.get("timed_out")]
    return 1 if timed_out else 0


if __name__ == "__main__":
    raise SystemExit(main())
