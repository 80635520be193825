"""debtors' insolvency: BODACC publication date of the opening judgment (declaration deadline)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("debtors", sa.Column("insolvency_published_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("debtors", "insolvency_published_on")
