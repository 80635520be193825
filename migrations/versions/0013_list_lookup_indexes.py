"""list lookups: invoices by number and external_id, debtors by external_id and SIREN, per tenant

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partial where the column is optional: rows without the value are never looked up by it.
_INDEXES = (
    ("ix_invoices_tenant_id_number", "invoices", ["tenant_id", "number"], None),
    ("ix_invoices_tenant_id_external_id", "invoices", ["tenant_id", "external_id"], "external_id"),
    ("ix_debtors_tenant_id_external_id", "debtors", ["tenant_id", "external_id"], "external_id"),
    ("ix_debtors_tenant_id_siren", "debtors", ["tenant_id", "siren"], "siren"),
)


def upgrade() -> None:
    # Plain CREATE INDEX (in the migration's transaction, under its lock_timeout): it blocks
    # writes to the table while it builds (a CONCURRENTLY build cannot run in a transaction).
    for name, table, columns, optional in _INDEXES:
        op.create_index(
            name,
            table,
            columns,
            unique=False,
            postgresql_where=sa.text(f"{optional} IS NOT NULL") if optional else None,
        )


def downgrade() -> None:
    for name, table, _, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
