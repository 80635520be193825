"""sweep claims per tenant: the due work of each tenant, in next_action_at order

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE_WORK = "status = 'open' AND next_action_at IS NOT NULL"


def upgrade() -> None:
    # Plain CREATE INDEX, in the migration's transaction (see 0013). As partial as the sweep's
    # global index: its size follows the open invoices with work ahead.
    op.create_index(
        "ix_invoices_tenant_due_work",
        "invoices",
        ["tenant_id", "next_action_at"],
        unique=False,
        postgresql_where=sa.text(_DUE_WORK),
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_tenant_due_work", table_name="invoices")
