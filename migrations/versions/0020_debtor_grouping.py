"""escalation: one reminder per debtor (events.debtor_id, debtor_event_keys, grouped_steps)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 15:30:00

Events are partitioned (0018): a grouped event's exactly-once key lives in debtor_event_keys, as an
invoice's does in event_keys.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: a catalogue change, no table rewrite. Existing events are per invoice.
    op.add_column("events", sa.Column("debtor_id", sa.String(length=40), nullable=True))
    op.create_table(
        "debtor_event_keys",
        sa.Column("debtor_id", sa.String(length=40), nullable=False),
        sa.Column("occurrence", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_debtor_event_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("debtor_id", "occurrence", name=op.f("pk_debtor_event_keys")),
    )
    op.create_index(op.f("ix_debtor_event_keys_tenant_id"), "debtor_event_keys", ["tenant_id"])
    op.create_index(op.f("ix_debtor_event_keys_event_id"), "debtor_event_keys", ["event_id"])
    op.create_table(
        "grouped_steps",
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("occurrence", sa.String(length=120), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_grouped_steps_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", "occurrence", name=op.f("pk_grouped_steps")),
    )
    op.create_index(op.f("ix_grouped_steps_event_id"), "grouped_steps", ["event_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_grouped_steps_event_id"), table_name="grouped_steps")
    op.drop_table("grouped_steps")
    op.drop_index(op.f("ix_debtor_event_keys_event_id"), table_name="debtor_event_keys")
    op.drop_index(op.f("ix_debtor_event_keys_tenant_id"), table_name="debtor_event_keys")
    op.drop_table("debtor_event_keys")
    op.drop_column("events", "debtor_id")
