from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.creditors import service
from app.ledger.creditors.models import Creditor
from app.ledger.creditors.schemas import CreditorCreate, CreditorOut, CreditorUpdate
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/creditors", tags=["creditors"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a creditor",
    responses=problem_responses(401, 409, 422),
)
async def create_creditor(
    body: CreditorCreate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> CreditorOut:
    creditor = await service.create_creditor(session, tenant_id, body, clock.today())
    return CreditorOut.model_validate(creditor)


@router.get(
    "",
    summary="List creditors",
    description="Creation order, oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_creditors(
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    external_id: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Your own id of the creditor, exactly (unique per tenant)",
            examples=["acct_8812"],
        ),
    ] = None,
) -> Page[CreditorOut]:
    return await service.list_creditors(session, tenant_id, page, external_id=external_id)


@router.get("/{creditor_id}", summary="Get a creditor", responses=problem_responses(401, 404))
async def get_creditor(creditor_id: str, tenant_id: TenantId, session: SessionDep) -> CreditorOut:
    return CreditorOut.model_validate(await get_owned(session, Creditor, tenant_id, creditor_id))


@router.patch(
    "/{creditor_id}", summary="Update a creditor", responses=problem_responses(401, 404, 409, 422)
)
async def update_creditor(
    creditor_id: str,
    body: CreditorUpdate,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
) -> CreditorOut:
    creditor = await service.update_creditor(session, tenant_id, creditor_id, body, clock.today())
    return CreditorOut.model_validate(creditor)
