"""outbox: events, webhook deliveries and attempts partitioned by month, in place; event_keys

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:00:00

In one transaction, for each table: rename the old one, create the partitioned parent under
the same name (same columns, defaults, constraint and index names), its monthly partitions
from the oldest row's month to three months ahead plus a default one, move the rows with
INSERT ... SELECT, build the indexes once the rows are in, drop the old table. The exactly-once
key (invoice_id, occurrence) moves to the unpartitioned `event_keys` (a unique key of a
partitioned table must hold its partition key). The foreign keys between the three history
tables go (docs/partitioning.md); webhook_attempts gains tenant_id (every tenant table is keyed
by it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.outbox.partitions import (
    MONTHS_AHEAD,
    PARTITIONED,
    Month,
    create_partition_sql,
    made_at,
    months,
)

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "events": [
        "CREATE INDEX ix_events_created_at ON events (created_at)",
        "CREATE INDEX ix_events_tenant_id_id ON events (tenant_id, id)",
    ],
    "webhook_deliveries": [
        "CREATE INDEX ix_webhook_deliveries_endpoint_due ON webhook_deliveries "
        "(endpoint_id, next_attempt_at, id) WHERE status = 'pending'",
        "CREATE INDEX ix_webhook_deliveries_leased ON webhook_deliveries (endpoint_id) "
        "WHERE locked_until IS NOT NULL",
        "CREATE INDEX ix_webhook_deliveries_endpoint_id_id ON webhook_deliveries (endpoint_id, id)",
        "CREATE INDEX ix_webhook_deliveries_event_id ON webhook_deliveries (event_id)",
        "CREATE INDEX ix_webhook_deliveries_pending_id ON webhook_deliveries (id) "
        "WHERE status = 'pending'",
    ],
    "webhook_attempts": [
        "CREATE INDEX ix_webhook_attempts_delivery_id ON webhook_attempts (delivery_id)",
    ],
}
_FOREIGN_KEYS = {
    "events": [("tenant_id", "tenants")],
    "webhook_deliveries": [("tenant_id", "tenants"), ("endpoint_id", "webhook_endpoints")],
    "webhook_attempts": [("tenant_id", "tenants")],
}
_COPY = {
    "events": "INSERT INTO events SELECT * FROM events_old",
    "webhook_deliveries": "INSERT INTO webhook_deliveries SELECT * FROM webhook_deliveries_old",
    "webhook_attempts": (
        "INSERT INTO webhook_attempts "
        "SELECT a.id, a.delivery_id, a.attempted_at, a.status_code, a.duration_ms, a.error, "
        "a.response_body, d.tenant_id "
        "FROM webhook_attempts_old a JOIN webhook_deliveries_old d ON d.id = a.delivery_id"
    ),
}


def _month_of_id(value: str | None) -> Month | None:
    """The month a ULID id was made in; None for an id that is not one (it goes to default)."""
    made = made_at(value) if value else None
    return Month.of(made) if made else None


def _months_to_create(table: str) -> list[Month]:
    query = f"SELECT min(id), max(id) FROM {table}_old"  # noqa: S608 - our own table names
    bounds = op.get_bind().execute(sa.text(query)).one()
    now = Month.of(dt.datetime.now(dt.UTC))
    first = min(m for m in (_month_of_id(bounds[0]), now) if m is not None)
    last = max(m for m in (_month_of_id(bounds[1]), now) if m is not None)
    for _ in range(MONTHS_AHEAD):
        last = last.next()
    return list(months(first, last))


def _partition(table: str) -> None:
    execute = op.execute
    execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    # The old names are free for the new table (index and constraint names are per schema).
    execute(f"ALTER TABLE {table}_old DROP CONSTRAINT pk_{table}")
    for index in _INDEXES[table]:
        name = index.split()[2]
        execute(f"DROP INDEX IF EXISTS {name}")
    execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS) PARTITION BY RANGE (id)")
    if table == "webhook_attempts":
        execute("ALTER TABLE webhook_attempts ADD COLUMN tenant_id varchar(40) NOT NULL")
    execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    for column, referred in _FOREIGN_KEYS[table]:
        execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_{column}_{referred} "
            f"FOREIGN KEY ({column}) REFERENCES {referred} (id) ON DELETE CASCADE"
        )
    for month in _months_to_create(table):
        execute(create_partition_sql(table, month))
    execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def upgrade() -> None:
    # Children's foreign keys first: they refer to the tables about to be renamed.
    op.drop_constraint(
        "fk_webhook_attempts_delivery_id_webhook_deliveries", "webhook_attempts", type_="foreignkey"
    )
    op.drop_constraint(
        "fk_webhook_deliveries_event_id_events", "webhook_deliveries", type_="foreignkey"
    )
    op.create_table(
        "event_keys",
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("occurrence", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_event_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", "occurrence", name=op.f("pk_event_keys")),
    )
    op.execute(
        "INSERT INTO event_keys "
        "SELECT invoice_id, occurrence, tenant_id, id, type, occurred_on, created_at "
        "FROM events WHERE invoice_id IS NOT NULL"
    )
    op.create_index(op.f("ix_event_keys_tenant_id"), "event_keys", ["tenant_id"], unique=False)
    op.drop_constraint("uq_events_invoice_id_occurrence", "events", type_="unique")
    for table in PARTITIONED:
        _partition(table)
    for table in PARTITIONED:  # attempts read the old deliveries for their tenant
        op.execute(_COPY[table])
    for table in PARTITIONED:
        for index in _INDEXES[table]:
            op.execute(index)
        op.execute(f"DROP TABLE {table}_old")
    for table in (*PARTITIONED, "event_keys"):
        op.execute(f"ANALYZE {table}")


def _unpartition(table: str) -> None:
    execute = op.execute
    execute(f"ALTER TABLE {table} RENAME TO {table}_part")
    execute(f"ALTER TABLE {table}_part DROP CONSTRAINT pk_{table}")
    for column, referred in _FOREIGN_KEYS[table]:
        execute(f"ALTER TABLE {table}_part DROP CONSTRAINT fk_{table}_{column}_{referred}")
    for index in _INDEXES[table]:
        execute(f"DROP INDEX IF EXISTS {index.split()[2]}")
    execute(f"CREATE TABLE {table} (LIKE {table}_part INCLUDING DEFAULTS)")
    if table == "webhook_attempts":
        execute("ALTER TABLE webhook_attempts DROP COLUMN tenant_id")
    execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
    for column, referred in _FOREIGN_KEYS[table]:
        if column != "tenant_id" or table != "webhook_attempts":
            execute(
                f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_{column}_{referred} "
                f"FOREIGN KEY ({column}) REFERENCES {referred} (id) ON DELETE CASCADE"
            )
    columns = "id, delivery_id, attempted_at, status_code, duration_ms, error, response_body"
    select = columns if table == "webhook_attempts" else "*"
    execute(f"INSERT INTO {table} SELECT {select} FROM {table}_part")  # noqa: S608
    execute(f"DROP TABLE {table}_part")
    for index in _INDEXES[table]:
        if "pending_id" not in index:
            execute(index)


def downgrade() -> None:
    # Rows whose month was dropped are gone; the rest come back into plain tables.
    for table in reversed(PARTITIONED):
        _unpartition(table)
    op.execute(
        "DELETE FROM webhook_deliveries d WHERE NOT EXISTS (SELECT FROM events e WHERE e.id = d.event_id)"
    )
    op.execute(
        "DELETE FROM webhook_attempts a WHERE NOT EXISTS (SELECT FROM webhook_deliveries d WHERE d.id = a.delivery_id)"
    )
    op.create_unique_constraint(
        "uq_events_invoice_id_occurrence", "events", ["invoice_id", "occurrence"]
    )
    op.create_foreign_key(
        "fk_webhook_deliveries_event_id_events",
        "webhook_deliveries",
        "events",
        ["event_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_webhook_attempts_delivery_id_webhook_deliveries",
        "webhook_attempts",
        "webhook_deliveries",
        ["delivery_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_index(op.f("ix_event_keys_tenant_id"), table_name="event_keys")
    op.drop_table("event_keys")
