"""Monthly partitions of the outbox's history (events, deliveries, attempts): created ahead of
time, dropped whole past retention. See docs/partitioning.md.

Each table is partitioned by RANGE of its id. Ids are ULIDs behind a type prefix
(`evt_01J...`), whose first characters are the millisecond they were made in real time: a
month is the id range from the smallest ULID of its first millisecond to that of the next
month's. Real time, not the tenant's clock: a sandbox's clock can be anywhere, ids cannot.
No pg_partman here (an extension not available everywhere): plain DDL, run by housekeeping
and at start-up."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from ulid import ULID

log = logging.getLogger(__name__)

# Table -> its ids' prefix. Dropped together month by month, in this order (children first).
PARTITIONED: dict[str, str] = {
    "webhook_attempts": "wha",
    "webhook_deliveries": "whd",
    "events": "evt",
}
MONTHS_AHEAD = 3
# DETACH takes an ACCESS EXCLUSIVE lock on the parent for an instant; waiting longer than this
# would queue every insert behind it: give up and try at the next housekeeping instead.
DETACH_LOCK_TIMEOUT = "1s"
# Serialises partition DDL between replicas starting or housekeeping together.
_LOCK_KEY = 0x52454C50415254  # "RELPART"
LOCK_NOT_AVAILABLE = "55P03"
_NAME = re.compile(r"^(?P<table>[a-z_]+)_(?:p(?P<year>\d{4})_(?P<month>\d{2})|default)$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, instant: dt.datetime) -> Month:
        return cls(instant.year, instant.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=dt.UTC)

    def end(self) -> dt.datetime:
        return self.next().start()


def id_floor(prefix: str, instant: dt.datetime) -> str:
    """The smallest id of this prefix made at `instant` (or later)."""
    millis = int(instant.timestamp() * 1000)
    return f"{prefix}_{ULID.from_bytes(millis.to_bytes(6, 'big') + bytes(10))}"


def month_floor(prefix: str, oldest_id: str | None, now: dt.datetime) -> str:
    """The smallest id of the month of `oldest_id` or of `now`, whichever is older; "" (no
    bound) if `oldest_id` is not a ULID id (it lives in the default partition)."""
    month = Month.of(now)
    if oldest_id is not None:
        made = made_at(oldest_id)
        if made is None:
            return ""
        month = min(month, Month.of(made))
    return id_floor(prefix, month.start())


def made_at(id_: str) -> dt.datetime | None:
    """When a ULID id was made (the 26 characters after its prefix; deliveries add a row
    number after them); None if it is not one."""
    _, _, rest = id_.partition("_")
    try:
        return ULID.from_str(rest[:26]).datetime
    except ValueError:
        return None


def partition_name(table: str, month: Month) -> str:
    return f"{table}_p{month.year:04d}_{month.month:02d}"


def is_partition(name: str) -> bool:
    """A partition of a history table (hidden from the migration drift check)."""
    found = _NAME.match(name)
    return found is not None and found["table"] in PARTITIONED


def include_in_autogenerate(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: the partitions are housekeeping's, not the models'."""
    return not (type_ == "table" and name is not None and is_partition(name))


def create_partition_sql(table: str, month: Month) -> str:
    prefix = PARTITIONED[table]
    low, high = id_floor(prefix, month.start()), id_floor(prefix, month.end())
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{low}') TO ('{high}')"
    )


def months(first: Month, last: Month) -> Iterator[Month]:
    month = first
    while month <= last:
        yield month
        month = month.next()


async def ensure_partitions(
    engine: AsyncEngine, now: dt.datetime, months_ahead: int = MONTHS_AHEAD
) -> None:
    """This month's partitions and the next `months_ahead`'s, where missing (idempotent)."""
    last = Month.of(now)
    for _ in range(months_ahead):
        last = last.next()
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        existing = await _partitions(conn)
        for table in PARTITIONED:
            for month in months(Month.of(now), last):
                if partition_name(table, month) not in existing:
                    await conn.execute(text(create_partition_sql(table, month)))


async def _partitions(conn: AsyncConnection) -> set[str]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = ANY(CAST(:parents AS regclass[]))"
        ),
        {"parents": list(PARTITIONED)},
    )
    return set(rows.scalars())


def _month_of(name: str) -> Month | None:
    found = _NAME.match(name)
    if found is None or found["year"] is None:
        return None  # the default partition: never dropped
    return Month(int(found["year"]), int(found["month"]))


# A month is kept while a delivery still pending lives in it or carries one of its events:
# its partitions go together or not at all, so a pending delivery never loses its event.
_HOLDS_PENDING = text(
    """
    SELECT EXISTS (
        SELECT FROM webhook_deliveries
        WHERE status = 'pending'
          AND ((id >= :whd_low AND id < :whd_high)
               OR (event_id >= :evt_low AND event_id < :evt_high))
    )
    """
)


async def drop_expired_partitions(engine: AsyncEngine, cutoff: dt.datetime) -> list[Month]:
    """DETACH then DROP the partitions of every month that ended before `cutoff` and holds no
    pending delivery; returns the months dropped."""
    async with engine.connect() as conn:
        expired = sorted(
            {
                month
                for name in await _partitions(conn)
                if (month := _month_of(name)) is not None and month.end() <= cutoff
            }
        )
    dropped = []
    for month in expired:
        if await _drop_month(engine, month):
            dropped.append(month)
    return dropped


async def _drop_month(engine: AsyncEngine, month: Month) -> bool:
    bounds = {
        f"{prefix}_{side}": id_floor(prefix, instant)
        for prefix in ("whd", "evt")
        for side, instant in (("low", month.start()), ("high", month.end()))
    }
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            await conn.execute(text(f"SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT}'"))
            # Locked before the check, so no delivery can be added (a redelivery of one of the
            # month's events) between the check and the drop. Children first, as DETACH would.
            await conn.execute(
                text(f"LOCK TABLE {', '.join(PARTITIONED)} IN ACCESS EXCLUSIVE MODE")
            )
            if (await conn.execute(_HOLDS_PENDING, bounds)).scalar():
                log.info("partitions of %s kept: deliveries still pending", month)
                return False
            existing = await _partitions(conn)
            for table in PARTITIONED:
                name = partition_name(table, month)
                if name in existing:
                    await conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
                    await conn.execute(text(f"DROP TABLE {name}"))
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.warning("partitions of %s kept: the tables were busy, next housekeeping", month)
        return False
    log.info("partitions of %s dropped", month)
    return True


# A month-end sweep writes 100,000 deliveries in a minute. Until their partition's statistics
# catch up (autovacuum looks once a minute, later when it is busy) the planner takes it for as
# empty as when it was last analyzed: the delivery claim sorted a whole endpoint's backlog on
# every call (58 ms instead of 1 ms, bench/README.md). The ledger's busiest tables go the same
# way: in a soak the invoices grew from 2,000 to 60,000 with no analysis (autovacuum off on the
# server), and the overdue list sorted all of them for each page (42 ms instead of 0.3). So the
# delivery tick analyzes at once a table or partition that changed by more than a fifth since,
# and by at least STALE_ROWS rows.
STALE_ROWS = 10_000
STALE_FRACTION = 0.2
_ANALYZE_LOCK_KEY = 0x52454C414E4C5A  # "RELANLZ": one replica analyzes, the others skip
# The ledger's tables that the hot paths' plans depend on (lists, reports, the seam's reads).
HOT_TABLES = ("invoices", "payments", "actions", "debtors", "event_keys")
_STALE = text(
    """
    SELECT c.oid::regclass::text
    FROM pg_class c
    JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE (c.oid IN (SELECT inhrelid FROM pg_inherits
                     WHERE inhparent = ANY (CAST(:parents AS regclass[])))
           OR c.oid = ANY (CAST(:tables AS regclass[])))
      AND s.n_mod_since_analyze >= greatest(:rows, c.reltuples * :fraction)
    ORDER BY 1
    """
)


async def analyze_stale_tables(engine: AsyncEngine, rows: int = STALE_ROWS) -> list[str]:
    """ANALYZE the history partitions and the ledger's busiest tables (HOT_TABLES) whose
    statistics a burst of writes (of at least `rows`) left behind; the names analyzed (none while
    another replica is at it)."""
    async with engine.begin() as conn:
        if not await conn.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _ANALYZE_LOCK_KEY}
        ):
            return []
        stale = list(
            await conn.scalars(
                _STALE,
                {
                    "parents": list(PARTITIONED),
                    "tables": list(HOT_TABLES),
                    "rows": rows,
                    "fraction": STALE_FRACTION,
                },
            )
        )
        for name in stale:  # names from the catalog, quoted by regclass
            await conn.execute(text(f"ANALYZE {name}"))
    if stale:
        log.info("analyzed %s after a burst of writes", ", ".join(stale))
    return stale
