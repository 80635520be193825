"""Webhook endpoints (CRUD, secrets, SSRF checks) and the fan-out of events to deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import get_owned
from app.core.errors import Conflict, FieldError, NotFound, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of, paginate
from app.core.settings import Settings
from app.outbox.events.models import Event
from app.outbox.webhooks import repository
from app.outbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.outbox.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryStatus,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)
from app.outbox.webhooks.signing import generate_secret
from app.outbox.webhooks.url_safety import Resolver, UnsafeUrl, resolve_and_check

# After a rotation the old secret keeps signing this long, so receivers can switch over.
ROTATION_OVERLAP = dt.timedelta(hours=24)

# The DNS resolver used by the SSRF checks (creation and delivery). None: the event loop's
# getaddrinfo. Tests replace it to simulate names resolving to private addresses.
RESOLVER: Resolver | None = None


async def check_url(url: str, settings: Settings) -> None:
    """422 when the URL points (directly or through DNS) at a non-public address."""
    try:
        await resolve_and_check(
            url, allow_private=settings.webhook_allow_private_urls, resolver=RESOLVER
        )
    except UnsafeUrl as exc:
        raise Unprocessable(
            f"url: {exc}", errors=[FieldError(loc=["body", "url"], msg=str(exc))]
        ) from None


async def create_endpoint(
    session: AsyncSession, tenant_id: str, data: WebhookEndpointCreate, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (shown to the client this once)."""
    await check_url(data.url, settings)
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        tenant_id=tenant_id,
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        enabled=data.enabled,
        secret=secret,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, tenant_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    endpoint = await get_owned(session, WebhookEndpoint, tenant_id, endpoint_id, lock=lock)
    if endpoint.deleted_at is not None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


async def disable_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, reason: str | None
) -> int:
    """Disable (the row must be locked) and cancel its pending deliveries; returns how many."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    await session.flush()
    return await repository.cancel_pending(session, endpoint.id)


async def update_endpoint(
    session: AsyncSession,
    tenant_id: str,
    endpoint_id: str,
    data: WebhookEndpointUpdate,
    settings: Settings,
) -> WebhookEndpoint:
    # The lock orders this change with concurrent fan-outs (they read endpoints FOR SHARE).
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, lock=True)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != endpoint.url:
        await check_url(changes["url"], settings)
    enabled = changes.pop("enabled", None)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if enabled is True and not endpoint.enabled:
        # Re-enabled by its owner: start afresh, as if it never failed.
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    elif enabled is False and endpoint.enabled:
        await disable_endpoint(session, endpoint, None)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def delete_endpoint(
    session: AsyncSession, tenant_id: str, endpoint_id: str, clock: Clock
) -> None:
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, lock=True)
    await disable_endpoint(session, endpoint, "deleted")
    endpoint.deleted_at = clock.now()
    # It will never sign again: drop the secrets rather than keep them around.
    endpoint.secret = ""
    endpoint.previous_secret = None
    endpoint.previous_secret_expires_at = None
    await session.flush()


async def rotate_secret(
    session: AsyncSession, tenant_id: str, endpoint_id: str, clock: Clock
) -> WebhookEndpoint:
    """A new secret; the current one keeps signing alongside it for 24 h. A second rotation
    within those 24 h drops the oldest secret."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, lock=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = clock.now() + ROTATION_OVERLAP
    endpoint.secret = generate_secret()
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def list_endpoints(
    session: AsyncSession, tenant_id: str, page: PageParams
) -> Page[WebhookEndpointOut]:
    """The tenant's endpoints, deleted ones left out."""
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
    )
    return await page_of(session, stmt, WebhookEndpoint.id, page, WebhookEndpointOut.model_validate)


async def list_deliveries(
    session: AsyncSession,
    tenant_id: str,
    endpoint_id: str,
    page: PageParams,
    status: DeliveryStatus | None = None,
) -> tuple[list[DeliveryOut], bool, str | None]:
    await get_endpoint(session, tenant_id, endpoint_id)
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.tenant_id == tenant_id
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows, has_more, cursor = await paginate(session, stmt, WebhookDelivery.id, page)
    ids = [d.id for d in rows]
    types = {
        row.id: row.type
        for row in await session.execute(
            select(Event.id, Event.type).where(Event.id.in_({d.event_id for d in rows}))
        )
    }
    attempts: dict[str, list[AttemptOut]] = {i: [] for i in ids}
    for attempt in (
        await session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        )
    ).scalars():
        attempts[attempt.delivery_id].append(AttemptOut.model_validate(attempt))
    out = [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            event_type=types.get(d.event_id, ""),
            endpoint_id=d.endpoint_id,
            status=d.status,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            created_at=d.created_at,
            updated_at=d.updated_at,
            attempts=attempts[d.id],
        )
        for d in rows
    ]
    return out, has_more, cursor


async def redeliver(
    session: AsyncSession, tenant_id: str, event_id: str, endpoint_id: str | None, clock: Clock
) -> list[str]:
    """New pending deliveries of the event, due now: to `endpoint_id` only (which must be
    enabled), or to every enabled endpoint subscribed to its type. Returns their ids."""
    await get_owned(session, Event, tenant_id, event_id)
    if endpoint_id is not None:
        try:
            endpoint = await get_endpoint(session, tenant_id, endpoint_id)
        except NotFound:
            raise Unprocessable(
                f"No webhook endpoint {endpoint_id}.",
                errors=[FieldError(loc=["body", "endpoint_id"], msg="no such webhook endpoint")],
            ) from None
        if not endpoint.enabled:
            raise Conflict(f"The webhook endpoint {endpoint_id} is disabled; enable it first.")
    return await repository.insert_deliveries(
        session,
        [event_id],
        now=clock.now(),
        endpoint_id=endpoint_id,
        subscribed_only=endpoint_id is None,
    )
