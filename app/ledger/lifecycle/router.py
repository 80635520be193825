from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.invoices.service import to_out as invoice_out
from app.ledger.lifecycle import service
from app.ledger.lifecycle.schemas import (
    LifecycleStatusCreate,
    LifecycleStatusOut,
    LifecycleStatusReceipt,
    RoutedLifecycleStatusCreate,
)
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1", tags=["lifecycle statuses"])

_DESCRIPTION = (
    "An AFNOR XP Z12-012 (CDAR) lifecycle status from a Plateforme Agréée. Its effect on the "
    "invoice and the escalation is given per code in the `code` field's description: receipt "
    "date (202, 203), approval (204, 205), partial approval limiting the claim (206), a dispute "
    "(207), a suspension until 209 (208), refusal (210: stage `refused`), an announced payment "
    "pausing the escalation (211), a payment (212), never delivered (213, 221: stage "
    "`undelivered`), cancellation (220), factoring (225: stage `factored`); the others are "
    "recorded only. Answers 201 with the status, its effect and the invoice; emits "
    "`invoice.lifecycle_status_received`. Idempotent on `message_id` (per tenant): the same "
    "message again answers the stored status with 200 and changes nothing; the same message_id "
    "with another body answers 409. A status that contradicts the invoice (212 on a cancelled "
    "invoice, 209 without a prior 208, 205 after 210...) answers 409 with the reason; a code not "
    "in the table 422."
)


def _receipt(
    recorded: service.Recorded, response: Response, clock: ClockDep
) -> LifecycleStatusReceipt:
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    out = service.to_out(recorded.status)
    return LifecycleStatusReceipt(
        **out.model_dump(), invoice=invoice_out(recorded.invoice, clock.today())
    )


@router.post(
    "/invoices/{invoice_id}/lifecycle-statuses",
    status_code=status.HTTP_201_CREATED,
    summary="Record an e-invoice lifecycle status",
    description=_DESCRIPTION,
    responses={
        200: {"description": "The same message_id again: the stored status, nothing changed"},
        **problem_responses(401, 404, 409, 422),
    },
)
async def record_status(
    invoice_id: str,
    body: LifecycleStatusCreate,
    response: Response,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
) -> LifecycleStatusReceipt:
    recorded = await service.record_status(session, tenant_id, invoice_id, body, clock)
    return _receipt(recorded, response, clock)


@router.post(
    "/lifecycle-statuses",
    status_code=status.HTTP_201_CREATED,
    summary="Record a lifecycle status routed by invoice number",
    description="As `POST /v1/invoices/{id}/lifecycle-statuses`, the invoice named as a "
    "platform routes it: `creditor_id` (or the seller's SIREN, `seller_siren`) and "
    "`invoice_number`. An invoice that neither names answers 422.\n\n" + _DESCRIPTION,
    responses={
        200: {"description": "The same message_id again: the stored status, nothing changed"},
        **problem_responses(401, 409, 422),
    },
)
async def record_routed_status(
    body: RoutedLifecycleStatusCreate,
    response: Response,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
) -> LifecycleStatusReceipt:
    invoice_id = await service.route(session, tenant_id, body)
    recorded = await service.record_status(session, tenant_id, invoice_id, body, clock)
    return _receipt(recorded, response, clock)


@router.get(
    "/invoices/{invoice_id}/lifecycle-statuses",
    summary="List an invoice's lifecycle statuses",
    description="In the order they were received, oldest first unless `order=desc`.",
    responses=problem_responses(401, 404, 422),
)
async def list_statuses(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[LifecycleStatusOut]:
    return await service.list_statuses(session, tenant_id, invoice_id, page)
