"""idempotency keys commit with the route's effect: no claim rows, no claim columns

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A claim without an answer belonged to a request of the old scheme: in flight during the
    # upgrade or dead. Either way the new scheme knows in-flight requests by their lock.
    op.execute("DELETE FROM idempotency_keys WHERE status IS NULL")
    op.drop_column("idempotency_keys", "claim_token")
    op.drop_column("idempotency_keys", "claimed_at")
    for name in ("status", "headers", "body"):
        op.alter_column("idempotency_keys", name, nullable=False)


def downgrade() -> None:
    for name in ("status", "headers", "body"):
        op.alter_column("idempotency_keys", name, nullable=True)
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "claimed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.alter_column("idempotency_keys", "claimed_at", server_default=None)
    op.add_column("idempotency_keys", sa.Column("claim_token", sa.String(length=32), nullable=True))
