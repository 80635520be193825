"""ledger: e-invoice lifecycle statuses (AFNOR XP Z12-012 / CDAR) and their facts on invoices

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns and constant defaults: catalogue changes, no table rewrite.
    op.add_column("invoices", sa.Column("received_on", sa.Date(), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("approved", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("invoices", sa.Column("approved_amount", sa.Numeric(14, 2), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("suspended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("invoices", sa.Column("payment_announced_until", sa.Date(), nullable=True))
    op.add_column("invoices", sa.Column("lifecycle_outcome", sa.String(16), nullable=True))
    op.create_table(
        "lifecycle_statuses",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("invoice_id", sa.String(40), nullable=False),
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("platform", sa.String(200), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("effect", sa.String(32), nullable=False),
        sa.Column("dispute_id", sa.String(40), nullable=True),
        sa.Column("payment_id", sa.String(40), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_lifecycle_statuses_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lifecycle_statuses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_statuses")),
    )
    op.create_index(op.f("ix_lifecycle_statuses_invoice_id"), "lifecycle_statuses", ["invoice_id"])
    op.create_index(
        "uq_lifecycle_statuses_tenant_id_message_id",
        "lifecycle_statuses",
        ["tenant_id", "message_id"],
        unique=True,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_lifecycle_statuses_tenant_id_message_id", table_name="lifecycle_statuses")
    op.drop_index(op.f("ix_lifecycle_statuses_invoice_id"), table_name="lifecycle_statuses")
    op.drop_table("lifecycle_statuses")
    for name in (
        "lifecycle_outcome",
        "payment_announced_until",
        "suspended",
        "approved_amount",
        "approved",
        "received_on",
    ):
        op.drop_column("invoices", name)
