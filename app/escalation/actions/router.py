from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.core.crud import get_owned
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.escalation.actions import service
from app.escalation.actions.models import Action
from app.escalation.actions.schemas import (
    ActionCreate,
    ActionOut,
    ActionUpdate,
    DebtorActionCreate,
    DebtorActionsOut,
)
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1", tags=["actions"])


@router.post(
    "/invoices/{invoice_id}/actions",
    status_code=status.HTTP_201_CREATED,
    summary="Record an action (reminder sent, call, mise en demeure, promise, court filing...)",
    description="A contact beyond the amicable caps (3 e-mails, 3 calls, 3 letters, counting the "
    "pre-reminder) is refused with 409 unless `override: true` with a `note`. A `formal_notice` "
    "needs channel `registered_letter` or `commissaire_de_justice` and `proof.tracking_number`; "
    "its deadline runs from `proof.served_on` (date of service, commissaire de justice), else "
    "`proof.acknowledged_at` (AR) or `proof.presented_at` (first presentation), and extends to "
    "the next business day. Proof dates take a date or an RFC 3339 timestamp (its local day "
    "counts). A `promise_to_pay` with `promised_date` pauses the escalation until that day plus "
    "the policy's grace period.\n\n"
    "Uncontested commercial claims (loi du 23 avril 2026, CPCE L126-1 and following): a "
    "`commandement_de_payer` is refused (422) against a consumer, a debtor under insolvency "
    "proceedings, an invoice with an open dispute or not yet due, or without "
    "`proof.tracking_number`; its `proof.served_on` starts the debtor's month. A "
    "`pv_non_contestation` needs a commandement with its date of service and is refused before "
    "8 days after the end of that month. The timeline shows the month and the next step.",
    responses=problem_responses(401, 404, 409, 422),
)
async def record_action(
    invoice_id: str, body: ActionCreate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> ActionOut:
    return service.to_out(await service.record_action(session, tenant_id, invoice_id, body, clock))


@router.get(
    "/invoices/{invoice_id}/actions",
    summary="List an invoice's recorded actions, in the order they were recorded",
    description="Oldest first, or newest first with `order=desc`. The timeline "
    "(`GET /v1/invoices/{id}/timeline`) orders them by `performed_at`.",
    responses=problem_responses(401, 404, 422),
)
async def list_actions(
    invoice_id: str,
    tenant_id: TenantId,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ActionOut]:
    return await service.list_actions_page(session, tenant_id, invoice_id, page)


@router.get("/actions/{action_id}", summary="Get an action", responses=problem_responses(401, 404))
async def get_action(action_id: str, tenant_id: TenantId, session: SessionDep) -> ActionOut:
    return service.to_out(await get_owned(session, Action, tenant_id, action_id))


@router.patch(
    "/actions/{action_id}",
    summary="Complete an action: add the AR date, the date of service, a note, an outcome",
    description="Actions are never deleted and their type, channel and date never change: "
    "record a new action to correct one. Proof already given is not rewritten (409). "
    "`proof.served_on` only on an action by `commissaire_de_justice` (422 otherwise).",
    responses=problem_responses(401, 404, 409, 422),
)
async def update_action(
    action_id: str, body: ActionUpdate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> ActionOut:
    return service.to_out(await service.update_action(session, tenant_id, action_id, body, clock))


@router.post(
    "/debtors/{debtor_id}/actions",
    status_code=status.HTTP_201_CREATED,
    summary="Record one action for several invoices of a debtor (a grouped letter)",
    description="What a grouped event (`debtor.dunning_step_due`, "
    "`debtor.formal_notice_required`) asked for, recorded once for the invoices it listed: "
    "each invoice in `invoice_ids` gets the action, checked as `POST "
    "/v1/invoices/{id}/actions` checks it (caps, proof, procedure), all or none. A grouped "
    "`formal_notice` starts each invoice's deadline (from its `proof`). An invoice of another "
    "debtor is refused (422).",
    responses=problem_responses(401, 404, 409, 422),
)
async def record_debtor_action(
    debtor_id: str,
    body: DebtorActionCreate,
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
) -> DebtorActionsOut:
    actions = await service.record_debtor_action(session, tenant_id, debtor_id, body, clock)
    return DebtorActionsOut(debtor_id=debtor_id, actions=[service.to_out(a) for a in actions])
