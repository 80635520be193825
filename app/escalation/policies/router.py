from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.escalation.policies import service
from app.escalation.policies.models import DunningPolicy
from app.escalation.policies.schemas import PolicyCreate, PolicyOut
from app.ledger.creditors.models import DEFAULT_POLICY_ID
from app.tenants.auth import TenantId

router = APIRouter(prefix="/v1/dunning-policies", tags=["dunning policies"])


@router.get(
    "/default",
    summary="The built-in policy from the seed guides",
    description="Pre-reminder D-7 (e-mail), reminder 1 D+3 (e-mail), reminder 2 D+15 (letter), "
    "mise en demeure D+30 (registered letter, deadline 8 days from the AR). Steps fall on the "
    "creditor's business days.",
    responses=problem_responses(401),
)
async def get_default_policy(tenant_id: TenantId) -> PolicyOut:
    return service.DEFAULT_POLICY_OUT


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a dunning policy",
    description="Refused (422, with the reasons) when it breaks the rules: steps in increasing "
    "order, one formal notice by registered letter last, a deadline of 8 to 15 days, and at most "
    "3 e-mails, 3 calls and 3 letters in the amicable phase, counting the pre-reminder.",
    responses=problem_responses(401, 422),
)
async def create_policy(body: PolicyCreate, tenant_id: TenantId, session: SessionDep) -> PolicyOut:
    return service.stored_out(await service.create_policy(session, tenant_id, body))


@router.get(
    "",
    summary="List the tenant's dunning policies",
    description="The policies the tenant created (not the built-in default). Creation order, "
    "oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_policies(
    tenant_id: TenantId, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[PolicyOut]:
    return await service.list_policies(session, tenant_id, page)


@router.get("/{policy_id}", summary="Get a dunning policy", responses=problem_responses(401, 404))
async def get_policy(policy_id: str, tenant_id: TenantId, session: SessionDep) -> PolicyOut:
    if policy_id == DEFAULT_POLICY_ID:
        return service.DEFAULT_POLICY_OUT
    return service.stored_out(await get_owned(session, DunningPolicy, tenant_id, policy_id))
