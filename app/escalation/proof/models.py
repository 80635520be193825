from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.legal.deadlines import ProofStatus


class ProofEvent(Base):
    """What a registered-mail provider reported about a formal notice's letter. Never changed
    nor deleted: the notice's effect is recomputed from all of them (app.legal.deadlines)."""

    __tablename__ = "proof_events"
    __table_args__ = (
        # Idempotency: the same report twice is one event (see service.dedupe_key).
        UniqueConstraint("action_id", "dedupe_key"),
        Index(
            "ix_proof_events_tenant_id_provider_provider_ref",
            "tenant_id",
            "provider",
            "provider_ref",
            postgresql_where=text("provider_ref IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id"), index=True)
    # Denormalised from the action: the engine's loader reads a batch of invoices at once.
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    status: Mapped[ProofStatus] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    document_url: Mapped[str | None] = mapped_column(String(2000))
    report_id: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(String(16))  # "api" or "callback"
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class RegisteredMailCallback(Base):
    """A tenant's callback credentials for one provider: the providers cannot send an API key,
    so their callbacks carry this secret instead (only its SHA-256 is kept)."""

    __tablename__ = "registered_mail_callbacks"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
