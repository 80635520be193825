from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.outbox.webhooks import service
from app.outbox.webhooks import tasks as _tasks  # noqa: F401 - registers the delivery tick job
from app.outbox.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    SecretOut,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)
from app.tenants.auth import ServiceClockDep, SettingsDep, TenantId

# The real time here, also for a sandbox tenant: secrets expire and deliveries go out in the
# real world.

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook endpoint",
    description="Answers the endpoint with its `secret`, shown only here (and by "
    "rotate-secret). A URL that is not http(s), or whose host is or resolves to a loopback, "
    "private, link-local or reserved address, is refused (422).",
    responses=problem_responses(401, 422),
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, tenant_id: TenantId, session: SessionDep, settings: SettingsDep
) -> WebhookEndpointCreated:
    endpoint, secret = await service.create_endpoint(session, tenant_id, body, settings)
    out = WebhookEndpointOut.model_validate(endpoint)
    return WebhookEndpointCreated(**out.model_dump(), secret=secret)


@router.get(
    "",
    summary="List webhook endpoints",
    description="Deleted endpoints are left out. Creation order, oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_webhook_endpoints(
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[WebhookEndpointOut]:
    return await service.list_endpoints(session, tenant_id, page)


@router.get(
    "/{endpoint_id}", summary="Get a webhook endpoint", responses=problem_responses(401, 404)
)
async def get_webhook_endpoint(
    endpoint_id: str, tenant_id: TenantId, session: SessionDep
) -> WebhookEndpointOut:
    endpoint = await service.get_endpoint(session, tenant_id, endpoint_id)
    return WebhookEndpointOut.model_validate(endpoint)


@router.patch(
    "/{endpoint_id}",
    summary="Update a webhook endpoint",
    description="`enabled: false` cancels its pending deliveries; `enabled: true` re-enables "
    "an endpoint the service disabled and clears `disabled_reason` and `failing_since`.",
    responses=problem_responses(401, 404, 422),
)
async def update_webhook_endpoint(
    endpoint_id: str,
    body: WebhookEndpointUpdate,
    tenant_id: TenantId,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookEndpointOut:
    endpoint = await service.update_endpoint(session, tenant_id, endpoint_id, body, settings)
    return WebhookEndpointOut.model_validate(endpoint)


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint",
    description="Its pending deliveries are cancelled.",
    responses=problem_responses(401, 404),
)
async def delete_webhook_endpoint(
    endpoint_id: str, tenant_id: TenantId, session: SessionDep, clock: ServiceClockDep
) -> Response:
    await service.delete_endpoint(session, tenant_id, endpoint_id, clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    summary="Rotate the signing secret",
    description="Answers the new secret. For 24 h every delivery carries two signatures, one "
    "per secret, so receivers can switch without losing any; then only the new one.",
    responses=problem_responses(401, 404),
)
async def rotate_webhook_secret(
    endpoint_id: str, tenant_id: TenantId, session: SessionDep, clock: ServiceClockDep
) -> SecretOut:
    endpoint = await service.rotate_secret(session, tenant_id, endpoint_id, clock)
    assert endpoint.previous_secret_expires_at is not None
    return SecretOut(
        secret=endpoint.secret, previous_secret_expires_at=endpoint.previous_secret_expires_at
    )


@router.get(
    "/{endpoint_id}/deliveries",
    summary="List an endpoint's deliveries and their attempts",
    description="Oldest first, or newest first with `order=desc`. Each attempt shows the HTTP "
    "status (null when none was received), its duration, the error and the first 2 KB of the "
    "answer.",
    responses=problem_responses(401, 404, 422),
)
async def list_webhook_deliveries(
    endpoint_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    status_filter: Annotated[
        DeliveryStatus | None,
        Query(alias="status", description="Only deliveries in this state", examples=["failed"]),
    ] = None,
) -> Page[DeliveryOut]:
    data, has_more, cursor = await service.list_deliveries(
        session, tenant_id, endpoint_id, page, status_filter
    )
    return Page(data=data, has_more=has_more, next_cursor=cursor)
