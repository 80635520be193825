"""siret of creditors and debtors

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("creditors", sa.Column("siret", sa.String(length=20), nullable=True))
    op.add_column("debtors", sa.Column("siret", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("debtors", "siret")
    op.drop_column("creditors", "siret")
