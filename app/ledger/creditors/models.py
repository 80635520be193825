from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

# The built-in policy's id: a creditor may name it, nothing stores it.
DEFAULT_POLICY_ID = "default"
POLICY_FOREIGN_KEY = "fk_creditors_tenant_id_policy_ref_dunning_policies"


class Creditor(Base):
    __tablename__ = "creditors"
    # created_at and updated_at come back with the INSERT (RETURNING): no second read.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        Index(
            "uq_creditors_tenant_id_external_id",
            "tenant_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        # The policy must be one of the tenant's own (or the built-in "default", not stored).
        ForeignKeyConstraint(
            ["tenant_id", "policy_ref"],
            ["dunning_policies.tenant_id", "dunning_policies.id"],
            name=POLICY_FOREIGN_KEY,
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str | None] = mapped_column(String(20))
    siret: Mapped[str | None] = mapped_column(String(20))  # the establishment that invoices
    vat_number: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    iban: Mapped[str | None] = mapped_column(String(42))
    bic: Mapped[str | None] = mapped_column(String(11))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    late_penalty_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    fixed_indemnity: Mapped[Decimal]
    dunning_policy_id: Mapped[str | None] = mapped_column(String(40))
    # dunning_policy_id without the built-in "default": what the foreign key checks.
    policy_ref: Mapped[str | None] = mapped_column(
        String(40), Computed(f"NULLIF(dunning_policy_id, '{DEFAULT_POLICY_ID}')", persisted=True)
    )
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
