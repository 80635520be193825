from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.ledger.disputes.schemas import DisputeReason, DisputeResolution, DisputeStatus


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        # At most one open dispute per invoice, enforced by the database.
        Index(
            "uq_disputes_open_per_invoice",
            "invoice_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    reason: Mapped[DisputeReason] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[DisputeStatus] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[DisputeResolution | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
