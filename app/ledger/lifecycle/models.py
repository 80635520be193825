from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.legal.einvoicing import Effect


class LifecycleStatus(Base):
    """An e-invoice lifecycle status received from a Plateforme Agréée (never changed)."""

    __tablename__ = "lifecycle_statuses"
    __label__ = "lifecycle status"
    __table_args__ = (
        # Idempotency: a platform's message is recorded once per tenant.
        Index(
            "uq_lifecycle_statuses_tenant_id_message_id",
            "tenant_id",
            "message_id",
            unique=True,
            postgresql_where=text("message_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    code: Mapped[str] = mapped_column(String(3))
    at: Mapped[dt.datetime]
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(2000))
    amount: Mapped[Decimal | None]
    platform: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    effect: Mapped[Effect] = mapped_column(String(32))
    # What the effect recorded in the ledger, if anything (207, 212).
    dispute_id: Mapped[str | None] = mapped_column(String(40))
    payment_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
