from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.ledger.debtors.schemas import InsolvencyProcedure, Language
from app.legal.interest import DebtorKind


class Debtor(Base):
    __tablename__ = "debtors"
    # created_at and updated_at come back with the INSERT (RETURNING): no second read.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        Index(
            "uq_debtors_creditor_id_external_id",
            "creditor_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        # Lookups of GET /v1/debtors across the tenant's creditors.
        Index(
            "ix_debtors_tenant_id_external_id",
            "tenant_id",
            "external_id",
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(
            "ix_debtors_tenant_id_siren",
            "tenant_id",
            "siren",
            postgresql_where=text("siren IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    creditor_id: Mapped[str] = mapped_column(ForeignKey("creditors.id"), index=True)
    kind: Mapped[DebtorKind] = mapped_column(String(16))  # the law that applies
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str | None] = mapped_column(String(20))
    siret: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    language: Mapped[Language] = mapped_column(String(8), default="fr")
    external_id: Mapped[str | None] = mapped_column(String(200))
    insolvency_procedure: Mapped[InsolvencyProcedure | None] = mapped_column(String(32))
    insolvency_opened_on: Mapped[dt.date | None]
    insolvency_published_on: Mapped[dt.date | None]  # BODACC publication of the judgment
    # A consumer's prior consent to receive electronic registered letters (CPCE L100).
    lre_consent_at: Mapped[dt.datetime | None]
    lre_consent_evidence: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
