"""Partitioned history: the migration partitions in place a database holding data, new rows land
in their month's partition, housekeeping creates the months ahead and drops expired months
whole (but not one with a pending delivery), occurrences stay exactly-once throughout."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from ulid import ULID

from app import main as tasks
from app.core.clock import FrozenClock
from app.core.db import create_engine
from app.core.migrate import alembic_config
from app.outbox.events.service import emit
from app.outbox.partitions import (
    Month,
    analyze_stale_tables,
    ensure_partitions,
    id_floor,
    month_floor,
    partition_name,
)
from app.outbox.webhooks import repository
from tests.db import _admin
from tests.factories import create_creditor, create_debtor

AUGUST = dt.datetime(2026, 8, 14, 10, 0, tzinfo=dt.UTC)


def old_id(prefix: str, instant: dt.datetime) -> str:
    """An id made at `instant` (ids carry the real time they were made)."""
    return f"{prefix}_{ULID.from_timestamp(instant.timestamp())}"


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def _at(url: str, revision: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_upgrade, revision)
            await conn.commit()
    finally:
        await engine.dispose()


_SEED = """
INSERT INTO tenants (id, name) VALUES ('ten_1', 'Acme');
INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, enabled, secret)
VALUES ('whe_1', 'ten_1', 'https://example.com/h', '["*"]', true, 'whsec_x');
INSERT INTO events (id, tenant_id, invoice_id, occurrence, type, occurred_on, data, created_at)
VALUES (:evt_old, 'ten_1', 'inv_1', 'step:R1', 'invoice.reminder_due', '2026-08-14', '{"n": 1}',
        '2026-08-14T10:00:00Z'),
       (:evt_new, 'ten_1', 'inv_1', 'paid', 'invoice.paid', NULL, '{"n": 2}', now()),
       ('evt_not_a_ulid', 'ten_1', NULL, 'test', 'invoice.paid', NULL, '{}', now());
INSERT INTO webhook_deliveries (id, tenant_id, event_id, endpoint_id, status, attempts)
VALUES (:whd_old, 'ten_1', :evt_old, 'whe_1', 'succeeded', 1),
       (:whd_new, 'ten_1', :evt_new, 'whe_1', 'pending', 0);
INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, duration_ms)
VALUES (:wha_old, :whd_old, '2026-08-14T10:00:01Z', 200, 5);
"""


async def test_the_migration_partitions_a_database_holding_data(database_url):
    name = f"relance_partition_{secrets.token_hex(3)}"
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    await _admin(database_url, f'CREATE DATABASE "{name}"')
    now = dt.datetime.now(dt.UTC)
    ids = {
        "evt_old": old_id("evt", AUGUST),
        # As insert_deliveries makes them: a ULID and a row number.
        "whd_old": old_id("whd", AUGUST) + "00000001",
        "wha_old": old_id("wha", AUGUST),
        "evt_new": old_id("evt", now),
        "whd_new": old_id("whd", now),
    }
    engine = create_engine(url, pool_size=1)
    try:
        await _at(url, "0014")
        async with engine.begin() as conn:
            for statement in _SEED.split(";\n"):
                if statement.strip():
                    await conn.execute(text(statement), ids)
        await _at(url, "head")
        async with engine.connect() as conn:
            where: dict[str, str] = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT id, tableoid::regclass::text FROM events UNION ALL "
                            "SELECT id, tableoid::regclass::text FROM webhook_deliveries UNION ALL "
                            "SELECT id, tableoid::regclass::text FROM webhook_attempts"
                        )
                    )
                ).all()
            )
            kinds: dict[str, str] = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT relname, relkind::text FROM pg_class WHERE relname IN "
                            "('events', 'webhook_deliveries', 'webhook_attempts', 'events_old')"
                        )
                    )
                ).all()
            )
            keys = (
                await conn.execute(
                    text("SELECT invoice_id, occurrence, event_id FROM event_keys ORDER BY 2")
                )
            ).all()
            attempt_tenant = (
                await conn.execute(text("SELECT tenant_id FROM webhook_attempts"))
            ).scalar_one()
            pending = (
                await conn.execute(
                    text("SELECT status FROM webhook_deliveries WHERE id = :i"),
                    {"i": ids["whd_new"]},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
        await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # Every row moved, each into its own month's partition; odd ids into the default one.
    this_month = Month.of(now)
    assert where == {
        ids["evt_old"]: "events_p2026_08",
        ids["whd_old"]: "webhook_deliveries_p2026_08",
        ids["wha_old"]: "webhook_attempts_p2026_08",
        ids["evt_new"]: partition_name("events", this_month),
        ids["whd_new"]: partition_name("webhook_deliveries", this_month),
        "evt_not_a_ulid": "events_default",
    }
    assert kinds == {"events": "p", "webhook_deliveries": "p", "webhook_attempts": "p"}
    # The exactly-once keys of the invoice's events came along; the invoice-less one has none.
    assert keys == [("inv_1", "paid", ids["evt_new"]), ("inv_1", "step:R1", ids["evt_old"])]
    assert attempt_tenant == "ten_1"
    assert pending == "pending"


async def test_occurrences_stay_exactly_once_and_land_in_this_months_partition(app, tenant, clock):
    async def emit_paid():
        async with app.state.sessionmaker() as session:
            made = await emit(
                session,
                tenant_id=tenant.id,
                invoice_id="inv_1",
                occurrence="paid",
                type="invoice.paid",
                data={},
                now=clock.now(),
            )
            await session.commit()
        return made

    first = await emit_paid()
    assert first is not None
    assert await emit_paid() is None
    async with app.state.engine.connect() as conn:
        home = (
            await conn.execute(
                text("SELECT tableoid::regclass::text FROM events WHERE id = :i"), {"i": first}
            )
        ).scalar_one()
        # Even with the event's partition gone, the key keeps the occurrence from coming back.
        await conn.execute(text("DELETE FROM events"))
        await conn.commit()
    assert home == partition_name("events", Month.of(dt.datetime.now(dt.UTC)))
    assert await emit_paid() is None


async def _partitions(app) -> set[str]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'events'::regclass"
            )
        )
        return set(rows.scalars())


async def _seed_month(app, tenant_id, endpoint_id, instant, status) -> dict[str, str]:
    """An event of `instant`'s month with one delivery (`status`) and one attempt."""
    ids = {p: old_id(p, instant) for p in ("evt", "whd", "wha")}
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO events (id, tenant_id, invoice_id, occurrence, type, data, created_at)"
                " VALUES (:evt, :t, 'inv_1', :evt, 'invoice.paid', '{}', :at);"
            ),
            {**ids, "t": tenant_id, "at": instant},
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_deliveries (id, tenant_id, event_id, endpoint_id, status,"
                " attempts, next_attempt_at) VALUES (:whd, :t, :evt, :e, :s, 0, :at)"
            ),
            {**ids, "t": tenant_id, "e": endpoint_id, "s": status, "at": instant},
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_attempts (id, delivery_id, tenant_id, attempted_at,"
                " duration_ms) VALUES (:wha, :whd, :t, :at, 1)"
            ),
            {**ids, "t": tenant_id, "at": instant},
        )
    return ids


async def _housekeep(app, settings, now):
    return await tasks.housekeeping(
        engine=app.state.engine,
        sessionmaker=app.state.sessionmaker,
        clock=FrozenClock(now),
        settings=settings,
    )


async def test_housekeeping_creates_months_ahead_and_drops_expired_months_whole(
    app, client, tenant, settings
):
    endpoint = await _endpoint(app, client, tenant, settings)
    # Months from a year back: as if the service had been running since then.
    await ensure_partitions(app.state.engine, dt.datetime(2025, 11, 1, tzinfo=dt.UTC), 4)
    done = await _seed_month(
        app, tenant.id, endpoint, dt.datetime(2025, 11, 20, tzinfo=dt.UTC), "succeeded"
    )
    held = await _seed_month(
        app, tenant.id, endpoint, dt.datetime(2025, 12, 20, tzinfo=dt.UTC), "pending"
    )
    recent = await _seed_month(
        app, tenant.id, endpoint, dt.datetime(2026, 2, 20, tzinfo=dt.UTC), "succeeded"
    )

    stats = await _housekeep(app, settings, dt.datetime(2026, 3, 2, tzinfo=dt.UTC))

    names = await _partitions(app)
    # November went whole; December is held by its pending delivery; February is in retention.
    assert "events_p2025_11" not in names
    assert {"events_p2025_12", "events_p2026_02"} <= names
    assert stats.history_months == 1
    async with app.state.engine.connect() as conn:
        left = set(
            (
                await conn.execute(
                    text(
                        "SELECT id FROM events UNION ALL SELECT id FROM webhook_deliveries "
                        "UNION ALL SELECT id FROM webhook_attempts"
                    )
                )
            ).scalars()
        )
        detached = (
            await conn.execute(text("SELECT to_regclass('webhook_attempts_p2025_11')"))
        ).scalar()
    assert left == set(held.values()) | set(recent.values())
    assert not left & set(done.values())
    assert detached is None  # dropped, not only detached

    # Once the delivery is no longer pending, its month goes at the next housekeeping.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("UPDATE webhook_deliveries SET status = 'failed'"))
    stats = await _housekeep(app, settings, dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    assert stats.history_months >= 1
    assert "events_p2025_12" not in await _partitions(app)


async def _endpoint(app, client, tenant, settings) -> str:
    app.state.settings = settings.model_copy(update={"webhook_allow_private_urls": True})
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers
    )
    return response.json()["id"]


async def test_housekeeping_creates_the_months_ahead(app, settings):
    keep_all = settings.model_copy(update={"event_retention_days": 100_000})
    await _housekeep(app, keep_all, dt.datetime(2031, 5, 31, tzinfo=dt.UTC))
    names = await _partitions(app)
    assert {"events_p2031_05", "events_p2031_08"} <= names
    assert "events_p2031_09" not in names
    async with app.state.engine.connect() as conn:
        others = (
            await conn.execute(
                text(
                    "SELECT to_regclass('webhook_deliveries_p2031_08') IS NOT NULL"
                    " AND to_regclass('webhook_attempts_p2031_08') IS NOT NULL"
                )
            )
        ).scalar()
    assert others


def test_the_claim_floor_is_the_month_of_the_oldest_pending_delivery():
    now = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    oldest = old_id("whd", AUGUST) + "00000001"
    assert month_floor("whd", oldest, now) == id_floor("whd", Month(2026, 8).start())
    assert month_floor("whd", None, now) == id_floor("whd", Month(2026, 12).start())
    assert month_floor("whd", "whd_not_a_ulid", now) == ""  # no bound at all
    assert month_floor("whd", oldest, now) <= oldest


def test_month_bounds_are_ulid_ranges():
    month = Month(2026, 12)
    assert month.next() == Month(2027, 1)
    low, high = id_floor("evt", month.start()), id_floor("evt", month.end())
    inside = old_id("evt", dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    assert low < inside < high
    assert id_floor("evt", dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)) < low


async def test_a_pending_delivery_in_an_old_month_is_still_claimed(app, client, tenant, settings):
    endpoint = await _endpoint(app, client, tenant, settings)
    await ensure_partitions(app.state.engine, AUGUST, 0)
    seeded = await _seed_month(app, tenant.id, endpoint, AUGUST, "pending")
    repository._floors.clear()  # as a process starting now: the floor goes back to August
    async with app.state.engine.connect() as conn:
        floor = await repository.claim_floor(conn)
        claimed = await repository.claim_due(
            conn, now=dt.datetime.now(dt.UTC), limit=10, per_endpoint=8
        )
        await conn.rollback()
    assert floor == id_floor("whd", Month(2026, 8).start())
    assert [c.delivery_id for c in claimed] == [seeded["whd"]]


async def _analyzed_once_reported(engine: AsyncEngine, name: str, *, rows: int) -> list[str]:
    """`analyze_stale_tables` until it analyzes `name`: a backend reports its writes to the
    statistics within about a second. What the last call analyzed."""
    done: list[str] = []
    for _ in range(40):
        done = await analyze_stale_tables(engine, rows=rows)
        if name in done:
            break
        await asyncio.sleep(0.1)
    return done


async def test_a_burst_of_history_is_analyzed_at_once_not_when_autovacuum_gets_to_it(app, tenant):
    """Month-end: the deliveries claim planned on stale statistics sorted a whole backlog each
    time (bench/README.md); the delivery tick analyzes a partition a burst left behind."""
    engine = app.state.engine
    home = partition_name("events", Month.of(dt.datetime.now(dt.UTC)))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO events (id, tenant_id, invoice_id, occurrence, type, occurred_on, "
                "data) SELECT :prefix || lpad(n::text, 10, '0'), :tenant, 'inv_1', 'o' || n, "
                "'invoice.paid', current_date, '{}' FROM generate_series(1, 2000) n"
            ),
            # Ids in this month's range (a ULID made now, its random part replaced).
            {"prefix": old_id("evt", dt.datetime.now(dt.UTC))[:20], "tenant": tenant.id},
        )

    async def analyzed_at() -> dt.datetime | None:
        async with engine.connect() as conn:
            return await conn.scalar(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :r"),
                {"r": home},
            )

    before = await analyzed_at()
    assert home in await _analyzed_once_reported(engine, home, rows=1000)
    after = await analyzed_at()
    assert after is not None
    assert before is None or after > before
    assert home not in await analyze_stale_tables(engine, rows=1000), "once, not each tick"


async def test_a_burst_of_invoices_is_analyzed_too(app, client, tenant):
    """The ledger's busiest tables: an overdue list planned on a never-analyzed invoices table
    sorted all of them for each page (42 ms instead of 0.3 in a soak, autovacuum off)."""
    creditor = await create_creditor(client, tenant)
    debtor = await create_debtor(client, tenant, creditor["id"])
    rows = [
        {
            "creditor_id": creditor["id"],
            "debtor_id": debtor["id"],
            "number": f"B-{n}",
            "issue_date": "2026-10-01",
            "amount": "10.00",
        }
        for n in range(1000)
    ]
    made = await client.post("/v1/invoices/batch", json={"invoices": rows}, headers=tenant.headers)
    assert made.json()["created"] == 1000, made.text
    engine = app.state.engine
    assert "invoices" in await _analyzed_once_reported(engine, "invoices", rows=500)
    assert "invoices" not in await analyze_stale_tables(engine, rows=500), "once, not each tick"
