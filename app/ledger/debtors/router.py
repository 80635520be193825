from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.core.types import Siren
from app.ledger.debtors import service
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.schemas import DebtorCreate, DebtorOut, DebtorUpdate
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a debtor of a creditor",
    responses=problem_responses(401, 409, 422),
)
async def create_debtor(body: DebtorCreate, tenant_id: TenantId, session: SessionDep) -> DebtorOut:
    return service.to_out(await service.create_debtor(session, tenant_id, body))


@router.get(
    "",
    summary="List debtors",
    description="Every filter given narrows the list (they combine with AND); another tenant's "
    "debtors never match. Creation order, oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_debtors(
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    creditor_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this creditor's debtors", examples=["cred_01J..."]),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(
            max_length=200, description="Your own id of the debtor, exactly", examples=["C-1042"]
        ),
    ] = None,
    siren: Annotated[
        Siren | None,
        Query(
            description="The debtor's SIREN (9 digits, spaces allowed; an invalid one is 422)",
            examples=["732829320"],
        ),
    ] = None,
) -> Page[DebtorOut]:
    return await service.list_debtors(
        session, tenant_id, page, creditor_id=creditor_id, external_id=external_id, siren=siren
    )


@router.get("/{debtor_id}", summary="Get a debtor", responses=problem_responses(401, 404))
async def get_debtor(debtor_id: str, tenant_id: TenantId, session: SessionDep) -> DebtorOut:
    return service.to_out(await get_owned(session, Debtor, tenant_id, debtor_id))


@router.patch(
    "/{debtor_id}",
    summary="Update a debtor (e.g. record insolvency proceedings, which stop escalation)",
    responses=problem_responses(401, 404, 409, 422),
)
async def update_debtor(
    debtor_id: str, body: DebtorUpdate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> DebtorOut:
    return service.to_out(await service.update_debtor(session, tenant_id, debtor_id, body, clock))
