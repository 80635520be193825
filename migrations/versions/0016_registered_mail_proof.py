"""registered-mail proof: proof events, provider refs on actions, callback secrets, LRE consent

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without defaults: catalogue changes only, no table rewrite.
    op.add_column("actions", sa.Column("provider", sa.String(length=32), nullable=True))
    op.add_column("actions", sa.Column("provider_ref", sa.String(length=128), nullable=True))
    op.create_index(
        "uq_actions_tenant_id_provider_provider_ref",
        "actions",
        ["tenant_id", "provider", "provider_ref"],
        unique=True,
        postgresql_where=sa.text("provider_ref IS NOT NULL"),
    )
    op.add_column("debtors", sa.Column("lre_consent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "debtors", sa.Column("lre_consent_evidence", sa.String(length=500), nullable=True)
    )
    op.create_table(
        "proof_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("action_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("document_url", sa.String(length=2000), nullable=True),
        sa.Column("report_id", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=400), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_proof_events_action_id_actions")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_proof_events_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_proof_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_events")),
        sa.UniqueConstraint(
            "action_id", "dedupe_key", name=op.f("uq_proof_events_action_id_dedupe_key")
        ),
    )
    op.create_index(op.f("ix_proof_events_tenant_id"), "proof_events", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_proof_events_action_id"), "proof_events", ["action_id"], unique=False)
    op.create_index(
        op.f("ix_proof_events_invoice_id"), "proof_events", ["invoice_id"], unique=False
    )
    op.create_index(
        "ix_proof_events_tenant_id_provider_provider_ref",
        "proof_events",
        ["tenant_id", "provider", "provider_ref"],
        unique=False,
        postgresql_where=sa.text("provider_ref IS NOT NULL"),
    )
    op.create_table(
        "registered_mail_callbacks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_registered_mail_callbacks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_mail_callbacks")),
        sa.UniqueConstraint(
            "tenant_id", "provider", name=op.f("uq_registered_mail_callbacks_tenant_id_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("registered_mail_callbacks")
    op.drop_index("ix_proof_events_tenant_id_provider_provider_ref", table_name="proof_events")
    op.drop_index(op.f("ix_proof_events_invoice_id"), table_name="proof_events")
    op.drop_index(op.f("ix_proof_events_action_id"), table_name="proof_events")
    op.drop_index(op.f("ix_proof_events_tenant_id"), table_name="proof_events")
    op.drop_table("proof_events")
    op.drop_column("debtors", "lre_consent_evidence")
    op.drop_column("debtors", "lre_consent_at")
    op.drop_index("uq_actions_tenant_id_provider_provider_ref", table_name="actions")
    op.drop_column("actions", "provider_ref")
    op.drop_column("actions", "provider")
