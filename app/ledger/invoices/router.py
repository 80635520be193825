from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.db import SessionDep, read_connection
from app.core.errors import FieldError, NotFound, Unprocessable, problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.core.types import Day
from app.ledger.invoices import repository, service
from app.ledger.invoices.schemas import (
    BatchInvoices,
    BatchResult,
    CloseInvoice,
    DunningStage,
    InvoiceCreate,
    InvoiceFilters,
    InvoiceOut,
    InvoiceStatus,
    InvoiceUpdate,
)
from app.tenants.auth import ClockDep, TenantId

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an invoice",
    description="`due_date` defaults to the issue date plus the creditor's payment terms. Terms "
    "beyond the legal maximum (C. com. L441-10) are accepted and reported in `warnings`.",
    responses=problem_responses(401, 409, 422),
)
async def create_invoice(
    body: InvoiceCreate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    invoice = await service.create_invoice(session, tenant_id, body, clock)
    return service.to_out(invoice, clock.today())


@router.post(
    "/batch",
    summary="Upsert up to 1000 invoices by (creditor_id, number)",
    description="Each item is an invoice as for `POST /v1/invoices`. Bad items are reported by "
    "index with a problem and never block the good ones; unchanged items write nothing.",
    responses=problem_responses(401, 413, 422),
)
async def upsert_invoices(
    body: BatchInvoices, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> BatchResult:
    return await service.upsert_batch(session, tenant_id, body.invoices, clock)


def invoice_filters(
    creditor_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this creditor's invoices", examples=["cred_01J..."]),
    ] = None,
    debtor_id: Annotated[
        str | None,
        Query(max_length=40, description="Only this debtor's invoices", examples=["debt_01J..."]),
    ] = None,
    number: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The invoice number, exactly (unique per creditor, so up to one per "
            "creditor)",
            examples=["F-2026-001"],
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(max_length=200, description="Your own id of the invoice, exactly", examples=["42"]),
    ] = None,
    status: Annotated[
        InvoiceStatus | None, Query(description="Lifecycle status", examples=["open"])
    ] = None,
    stage: Annotated[
        DunningStage | None,
        Query(description="Dunning stage (`dunning.stage`)", examples=["formal_notice_required"]),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="true: open and past due; false: the others", examples=[True]),
    ] = None,
    due_after: Annotated[
        Day | None,
        Query(description="Due on or after this day", examples=["2026-01-01"]),
    ] = None,
    due_before: Annotated[
        Day | None,
        Query(
            description="Due on or before this day (not before `due_after`)",
            examples=["2026-03-31"],
        ),
    ] = None,
) -> InvoiceFilters:
    if due_after is not None and due_before is not None and due_after > due_before:
        raise Unprocessable(
            f"due_after ({due_after}) is after due_before ({due_before}): no invoice can match.",
            errors=[FieldError(loc=["query", "due_after"], msg="after due_before")],
        )
    return InvoiceFilters(
        creditor_id=creditor_id,
        debtor_id=debtor_id,
        number=number,
        external_id=external_id,
        status=status,
        stage=stage,
        overdue=overdue,
        due_after=due_after,
        due_before=due_before,
    )


@router.get(
    "",
    summary="List invoices",
    description="Every filter given narrows the list (they combine with AND); another tenant's "
    "invoices never match. Creation order, oldest first unless `order=desc`.",
    responses=problem_responses(401, 422),
)
async def list_invoices(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    filters: Annotated[InvoiceFilters, Depends(invoice_filters)],
) -> Page[InvoiceOut]:
    return await service.list_invoices(session, tenant_id, page, clock, filters)


@router.get("/{invoice_id}", summary="Get an invoice", responses=problem_responses(401, 404))
async def get_invoice(
    invoice_id: str, tenant_id: TenantId, request: Request, clock: ClockDep
) -> InvoiceOut:
    async with read_connection(request) as conn:
        invoice = await repository.find(conn, tenant_id, invoice_id)
    if invoice is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return service.to_out(invoice, clock.today())


@router.patch(
    "/{invoice_id}",
    summary="Correct an invoice",
    description="Amounts and dates can change while the invoice is open; the escalation is "
    "re-planned.",
    responses=problem_responses(401, 404, 409, 422),
)
async def update_invoice(
    invoice_id: str, body: InvoiceUpdate, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    invoice = await service.update_invoice(session, tenant_id, invoice_id, body, clock)
    return service.to_out(invoice, clock.today())


@router.post(
    "/{invoice_id}/cancel",
    summary="Cancel an invoice (credit note)",
    responses=problem_responses(401, 404, 409, 422),
)
async def cancel_invoice(
    invoice_id: str, body: CloseInvoice, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    return await _close(session, tenant_id, invoice_id, "cancelled", body, clock)


@router.post(
    "/{invoice_id}/write-off",
    summary="Write an invoice off (irrecoverable)",
    responses=problem_responses(401, 404, 409, 422),
)
async def write_off_invoice(
    invoice_id: str, body: CloseInvoice, tenant_id: TenantId, session: SessionDep, clock: ClockDep
) -> InvoiceOut:
    return await _close(session, tenant_id, invoice_id, "written_off", body, clock)


async def _close(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    status: InvoiceStatus,
    body: CloseInvoice,
    clock: Clock,
) -> InvoiceOut:
    invoice = await service.close_invoice(
        session, tenant_id, invoice_id, status=status, reason=body.reason, clock=clock
    )
    return service.to_out(invoice, clock.today())
