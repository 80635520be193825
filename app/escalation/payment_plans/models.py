from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.escalation.payment_plans.schemas import PlanStatus


class PaymentPlan(Base):
    """An échéancier: installments summing to the balance when it was agreed. While each is paid
    on time the escalation pauses; a missed one resumes it."""

    __tablename__ = "payment_plans"
    __table_args__ = (
        Index(
            "uq_payment_plans_active_per_invoice",
            "invoice_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    status: Mapped[PlanStatus] = mapped_column(String(16), default="active")
    paid_before: Mapped[Decimal]  # invoice.paid_amount when agreed: later payments count toward it
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Installment(Base):
    __tablename__ = "payment_plan_installments"

    plan_id: Mapped[str] = mapped_column(
        ForeignKey("payment_plans.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[dt.date]
    amount: Mapped[Decimal]
