"""tenants: sandbox tenants and their test clocks (sandbox, clock_now)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default and a nullable column: catalogue changes, no table rewrite.
    op.add_column(
        "tenants",
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("tenants", sa.Column("clock_now", sa.DateTime(timezone=True), nullable=True))
    # A sandbox tenant always has its clock; a live one never has one.
    op.create_check_constraint(
        op.f("ck_tenants_sandbox_has_clock"), "tenants", "sandbox = (clock_now IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_tenants_sandbox_has_clock"), "tenants", type_="check")
    op.drop_column("tenants", "clock_now")
    op.drop_column("tenants", "sandbox")
