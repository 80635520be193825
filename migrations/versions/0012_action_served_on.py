"""actions: date of service of an act by a commissaire de justice (proof.served_on)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: a catalogue change, no table rewrite.
    op.add_column("actions", sa.Column("served_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("actions", "served_on")
