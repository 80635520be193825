from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.escalation.engine import ActionType
from app.escalation.policy import Channel


class Action(Base):
    """Something the creditor (or its agent) did about an invoice: a reminder sent, a call, a
    mise en demeure, a promise obtained, a court filing. Never deleted; corrections are new
    records (PATCH only completes proof, note and outcome)."""

    __tablename__ = "actions"
    # created_at and updated_at come back with the INSERT (RETURNING): no second read.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        Index("ix_actions_invoice_id_performed_at", "invoice_id", "performed_at"),
        # The registered-mail callbacks find the letter by the provider's id, in one tenant.
        Index(
            "uq_actions_tenant_id_provider_provider_ref",
            "tenant_id",
            "provider",
            "provider_ref",
            unique=True,
            postgresql_where=text("provider_ref IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    type: Mapped[ActionType] = mapped_column(String(32))
    channel: Mapped[Channel | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(40))  # the policy step it carries out
    performed_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(String(2000))
    outcome: Mapped[str | None] = mapped_column(String(2000))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(32))  # registered-mail provider
    provider_ref: Mapped[str | None] = mapped_column(String(128))  # its id of the letter
    acknowledged_at: Mapped[dt.date | None]  # AR signed
    presented_at: Mapped[dt.date | None]  # letter first presented (unclaimed)
    served_on: Mapped[dt.date | None]  # act served by a commissaire de justice
    promised_date: Mapped[dt.date | None]
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
