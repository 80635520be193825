from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from app.core.db import SessionDep
from app.core.errors import FieldError, NotFound, Unauthorized, Unprocessable, problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.escalation.proof import service
from app.escalation.proof.providers import (
    READERS,
    SUCCESS_STATUS,
    UnreadableCallback,
    read_body,
)
from app.escalation.proof.schemas import (
    CallbackConfigOut,
    CallbackOut,
    ProofEventIn,
    ProofEventOut,
)
from app.tenants.auth import ClockDep, ServiceClockDep, TenantId
from app.tenants.models import Tenant
from app.tenants.service import KnownTenant, tenant_clock

router = APIRouter(prefix="/v1", tags=["registered mail"])

_basic = HTTPBasic(
    auto_error=False,
    scheme_name="RegisteredMailCallback",
    description="A provider's callback: the credentials of `POST "
    "/v1/registered-mail/{provider}/config` (username = its id, password = its secret)",
)


@router.post(
    "/actions/{action_id}/proof-events",
    status_code=status.HTTP_201_CREATED,
    summary="Record what the registered-mail provider reports about a mise en demeure",
    description="On a `formal_notice` by `registered_letter` or `lre` (422 otherwise). The "
    "notice's deadline (the invoice's `formal_notice_deadline`) is recomputed from all its "
    "proof events, whatever order they arrive in: from the earliest `accepted` (the AR); else, "
    "once the letter is `refused`, `neglected` (an LRE not accepted within 15 days) or "
    "`not_claimed` (an LRAR left at the post office), from its first `presented`; a `returned` "
    "letter (address unknown, NPAI) starts none: the invoice shows stage "
    "`formal_notice_required` and next step `formal_notice_resend` until a new `formal_notice` "
    "is recorded. A `proof.acknowledged_at` typed on the action takes precedence. Then the "
    "usual counting: the day of the event does not count, a deadline ending on a weekend or "
    "public holiday extends to the next business day.\n\n"
    "Idempotent: the same `report_id`, else the same (`provider`, `provider_ref`, `status`), is "
    "recorded once; a repeat answers 200 with the first event. Each new event writes "
    "`formal_notice.proof_updated`.",
    responses={
        200: {"description": "The same report, recorded before", "model": ProofEventOut},
        **problem_responses(401, 404, 409, 422),
    },
)
async def record_proof_event(
    action_id: str,
    body: ProofEventIn,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    response: Response,
) -> ProofEventOut:
    event, created = await service.record_proof_event(session, tenant_id, action_id, body, clock)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.to_out(event, clock)


@router.get(
    "/actions/{action_id}/proof-events",
    summary="List a mise en demeure's proof events",
    description="In the order they were recorded (oldest first, or newest with `order=desc`).",
    responses=problem_responses(401, 404, 422),
)
async def list_proof_events(
    action_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ProofEventOut]:
    return await service.list_proof_events_page(session, tenant_id, action_id, page, clock)


def _known_provider(provider: str) -> str:
    if provider not in READERS:
        raise NotFound(f"No registered-mail provider {provider!r}: ar24 or maileva.")
    return provider


@router.post(
    "/registered-mail/{provider}/config",
    status_code=status.HTTP_201_CREATED,
    summary="Create (or rotate) the callback secret of a registered-mail provider",
    description="The providers cannot send an API key: their callbacks carry this secret "
    "instead, which also says whose they are (a callback only ever touches this tenant's "
    "actions). Shown once; calling again replaces it at once (the old one stops working). "
    "AR24: give it `callback_url` (its webhook is a plain URL; also allow-list AR24's address "
    "185.183.140.195 at your proxy). Maileva: subscribe `callback_url` without the query, with "
    "`authentication.basic` set to `basic_auth`.",
    responses=problem_responses(401, 404),
)
async def configure_callback(
    provider: str, tenant_id: TenantId, session: SessionDep, request: Request
) -> CallbackConfigOut:
    base_url = str(request.base_url).rstrip("/")
    return await service.configure_callback(session, tenant_id, _known_provider(provider), base_url)


# Realistic payloads, for the docs (see app/escalation/proof/providers.py for their sources).
_CALLBACK_EXAMPLES: dict[str, Any] = {
    "maileva": {
        "summary": "Maileva: the AR of a registered letter came back",
        "value": {
            "source": "api.maileva.com",
            "user_id": "12345678-c014-4923-9bb9-497addd5e901",
            "client_id": "f5e22e36-c014-4923-9bb9-497addd5e901",
            "event_type": "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED",
            "resource_type": "registered_mail/v2/recipients",
            "event_date": "2026-03-19T10:23:31.137Z",
            "event_location": "FR",
            "resource_id": "0b1f3c52-8d2a-4b41-9d34-6c1c2a1e7f10",
            "resource_location": "https://api.maileva.com/registered_mail/v2/sendings/"
            "e6118f29-89c3-41e5-82e8-00cb0b7b1b0c/recipients/0b1f3c52-8d2a-4b41-9d34-6c1c2a1e7f10",
            "resource_custom_id": "act_01M8RXWX9JZTQ08RRAA1NE4BJF",
        },
    },
    "ar24": {
        "summary": "AR24: the LRE was accepted",
        "value": {"id_mail": "5417952", "status": "AR", "date": "2026-03-19T11:02:00+01:00"},
    },
}


async def _callback_tenant(
    session: SessionDep,
    provider: str,
    token: str | None,
    basic: HTTPBasicCredentials | None,
) -> str:
    """The tenant whose secret the callback carries; 401 (nothing changed) otherwise."""
    username, _, secret = (token or "").partition(".")
    if basic is not None:
        username, secret = basic.username, basic.password
    config = (
        await service.authenticate_callback(session, provider, username, secret)
        if username and secret
        else None
    )
    if config is None:
        raise Unauthorized(
            "Missing or invalid callback credentials: use the callback_url (or the Basic "
            f"credentials) of POST /v1/registered-mail/{provider}/config.",
            headers={"WWW-Authenticate": 'Basic realm="relance-registered-mail"'},
        )
    return config.tenant_id


@router.post(
    "/registered-mail/{provider}/callback",
    summary="A registered-mail provider's own callback (AR24, Maileva)",
    description="Called by the provider, not by you: with the secret of `POST "
    "/v1/registered-mail/{provider}/config` in `?token=` (AR24) or as HTTP Basic (Maileva). "
    "Without it: 401 and nothing changes. The report is read in the provider's own format, "
    "mapped onto a proof event (AR24: `dp` deposited, `ev` presented, `AR` accepted, "
    "`refused`, `negligence` neglected, `bounced` returned; Maileva: "
    "`ON_DEPOSIT_PROOF_RECEIVED` deposited, `ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED` accepted "
    "at its event_date) and matched to the tenant's formal notice by the provider's letter id: "
    "`proof.provider_ref` of the action, or of an earlier proof event (Maileva: also "
    "`resource_custom_id` = the action's id). It answers what the provider takes as received "
    "(AR24 200, Maileva 201), also for a repeat (idempotent), a letter it does not know or a "
    "status without legal effect (`matched`/`applied` false: retrying would not change "
    "anything). A body not in the provider's format answers 422. A database outage answers "
    "503: both providers retry (AR24 every 15 minutes, 48 times; Maileva 10 times).",
    responses={
        200: {"description": "AR24: received", "model": CallbackOut},
        201: {"description": "Maileva: received", "model": CallbackOut},
        **problem_responses(401, 404, 422, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": _CALLBACK_EXAMPLES,
                },
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            },
        }
    },
)
async def provider_callback(
    provider: str,
    request: Request,
    response: Response,
    session: SessionDep,
    service_clock: ServiceClockDep,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    token: Annotated[
        str | None,
        Query(max_length=200, description="The callback token (AR24's webhook URL carries it)"),
    ] = None,
) -> CallbackOut:
    provider = _known_provider(provider)
    tenant_id = await _callback_tenant(session, provider, token, basic)
    try:
        body = read_body(await request.body(), request.headers.get("content-type", ""))
        report = READERS[provider](body)
    except UnreadableCallback as unreadable:
        raise Unprocessable(
            f"Not a {provider} callback: {unreadable}.",
            errors=[FieldError(loc=["body"], msg=str(unreadable))],
        ) from None
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None  # the callback row cascades with its tenant
    clock = await tenant_clock(session, KnownTenant(tenant.id, tenant.sandbox), service_clock)
    response.status_code = SUCCESS_STATUS[provider]
    return await service.apply_callback(session, tenant_id, provider, report, clock)
