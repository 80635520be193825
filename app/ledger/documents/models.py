from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.core.db import Base
from app.ledger.documents.schemas import DocumentKind


class Document(Base):
    """Proof of the claim: what an injonction de payer needs on file. Metadata, and the file
    itself when the service received it (an imported e-invoice)."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(String(2000))
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))  # the same file is kept once
    # Loaded only by the download: lists and lookups never read the bytes.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
