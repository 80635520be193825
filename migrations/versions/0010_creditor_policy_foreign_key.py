"""a creditor's dunning policy is a real foreign key (the tenant's own policies, or "default")

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_unique_constraint(
        "uq_dunning_policies_tenant_id_id", "dunning_policies", ["tenant_id", "id"]
    )
    op.add_column(
        "creditors",
        sa.Column(
            "policy_ref",
            sa.String(length=40),
            sa.Computed("NULLIF(dunning_policy_id, 'default')", persisted=True),
            nullable=True,
        ),
    )
    op.create_foreign_key(
        "fk_creditors_tenant_id_policy_ref_dunning_policies",
        "creditors",
        "dunning_policies",
        ["tenant_id", "policy_ref"],
        ["tenant_id", "id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        "fk_creditors_tenant_id_policy_ref_dunning_policies", "creditors", type_="foreignkey"
    )
    op.drop_column("creditors", "policy_ref")
    op.drop_constraint("uq_dunning_policies_tenant_id_id", "dunning_policies", type_="unique")
