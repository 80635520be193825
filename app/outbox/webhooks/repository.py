"""Set-based queries of the webhook outbox: fan-out, claims, cancellations, gauges."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import driver_fetch, on_driver
from app.core.ids import new_id
from app.outbox.events.schemas import EventType
from app.outbox.partitions import PARTITIONED, month_floor
from app.outbox.webhooks.models import WebhookDelivery

# A claimed delivery keeps its lease this long after its last renewal. The worker sending it
# renews it every LEASE_RENEWAL (three chances before it lapses), so a live worker keeps it
# through a 15 s attempt, while a dead worker's rows stop counting against their endpoint's cap
# within LEASE of its death. Another worker takes a lapsed delivery over only TAKEOVER_GRACE
# later: a live worker that could not renew in time (its CPU starved, its pool exhausted) and
# is still sending gets LEASE + TAKEOVER_GRACE before the delivery can be sent twice (the
# two-replica test under a concurrent suite sent 3 in 10,000 twice with 6 s and no grace).
LEASE = dt.timedelta(seconds=6)
LEASE_RENEWAL = dt.timedelta(seconds=2)
TAKEOVER_GRACE = dt.timedelta(seconds=10)

# The pending deliveries of a set of events to their tenants' enabled endpoints that subscribe
# to them: DELIVERY_PAIRS, the CTEs `endpoint` and `pair` (`{events}`: a CTE of the events' id,
# tenant_id, type and created_at), then INSERT_PAIRS, the INSERT from `pair`; in
# `_INSERT_DELIVERIES` and in the statement that writes the events themselves
# (app/outbox/events/service.py). The endpoints are read FOR SHARE, so an endpoint being disabled
# or deleted concurrently waits for this transaction and then cancels what it inserted (or, if
# it committed first, is skipped here): no pending delivery is left behind for a disabled
# endpoint. Ids: one fresh id per statement + a row number, so they stay time-ordered for
# pagination and unique within the statement. `:due_at` (else when the event was created, at the
# latest now) is when they are due. Parameters: `delivery_params`.
DELIVERY_PAIRS = """
    endpoint AS (
        SELECT w.id, w.tenant_id, w.event_types
        FROM webhook_endpoints w
        WHERE w.tenant_id IN (SELECT e.tenant_id FROM {events} e)
          AND w.enabled AND w.deleted_at IS NULL
          AND (CAST(:endpoint_id AS varchar) IS NULL OR w.id = :endpoint_id)
        FOR SHARE
    ), pair AS (
        SELECT e.id AS event_id, e.tenant_id, e.created_at, ep.id AS endpoint_id
        FROM {events} e
        JOIN endpoint ep ON ep.tenant_id = e.tenant_id
        WHERE NOT :subscribed_only OR ep.event_types ? '*' OR ep.event_types ? e.type
    )
"""
INSERT_PAIRS = """
    INSERT INTO webhook_deliveries
        (id, tenant_id, event_id, endpoint_id, status, attempts, next_attempt_at)
    SELECT :id_prefix || lpad(
               CAST(row_number() OVER (ORDER BY event_id, endpoint_id) AS text), 8, '0'),
           tenant_id, event_id, endpoint_id, 'pending', 0,
           COALESCE(CAST(:due_at AS timestamptz), LEAST(created_at, now()))
    FROM pair
"""

_INSERT_DELIVERIES = text(
    f"""
    WITH listed AS MATERIALIZED (
        SELECT id, tenant_id, type, created_at FROM events WHERE id = ANY(:event_ids)
    ), {DELIVERY_PAIRS.format(events="listed")}
    {INSERT_PAIRS}
    RETURNING id
    """  # noqa: S608 - no input in the text
)


def delivery_params(
    *, due_at: dt.datetime | None, endpoint_id: str | None = None, subscribed_only: bool = True
) -> dict[str, Any]:
    """The parameters of DELIVERY_PAIRS and INSERT_PAIRS."""
    return {
        "endpoint_id": endpoint_id,
        "subscribed_only": subscribed_only,
        "id_prefix": new_id("whd"),
        "due_at": due_at,
    }


async def insert_deliveries(
    session: AsyncSession,
    event_ids: Sequence[str],
    *,
    now: dt.datetime | None,
    endpoint_id: str | None = None,
    subscribed_only: bool = True,
) -> list[str]:
    """Pending deliveries (due at `now`, default: when the event was created) of these events
    to their tenant's enabled endpoints; returns the new delivery ids."""
    if not event_ids:
        return []
    params = delivery_params(due_at=now, endpoint_id=endpoint_id, subscribed_only=subscribed_only)
    result = await session.execute(_INSERT_DELIVERIES, {"event_ids": list(event_ids), **params})
    return list(result.scalars())


async def cancel_pending(session: AsyncSession, endpoint_id: str) -> int:
    """Cancel an endpoint's pending deliveries (it was disabled or deleted), locked in id order
    as `_RECORD_SUCCESSES` locks them (no deadlock with a recording in flight)."""
    pending = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.id)
        .with_for_update()
        .cte("pending")
        .prefix_with("MATERIALIZED")
    )
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == pending.c.id)
        .values(status="cancelled", next_attempt_at=None, locked_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class ClaimedDelivery:
    """Everything needed to send one attempt without touching the database again."""

    delivery_id: str
    attempts: int
    endpoint_id: str
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: dt.datetime | None
    event_id: str
    event_type: EventType
    event_created_at: dt.datetime
    event_data: dict[str, Any]


# Walks the endpoints and takes, from each one's own queue, at most its free concurrency
# (per_endpoint minus its deliveries already leased, by any worker): a dead endpoint holding its
# slots for 15 s cannot take the batch, and a backlog on one endpoint never hides another's
# due deliveries. When more is available than the batch holds, it is taken in turns: each
# tenant's first delivery (its endpoints' first ones, round robin), then each one's second...
# so neither a tenant with many endpoints nor its older backlog fills the batch before another
# tenant's first delivery (issue 19, point 4). SKIP LOCKED: concurrent workers take disjoint
# rows; the lease (compared with the database's own clock, shared by all replicas) keeps them
# disjoint after this short transaction commits, while the HTTP requests run. `:tenant_id`
# (else NULL) keeps to one tenant's endpoints: a sandbox tenant's advance delivers its own
# webhooks only. `:floor` (see `claim_floor`) lets the planner skip the months of deliveries
# with nothing pending.
_CLAIM = text(
    """
    WITH available AS (
        SELECT d.id, d.next_attempt_at, e.tenant_id,
               row_number() OVER (PARTITION BY e.id ORDER BY d.next_attempt_at, d.id)
                   AS endpoint_turn
        FROM webhook_endpoints e
        CROSS JOIN LATERAL (
            SELECT x.id, x.next_attempt_at
            FROM webhook_deliveries x
            WHERE x.endpoint_id = e.id
              AND x.status = 'pending'
              AND x.id >= :floor
              AND x.next_attempt_at <= :now
              AND (x.locked_until IS NULL
                   OR x.locked_until <= now() - make_interval(secs => :takeover_grace))
            ORDER BY x.next_attempt_at, x.id
            LIMIT greatest(:per_endpoint - (
                SELECT count(*) FROM webhook_deliveries l
                WHERE l.endpoint_id = e.id AND l.locked_until IS NOT NULL
                  AND l.locked_until > now() AND l.status = 'pending' AND l.id >= :floor
            ), 0)
            FOR UPDATE OF x SKIP LOCKED
        ) d
        WHERE e.enabled AND e.deleted_at IS NULL
          AND (CAST(:tenant_id AS varchar) IS NULL OR e.tenant_id = :tenant_id)
    ), turns AS (
        SELECT id, next_attempt_at,
               row_number() OVER (PARTITION BY tenant_id
                                  ORDER BY endpoint_turn, next_attempt_at, id) AS tenant_turn
        FROM available
    ), picked AS (
        SELECT id FROM turns ORDER BY tenant_turn, next_attempt_at, id LIMIT :limit
    )
    UPDATE webhook_deliveries w
    SET locked_until = now() + make_interval(secs => :lease_seconds), updated_at = now()
    FROM picked, webhook_endpoints e, events ev
    WHERE w.id = picked.id AND e.id = w.endpoint_id AND ev.id = w.event_id AND w.id >= :floor
    RETURNING w.id AS delivery_id, w.attempts, e.id AS endpoint_id, e.url, e.secret,
              e.previous_secret, e.previous_secret_expires_at, ev.id AS event_id,
              ev.type AS event_type, ev.created_at AS event_created_at, ev.data AS event_data
    """
)


async def claim_due(
    conn: AsyncConnection,
    *,
    now: dt.datetime,
    limit: int,
    per_endpoint: int,
    tenant_id: str | None = None,
) -> list[ClaimedDelivery]:
    """Through the driver: a claim per freed slot, and the ORM's execution cost more CPU than
    the statement (bench/README.md, webhooks)."""
    if limit <= 0:
        return []
    params = {
        "now": now,
        "limit": limit,
        "per_endpoint": per_endpoint,
        "lease_seconds": LEASE.total_seconds(),
        "takeover_grace": TAKEOVER_GRACE.total_seconds(),
        "tenant_id": tenant_id,
        "floor": await claim_floor(conn),
    }
    records = await driver_fetch(conn, _CLAIM, params)
    # JSONB arrives decoded: SQLAlchemy's dialect sets the driver's codec on every connection.
    return [ClaimedDelivery(**dict(record.items())) for record in records]


# The smallest id a pending delivery can have: the start of the month of the oldest one (or of
# the current month, an hour back for clock skew, if that is older or none is pending). Cached
# per process and database for FLOOR_TTL: a stale floor is only lower, never wrong, because a
# delivery never becomes pending again and a new one takes a new, newer, id.
FLOOR_TTL_SECONDS = 60.0
CLOCK_SKEW = dt.timedelta(hours=1)
_OLDEST_PENDING = text("SELECT min(id) FROM webhook_deliveries WHERE status = 'pending'")
_floors: dict[str, tuple[float, str]] = {}


async def claim_floor(db: AsyncConnection | AsyncSession) -> str:
    key = str(db.get_bind().engine.url if isinstance(db, AsyncSession) else db.engine.url)
    cached = _floors.get(key)
    if cached is not None and time.monotonic() - cached[0] < FLOOR_TTL_SECONDS:
        return cached[1]
    oldest = (await db.execute(_OLDEST_PENDING)).scalar()
    real_now = dt.datetime.now(dt.UTC)
    floor = month_floor(PARTITIONED["webhook_deliveries"], oldest, real_now - CLOCK_SKEW)
    _floors[key] = (time.monotonic(), floor)
    return floor


# Only leases still held: a delivery already recorded (locked_until NULL) is left alone. SKIP
# LOCKED: a row locked now is being recorded (or cancelled), so it needs no renewal, and a
# renewal that never waits is never one side of a deadlock. It waited before, and deadlocked
# with the recording of successes, each locking the same deliveries in its own order: the
# success was lost and the delivery sent again (make reliability, docs/reliability.md).
_RENEW_LEASES = text(
    """
    WITH held AS (
        SELECT id FROM webhook_deliveries
        WHERE id = ANY(:ids) AND locked_until IS NOT NULL
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET locked_until = now() + make_interval(secs => :lease_seconds)
    FROM held WHERE d.id = held.id
    """
)


async def renew_leases(conn: AsyncConnection, delivery_ids: Sequence[str]) -> None:
    await conn.execute(
        _RENEW_LEASES, {"ids": list(delivery_ids), "lease_seconds": LEASE.total_seconds()}
    )


# The common case in one statement: the successes on endpoints that are not failing, as many as
# finished together (see SuccessRecorder in tasks.py), joined as a set (not `= ANY`: see
# _HISTORY in app/escalation/service.py). The deliveries alone are locked (the endpoints are only
# read), first and in id order (`locked`), as `cancel_pending` locks them: two statements each
# locking some of the same rows in its own order can deadlock, and the loser's successes would
# be lost and sent again. One cancelled while in flight still becomes succeeded, as
# it got through. No row back for a delivery that is gone (its event was purged) or whose
# endpoint is failing now (the success must clear that: the caller then takes the general path).
_RECORD_SUCCESSES = """
    WITH success AS (
        SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::timestamptz[],
                             $5::int[], $6::int[], $7::text[])
            AS s(id, delivery_id, endpoint_id, attempted_at, status_code, duration_ms,
                 response_body)
    ), locked AS MATERIALIZED (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.id IN (SELECT delivery_id FROM success)
        ORDER BY d.id
        FOR UPDATE
    ), delivery AS (
        UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, locked_until = NULL, last_status_code = s.status_code,
            status = CASE WHEN d.status IN ('pending', 'cancelled') THEN 'succeeded'
                          ELSE d.status END,
            next_attempt_at = CASE WHEN d.status IN ('pending', 'cancelled') THEN NULL
                                   ELSE d.next_attempt_at END,
            updated_at = now()
        FROM success s JOIN locked l ON l.id = s.delivery_id
        WHERE d.id = s.delivery_id
          AND NOT EXISTS (
              SELECT FROM webhook_endpoints e
              WHERE e.id = s.endpoint_id AND e.failing_since IS NOT NULL
          )
        RETURNING d.id, d.tenant_id
    )
    INSERT INTO webhook_attempts
        (id, delivery_id, tenant_id, attempted_at, status_code, duration_ms, error, response_body)
    SELECT s.id, delivery.id, delivery.tenant_id, s.attempted_at, s.status_code, s.duration_ms,
           NULL, s.response_body
    FROM delivery JOIN success s ON s.delivery_id = delivery.id
    RETURNING delivery_id
"""


class Success(NamedTuple):
    """A successful attempt, as `record_successes` stores it (its fields in statement order)."""

    attempt_id: str
    delivery_id: str
    endpoint_id: str
    attempted_at: dt.datetime
    status_code: int
    duration_ms: int
    response_body: str | None


async def record_successes(conn: AsyncConnection, successes: Sequence[Success]) -> set[str]:
    """Record these successful attempts in one statement, through the driver; returns the
    deliveries recorded (see _RECORD_SUCCESSES for those that are not)."""
    if not successes:
        return set()
    columns = [list(values) for values in zip(*successes, strict=True)]
    records = await on_driver(conn, lambda driver: driver.fetch(_RECORD_SUCCESSES, *columns))
    return {record[0] for record in records}


_GAUGES = text(
    """
    SELECT count(*), min(next_attempt_at) FILTER (WHERE next_attempt_at <= :now),
           count(*) FILTER (WHERE next_attempt_at <= :now)
    FROM webhook_deliveries WHERE status = 'pending' AND id >= :floor
    """
)


@dataclass(frozen=True)
class PendingStats:
    pending: int
    oldest_due: dt.datetime | None
    due: int
    due_by_endpoint: list[tuple[str, int]]  # the endpoints with the most due, most first


# Per endpoint, on the claim's own partial index (ix_webhook_deliveries_endpoint_due).
_DUE_BY_ENDPOINT = text(
    """
    SELECT endpoint_id, count(*) AS due FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= :now AND id >= :floor
    GROUP BY endpoint_id ORDER BY due DESC, endpoint_id LIMIT :top
    """
)


async def pending_stats(session: AsyncSession, now: dt.datetime, top: int) -> PendingStats:
    """How many deliveries are pending, when the most overdue one fell due, how many are due,
    and the `top` endpoints with the most due."""
    params = {"now": now, "floor": await claim_floor(session)}
    count, oldest_due, due = (await session.execute(_GAUGES, params)).one()
    rows = await session.execute(_DUE_BY_ENDPOINT, params | {"top": top})
    by_endpoint = [(str(endpoint_id), int(n)) for endpoint_id, n in rows]
    return PendingStats(int(count), oldest_due, int(due), by_endpoint)
