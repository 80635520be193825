"""idempotency claim token: late retries touch only their own claim

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotency_keys", "claim_token")
