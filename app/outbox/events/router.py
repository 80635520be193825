from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, status

from app.core.db import SessionDep, read_connection
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.outbox.events import service
from app.outbox.events import tasks as _tasks  # noqa: F401 - registers the housekeeping tick job
from app.outbox.events.schemas import EventOut, RedeliverOut, RedeliverRequest
from app.tenants.auth import ServiceClockDep, SettingsDep, TenantId

# The real time here, also for a sandbox tenant: retention and redeliveries are the real world's
# (its events stay visible however far its test clock moves).

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get(
    "",
    summary="List events",
    description="Oldest first, or newest first with `order=desc`; kept for "
    "RELANCE_EVENT_RETENTION_DAYS (30 by default).",
    responses=problem_responses(401, 422),
)
async def list_events(
    tenant_id: TenantId,
    request: Request,
    settings: SettingsDep,
    clock: ServiceClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    type: Annotated[
        str | None,
        Query(max_length=64, description="Only events of this type", examples=["invoice.overdue"]),
    ] = None,
    invoice_id: Annotated[
        str | None,
        Query(max_length=40, description="Only events about this invoice", examples=["inv_01J..."]),
    ] = None,
) -> Page[EventOut]:
    async with read_connection(request) as conn:
        return await service.list_events(
            conn, tenant_id, page, settings, clock, type=type, invoice_id=invoice_id
        )


@router.get("/{event_id}", summary="Get an event", responses=problem_responses(401, 404))
async def get_event(
    event_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    settings: SettingsDep,
    clock: ServiceClockDep,
) -> EventOut:
    return EventOut.model_validate(
        await service.visible_event(session, tenant_id, event_id, settings, clock)
    )


@router.post(
    "/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deliver an event again",
    description="Creates new deliveries, due now: to `endpoint_id` (even if it does not "
    "subscribe to the event's type), or without a body to every enabled endpoint subscribed "
    "to it. Answers the ids of the deliveries created (empty when no endpoint matches).",
    responses=problem_responses(401, 404, 409, 422),
)
async def redeliver_event(
    event_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ServiceClockDep,
    settings: SettingsDep,
    body: Annotated[RedeliverRequest | None, Body()] = None,
) -> RedeliverOut:
    endpoint_id = body.endpoint_id if body is not None else None
    ids = await service.redeliver(session, tenant_id, event_id, endpoint_id, settings, clock)
    return RedeliverOut(delivery_ids=ids)
