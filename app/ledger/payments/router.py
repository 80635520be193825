from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.payments import service
from app.ledger.payments.schemas import PaymentCreate, PaymentOut
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices/{invoice_id}/payments", tags=["payments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a payment",
    description="Partial or full. An overpayment is refused (422) and nothing is stored; a "
    "balance of zero makes the invoice `paid` and emits `invoice.paid`.",
    responses=problem_responses(401, 404, 409, 422),
)
async def record_payment(
    invoice_id: str, body: PaymentCreate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> PaymentOut:
    payment = await service.record_payment(session, tenant_id, invoice_id, body, clock)
    return PaymentOut.model_validate(payment)


@router.get(
    "",
    summary="List an invoice's payments",
    description="In the order they were recorded, oldest first unless `order=desc`.",
    responses=problem_responses(401, 404, 422),
)
async def list_payments(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[PaymentOut]:
    return await service.list_payments(session, tenant_id, invoice_id, page)
