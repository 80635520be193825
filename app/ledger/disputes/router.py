from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.disputes import service
from app.ledger.disputes.models import Dispute
from app.ledger.disputes.schemas import DisputeCreate, DisputeOut, DisputeResolve
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1", tags=["disputes"])


@router.post(
    "/invoices/{invoice_id}/disputes",
    status_code=status.HTTP_201_CREATED,
    summary="Open a dispute (litige): pauses the escalation",
    responses=problem_responses(401, 404, 409, 422),
)
async def open_dispute(
    invoice_id: str, body: DisputeCreate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> DisputeOut:
    dispute = await service.open_dispute(session, tenant_id, invoice_id, body, clock)
    return DisputeOut.model_validate(dispute)


@router.get(
    "/invoices/{invoice_id}/disputes",
    summary="List an invoice's disputes",
    description="In the order they were opened, oldest first unless `order=desc`.",
    responses=problem_responses(401, 404, 422),
)
async def list_disputes(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[DisputeOut]:
    return await service.list_disputes(session, tenant_id, invoice_id, page)


@router.get(
    "/disputes/{dispute_id}", summary="Get a dispute", responses=problem_responses(401, 404)
)
async def get_dispute(dispute_id: str, tenant_id: TenantId, session: SessionDep) -> DisputeOut:
    return DisputeOut.model_validate(await get_owned(session, Dispute, tenant_id, dispute_id))


@router.post(
    "/disputes/{dispute_id}/resolve",
    summary="Resolve a dispute: the escalation resumes",
    responses=problem_responses(401, 404, 409, 422),
)
async def resolve_dispute(
    dispute_id: str, body: DisputeResolve, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> DisputeOut:
    dispute = await service.resolve_dispute(session, tenant_id, dispute_id, body, clock)
    return DisputeOut.model_validate(dispute)
