from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class DunningPolicy(Base):
    """A creditor-chosen escalation policy; the built-in default is not stored (id "default")."""

    __tablename__ = "dunning_policies"
    # The target of creditors' (tenant_id, policy_ref) foreign key: a tenant's own policies only.
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Steps, formal-notice deadline and promise grace, as validated by app.escalation.policy.
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
