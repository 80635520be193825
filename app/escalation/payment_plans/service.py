"""Échéanciers: installments summing to the balance. While every installment is paid on time the
escalation pauses; a missed one resumes it (and the sweep emits payment_plan.installment_missed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import flush, mark_invoice_changed
from app.core.errors import Conflict, FieldError, NotFound, Unprocessable
from app.core.ids import new_id
from app.escalation.payment_plans.models import Installment, PaymentPlan
from app.escalation.payment_plans.schemas import (
    InstallmentOut,
    InstallmentStatus,
    PaymentPlanCreate,
    PaymentPlanOut,
)
from app.ledger.invoices.models import Invoice


async def create_plan(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: PaymentPlanCreate, clock: Clock
) -> PaymentPlan:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if invoice.status != "open":
        raise Conflict(f"The invoice is {invoice.status}; no payment plan can be agreed.")
    total = sum((i.amount for i in data.installments), Decimal(0))
    if total != invoice.balance:
        raise Unprocessable(
            f"The installments sum to {total:.2f}, not the balance {invoice.balance:.2f}.",
            errors=[FieldError(loc=["body", "installments"], msg="must sum to the balance")],
        )
    if data.installments[0].due_date < clock.today():
        raise Unprocessable(
            "The first installment is in the past.",
            errors=[FieldError(loc=["body", "installments", 0, "due_date"], msg="in the past")],
        )
    # A new agreement replaces the previous one.
    await session.execute(
        update(PaymentPlan)
        .where(PaymentPlan.invoice_id == invoice.id, PaymentPlan.status == "active")
        .values(status="replaced")
    )
    plan = PaymentPlan(
        id=new_id("plan"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        status="active",
        paid_before=invoice.paid_amount,
    )
    session.add(plan)
    await session.flush()
    session.add_all(
        Installment(plan_id=plan.id, seq=n, due_date=i.due_date, amount=i.amount)
        for n, i in enumerate(data.installments, start=1)
    )
    mark_invoice_changed(session, invoice, clock)
    await flush(session)
    await session.refresh(plan)
    return plan


async def plan_out(
    session: AsyncSession, plan: PaymentPlan, invoice: Invoice, today: dt.date
) -> PaymentPlanOut:
    rows = (
        (
            await session.execute(
                select(Installment).where(Installment.plan_id == plan.id).order_by(Installment.seq)
            )
        )
        .scalars()
        .all()
    )
    paid = invoice.paid_amount - plan.paid_before
    cumulative = Decimal(0)
    out: list[InstallmentOut] = []
    on_track = True
    status: InstallmentStatus
    for row in rows:
        cumulative += row.amount
        if paid >= cumulative:
            status = "paid"
        elif row.due_date < today:
            status, on_track = "missed", False
        else:
            status = "due"
        out.append(
            InstallmentOut(seq=row.seq, due_date=row.due_date, amount=row.amount, status=status)
        )
    return PaymentPlanOut(
        id=plan.id,
        invoice_id=plan.invoice_id,
        status=plan.status,
        installments=out,
        paid_since_plan=paid,
        on_track=on_track,
        created_at=plan.created_at,
    )


async def get_active_plan(
    session: AsyncSession, tenant_id: str, invoice_id: str
) -> tuple[PaymentPlan, Invoice]:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id)
    plan = (
        await session.execute(
            select(PaymentPlan)
            .where(PaymentPlan.invoice_id == invoice.id)
            .order_by(PaymentPlan.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if plan is None:
        raise NotFound("This invoice has no payment plan.")
    return plan, invoice
