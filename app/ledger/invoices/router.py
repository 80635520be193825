from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.db import SessionDep, read_connection
from app.core.errors import NotFound, problem_responses
from app.core.pagination import Page, PageParams, page_params
from app.ledger.invoices import repository, service
from app.ledger.invoices.schemas import (
    BatchInvoices,
    BatchResult,
    CloseInvoice,
    InvoiceCreate,
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


@router.get("", summary="List invoices", responses=problem_responses(401, 422))
async def list_invoices(
    tenant_id: TenantId,
    session: SessionDep,
    clock: ClockDep,
    page: Annotated[PageParams, Depends(page_params)],
    creditor_id: Annotated[str | None, Query(max_length=40)] = None,
    debtor_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[InvoiceStatus | None, Query()] = None,
    overdue: Annotated[
        bool | None, Query(description="true: open and past due; false: the others")
    ] = None,
) -> Page[InvoiceOut]:
    return await service.list_invoices(
        session,
        tenant_id,
        page,
        clock,
        creditor_id=creditor_id,
        debtor_id=debtor_id,
        status=status,
        overdue=overdue,
    )


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
