"""escalation: one reminder per debtor (events.debtor_id unique with occurrence, grouped_steps)

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-01 15:30:00

Chained onto 0014 in this branch; the lead chains it after 0015/0016 on merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: a catalogue change, no table rewrite. Existing events are per invoice.
    op.add_column("events", sa.Column("debtor_id", sa.String(length=40), nullable=True))
    # NULLs are distinct: only grouped events (debtor_id set) are constrained.
    op.create_unique_constraint(
        op.f("uq_events_debtor_id_occurrence"), "events", ["debtor_id", "occurrence"]
    )
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
    op.drop_constraint(op.f("uq_events_debtor_id_occurrence"), "events", type_="unique")
    op.drop_column("events", "debtor_id")
