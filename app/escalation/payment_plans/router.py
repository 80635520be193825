from __future__ import annotations

from fastapi import APIRouter, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.escalation.payment_plans import service
from app.escalation.payment_plans.schemas import PaymentPlanCreate, PaymentPlanOut
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}/payment-plan", tags=["payments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Agree a payment plan (échéancier)",
    description="Installments must sum to the balance, in increasing date order. While each is "
    "paid on time the escalation pauses; a missed one resumes it. A new plan replaces the "
    "previous one.",
    responses=problem_responses(401, 404, 409, 422),
)
async def create_payment_plan(
    invoice_id: str,
    body: PaymentPlanCreate,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
) -> PaymentPlanOut:
    plan = await service.create_plan(session, tenant_id, invoice_id, body, clock)
    _, invoice = await service.get_active_plan(session, tenant_id, invoice_id)
    return await service.plan_out(session, plan, invoice, clock.today())


@router.get("", summary="The invoice's current payment plan", responses=problem_responses(401, 404))
async def get_payment_plan(
    invoice_id: str, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> PaymentPlanOut:
    plan, invoice = await service.get_active_plan(session, tenant_id, invoice_id)
    return await service.plan_out(session, plan, invoice, clock.today())
