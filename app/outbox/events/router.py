from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status
from sqlalchemy import select

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import NotFound, problem_responses
from app.core.pagination import Page, PageParams, page_of, page_params
from app.core.settings import Settings
from app.outbox.events import tasks as _tasks  # noqa: F401 - registers the housekeeping tick job
from app.outbox.events.models import Event
from app.outbox.events.schemas import EventOut, RedeliverOut, RedeliverRequest
from app.outbox.webhooks import service as webhooks
from app.tenants.auth import ClockDep, SettingsDep, TenantId

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get(
    "",
    summary="List events",
    description="Oldest first; kept for RELANCE_EVENT_RETENTION_DAYS (30 by default).",
    responses=problem_responses(401, 422),
)
async def list_events(
    tenant_id: TenantId,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    type: Annotated[str | None, Query(max_length=64, description="e.g. invoice.overdue")] = None,
    invoice_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[EventOut]:
    stmt = select(Event).where(
        Event.tenant_id == tenant_id, Event.created_at >= retention_cutoff(settings, clock)
    )
    if type is not None:
        stmt = stmt.where(Event.type == type)
    if invoice_id is not None:
        stmt = stmt.where(Event.invoice_id == invoice_id)
    return await page_of(session, stmt, Event.id, page, EventOut.model_validate)


def retention_cutoff(settings: Settings, clock: Clock) -> dt.datetime:
    return clock.now() - dt.timedelta(days=settings.event_retention_days)


async def _visible_event(
    session: SessionDep, tenant_id: str, event_id: str, settings: Settings, clock: Clock
) -> Event:
    event = await get_owned(session, Event, tenant_id, event_id)
    if event.created_at < retention_cutoff(settings, clock):
        raise NotFound(f"Event {event_id} is past its retention period.")
    return event


@router.get("/{event_id}", summary="Get an event", responses=problem_responses(401, 404))
async def get_event(
    event_id: str, tenant_id: TenantId, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> EventOut:
    return EventOut.model_validate(
        await _visible_event(session, tenant_id, event_id, settings, clock)
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
    clock: ClockDep,
    settings: SettingsDep,
    body: Annotated[RedeliverRequest | None, Body()] = None,
) -> RedeliverOut:
    await _visible_event(session, tenant_id, event_id, settings, clock)
    endpoint_id = body.endpoint_id if body is not None else None
    ids = await webhooks.redeliver(session, tenant_id, event_id, endpoint_id, clock)
    return RedeliverOut(delivery_ids=ids)
