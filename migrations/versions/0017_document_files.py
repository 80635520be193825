"""documents: the file itself (imported e-invoices): file_name, content_type, size, sha256, content

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without defaults: catalogue changes only, no table rewrite.
    op.add_column("documents", sa.Column("file_name", sa.String(length=255), nullable=True))
    op.add_column("documents", sa.Column("content_type", sa.String(length=100), nullable=True))
    op.add_column("documents", sa.Column("size", sa.Integer(), nullable=True))
    op.add_column("documents", sa.Column("sha256", sa.String(length=64), nullable=True))
    op.add_column("documents", sa.Column("content", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    for column in ("content", "sha256", "size", "content_type", "file_name"):
        op.drop_column("documents", column)
