"""Month-end at scale (`BENCH_SCALE=month-end make bench`, issue 19 point 5): 1,000,000 open
invoices over 50 tenants, 100,000 of them due the same day, one tenant holding almost all of
them and a small tenant holding 10. The real service (`relance serve --workers N`, its scheduler
on, as in production) sweeps them and delivers their `invoice.overdue` webhooks to the fast
receiver (bench/receiver.py); the bench only watches the database. Run with 1, then 2 service
processes, the due set put back between the two. Figures: the time to sweep and to deliver
everything, when the small tenant's invoices were swept and delivered (its delay during the
burst), the database's size and dead tuples afterwards.

BENCH_MONTH_END_INVOICES and BENCH_MONTH_END_DUE scale it down (e.g. when 1,000,000 does not fit
in the machine's time)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any

import asyncpg

from bench.loadgen import INVOICE_COLUMNS
from bench.run import PARIS, Api, log, start_server

TENANTS = 50
SMALL_DUE = 10
OTHERS_DUE = 20  # each of the 48 other tenants
POLL_S = 0.5
# Per run: what is not done by then is reported as not done (BENCH_MONTH_END_TIMEOUT_S).
TIMEOUT_S = float(os.environ.get("BENCH_MONTH_END_TIMEOUT_S", "330"))


def config() -> dict[str, int]:
    invoices = int(os.environ.get("BENCH_MONTH_END_INVOICES", "1000000"))
    due = int(os.environ.get("BENCH_MONTH_END_DUE", str(invoices // 10)))
    return {"invoices": invoices, "due": due}


class MonthEnd:
    def __init__(self, db_url: str, figures: dict[str, Any]) -> None:
        self.db_url = db_url
        self.cfg = config()
        self.figures = figures
        self.ledgers: list[dict[str, str]] = []
        self.conn: asyncpg.Connection | None = None

    async def run(self, receiver_port: int) -> None:
        self.conn = await asyncpg.connect(self.db_url)
        try:
            server = await start_server(self.db_url, "month-end-setup")
            try:
                await self.set_up(Api(server.base_url), receiver_port)
            finally:
                await server.stop()
            await self.seed()
            for workers in (1, 2):
                if workers > 1:
                    await self.reset()
                self.figures[f"workers_{workers}"] = await self.burst(workers)
            self.figures["database"] = await self.database_stats()
        finally:
            await self.conn.close()

    # set-up ------------------------------------------------------------------------------------

    async def set_up(self, api: Api, receiver_port: int) -> None:
        """50 tenants with a creditor, a debtor, an endpoint on the receiver, and two template
        invoices each (one due today, one due in ten years) that the seed copies."""
        today = dt.datetime.now(PARIS).date()
        try:
            for n in range(TENANTS):
                ledger = await api.ledger(f"MonthEnd{n:02d}")
                await api.call(
                    "POST",
                    "/v1/webhook-endpoints",
                    ledger["key"],
                    {
                        "url": f"http://127.0.0.1:{receiver_port}/hook",
                        "event_types": ["invoice.overdue"],
                    },
                )
                await api.due_invoices(ledger, 1, f"T{n}-due-")
                later = {
                    "creditor_id": ledger["creditor_id"],
                    "debtor_id": ledger["debtor_id"],
                    "number": f"T{n}-later",
                    "issue_date": today.isoformat(),
                    "due_date": (today + dt.timedelta(days=3650)).isoformat(),
                    "amount": "1250.00",
                }
                await api.call("POST", "/v1/invoices", ledger["key"], later)
                self.ledgers.append(ledger)
        finally:
            await api.close()

    def shares(self) -> list[tuple[int, int]]:
        """(due, not due) per tenant: tenant 0 is the big one, tenant 1 the small one."""
        due, total = self.cfg["due"], self.cfg["invoices"]
        others = [OTHERS_DUE] * (TENANTS - 2)
        due_of = [due - SMALL_DUE - sum(others), SMALL_DUE, *others]
        later = (total - due) // TENANTS
        return [(d, later) for d in due_of]

    async def seed(self) -> None:
        """COPY the copies of each tenant's templates, then a snapshot of the due set."""
        assert self.conn is not None
        started = time.perf_counter()
        for n, (due, later) in enumerate(self.shares()):
            tenant_id = self.ledgers[n]["tenant_id"]
            for kind, count in (("due", due), ("later", later)):
                template = await self.conn.fetchrow(
                    f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoices "
                    "WHERE tenant_id = $1 AND number LIKE $2",
                    tenant_id,
                    f"T{n}-{kind}%",
                )
                assert template is not None
                # The template itself counts as one of them.
                await self.copy(dict(template), count - 1, f"M{n}{kind[0]}")
        await self.conn.execute("VACUUM ANALYZE invoices")
        await self.conn.execute(
            "CREATE TABLE bench_due_snapshot AS SELECT id, dunning_stage, last_step, next_step, "
            "next_action_at FROM invoices WHERE status = 'open' AND next_action_at <= now()"
        )
        due = await self.conn.fetchval("SELECT count(*) FROM bench_due_snapshot")
        total = await self.conn.fetchval("SELECT count(*) FROM invoices")
        seconds = time.perf_counter() - started
        log(f"month-end: seeded {total:,} invoices ({due:,} due) in {seconds:.0f}s")
        self.figures["seed"] = {"invoices": total, "due": due, "seconds": round(seconds, 1)}
        self.figures["sweep_claim_plan"] = await self.claim_plan()

    async def claim_plan(self) -> list[str]:
        """EXPLAIN of the sweep's fair claim on the seeded set (per-tenant index probes)."""
        from app.escalation.tasks import _FAIR_CLAIM

        assert self.conn is not None
        sql = _FAIR_CLAIM.text
        for n, name in enumerate((":now", ":limit", ":tenant_id"), start=1):
            sql = sql.replace(name, f"${n}")
        now = dt.datetime.now(dt.UTC)
        return [r[0] for r in await self.conn.fetch(f"EXPLAIN {sql}", now, 500, None)]

    async def copy(self, template: dict[str, Any], count: int, stem: str) -> None:
        assert self.conn is not None
        chunk = 50_000
        for start in range(0, count, chunk):
            records = [
                tuple(
                    (template | {"id": f"inv_{stem}_{i:09d}", "number": f"{stem}-{i:09d}"})[c]
                    for c in INVOICE_COLUMNS
                )
                for i in range(start, min(count, start + chunk))
            ]
            await self.conn.copy_records_to_table(
                "invoices", records=records, columns=INVOICE_COLUMNS
            )

    async def reset(self) -> None:
        """The due set as it was before the burst, the history the burst wrote dropped: its
        events, their exactly-once keys (else the second sweep writes nothing), deliveries and
        attempts. Nothing else wrote history in this database: TRUNCATE, which leaves no dead
        tuples to blur the figures taken afterwards."""
        assert self.conn is not None
        started = time.perf_counter()
        outside = await self.conn.fetchval(
            "SELECT count(*) FROM event_keys WHERE invoice_id NOT IN "
            "(SELECT id FROM bench_due_snapshot)"
        )
        assert outside == 0, f"{outside} events not written by the burst"
        await self.conn.execute(
            "TRUNCATE webhook_attempts, webhook_deliveries, events, event_keys, debtor_event_keys"
        )
        await self.conn.execute(
            """
            UPDATE invoices i SET dunning_stage = s.dunning_stage, last_step = s.last_step,
                next_step = s.next_step, next_action_at = s.next_action_at
            FROM bench_due_snapshot s WHERE i.id = s.id
            """
        )
        for table in ("invoices", "events", "webhook_deliveries", "webhook_attempts"):
            await self.conn.execute(f"VACUUM ANALYZE {table}")
        log(f"month-end: due set put back in {time.perf_counter() - started:.0f}s")

    # the burst ---------------------------------------------------------------------------------

    async def burst(self, workers: int) -> dict[str, Any]:
        """The service with its scheduler on sweeps and delivers everything due; watched from the
        database until nothing is due nor pending (or TIMEOUT_S)."""
        small = self.ledgers[1]["tenant_id"]
        loadavg_before = os.getloadavg()
        server = await start_server(
            self.db_url,
            f"month-end-{workers}",
            env={
                "RELANCE_SCHEDULER_ENABLED": "true",
                "RELANCE_SCHEDULER_INTERVAL_SECONDS": "1",
            },
            workers=workers,
        )
        started = time.perf_counter()
        try:
            marks = await self.watch(started, small)
        finally:
            cpu = server.cpu_seconds()
            await server.stop()
        marks |= {
            "workers": workers,
            "server_cpu_s": round(cpu, 1),
            "loadavg_before": [round(x, 2) for x in loadavg_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
        log(f"month-end, {workers} process(es): {marks}")
        return marks

    async def watch(self, started: float, small: str) -> dict[str, Any]:
        assert self.conn is not None
        marks: dict[str, Any] = {}
        checks = {
            "swept_s": "SELECT count(*) FROM invoices WHERE status = 'open' "
            "AND next_action_at <= now()",
            "delivered_s": "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'",
            "small_swept_s": "SELECT count(*) FROM invoices WHERE tenant_id = $1 "
            "AND status = 'open' AND next_action_at <= now()",
            "small_delivered_s": "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 "
            "AND status = 'pending'",
        }
        while len(marks) < len(checks) and time.perf_counter() - started < TIMEOUT_S:
            await asyncio.sleep(POLL_S)
            for key, sql in checks.items():
                if key in marks:
                    continue
                args = [small] if "$1" in sql else []
                left = await self.conn.fetchval(sql, *args)
                # Deliveries count as done once their sweep is: before, none may exist yet.
                swept_first = {"delivered_s": "swept_s", "small_delivered_s": "small_swept_s"}
                if left == 0 and swept_first.get(key, key) in marks | {key: 0}:
                    marks[key] = round(time.perf_counter() - started, 1)
        marks["timed_out"] = len(marks) < len(checks)
        marks["still_due"] = await self.conn.fetchval(checks["swept_s"])
        marks["succeeded"] = await self.conn.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
        )
        due = self.cfg["due"]
        if "swept_s" in marks:
            marks["swept_per_s"] = round(due / marks["swept_s"], 1)
        if "delivered_s" in marks:
            marks["delivered_per_s"] = round(marks["succeeded"] / marks["delivered_s"], 1)
        return marks

    async def database_stats(self) -> dict[str, Any]:
        assert self.conn is not None
        size = await self.conn.fetchval("SELECT pg_database_size(current_database())")
        # A partitioned table's rows are in its partitions: their figures summed per table.
        rows = await self.conn.fetch(
            """
            SELECT coalesce(p.relname, c.relname) AS relname,
                   sum(s.n_live_tup)::bigint AS n_live_tup,
                   sum(s.n_dead_tup)::bigint AS n_dead_tup,
                   max(s.last_autovacuum) AS last_autovacuum, count(*) AS tables
            FROM pg_stat_user_tables s
            JOIN pg_class c ON c.oid = s.relid
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
            LEFT JOIN pg_class p ON p.oid = i.inhparent
            WHERE coalesce(p.relname, c.relname) IN
                  ('invoices', 'events', 'webhook_deliveries', 'webhook_attempts')
            GROUP BY 1 ORDER BY 1
            """
        )
        return {
            "size_mb": round(size / 1024 / 1024, 1),
            "tables": {r["relname"]: dict(r) for r in rows},
        }


async def month_end(db_url: str, receiver: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {"config": config()}
    async with receiver() as ports:
        await MonthEnd(db_url, figures).run(ports["live"])
    return figures
