from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.ledger.documents.schemas import DocumentKind


class Document(Base):
    """Proof of the claim (metadata only): what an injonction de payer needs on file."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
