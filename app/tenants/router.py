"""Admin API for tenants and API keys (bearer RELANCE_ADMIN_TOKEN; off when unset)."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.tenants import repository, service
from app.tenants.auth import AdminDep, ServiceClockDep, TenantId
from app.tenants.schemas import ApiKeyCreated, TenantCreate, TenantCreated, TenantOut

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[AdminDep])


@router.post(
    "/tenants",
    status_code=status.HTTP_201_CREATED,
    summary="Create a tenant and its first API key",
    description="`sandbox: true` creates a sandbox tenant: its time is its own test clock, "
    "starting at the real now (`GET /v1/test-clock`, `POST /v1/test-clock/advance`).",
    responses=problem_responses(401, 404, 409, 422),
)
async def create_tenant(
    body: TenantCreate, session: SessionDep, clock: ServiceClockDep
) -> TenantCreated:
    sandbox_from = clock.now() if body.sandbox else None
    tenant, key = await service.create_tenant(session, body.name, sandbox_from=sandbox_from)
    return TenantCreated(id=tenant.id, name=tenant.name, api_key=key, sandbox=tenant.sandbox)


@router.post(
    "/tenants/{tenant_id}/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Add an API key to a tenant",
    responses=problem_responses(401, 404, 409, 422),
)
async def create_api_key(tenant_id: str, session: SessionDep) -> ApiKeyCreated:
    api_key, key = await service.add_api_key(session, tenant_id)
    return ApiKeyCreated(
        id=api_key.id,
        tenant_id=api_key.tenant_id,
        prefix=api_key.prefix,
        api_key=key,
        created_at=api_key.created_at,
    )


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    responses=problem_responses(401, 404),
)
async def revoke_api_key(key_id: str, session: SessionDep, clock: ServiceClockDep) -> None:
    await service.revoke_api_key(session, key_id, clock)


me_router = APIRouter(prefix="/v1", tags=["tenant"])


@me_router.get(
    "/tenant",
    summary="The tenant this API key belongs to",
    responses=problem_responses(401),
)
async def get_current_tenant(tenant_id: TenantId, session: SessionDep) -> TenantOut:
    tenant = await repository.get_tenant(session, tenant_id)
    assert tenant is not None  # the key was just resolved to it
    return TenantOut.model_validate(tenant, from_attributes=True)
