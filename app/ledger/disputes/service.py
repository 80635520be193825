"""Disputes (litiges): an open dispute pauses escalation until it is resolved."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import flush_or_conflict, get_owned
from app.core.db import QueuedEvent, mark_invoice_changed
from app.core.errors import Conflict
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.disputes.models import Dispute
from app.ledger.disputes.schemas import DisputeCreate, DisputeOut, DisputeResolve
from app.ledger.invoices.models import Invoice

_CONFLICTS = {"uq_disputes_open_per_invoice": "This invoice already has an open dispute."}


async def _changed(
    session: AsyncSession, invoice: Invoice, dispute: Dispute, kind: str, clock: Clock
) -> None:
    """The invoice changed with its dispute: `invoice.dispute_opened` or `_resolved`."""
    event = QueuedEvent(
        type=f"invoice.dispute_{kind}",
        occurrence=f"dispute_{kind}:{dispute.id}",
        data={"dispute": DisputeOut.model_validate(dispute).model_dump(mode="json")},
    )
    mark_invoice_changed(session, invoice, clock, event)
    await flush_or_conflict(session, _CONFLICTS)


async def open_dispute(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: DisputeCreate, clock: Clock
) -> Dispute:
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if invoice.status != "open":
        raise Conflict(f"The invoice is {invoice.status}; it cannot be disputed.")
    if invoice.disputed:
        raise Conflict("This invoice already has an open dispute.")
    dispute = Dispute(
        id=new_id("dsp"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        reason=data.reason,
        note=data.note,
        status="open",
        opened_at=clock.now(),
    )
    session.add(dispute)
    invoice.disputed = True
    await _changed(session, invoice, dispute, "opened", clock)
    return dispute


async def resolve_dispute(
    session: AsyncSession, tenant_id: str, dispute_id: str, data: DisputeResolve, clock: Clock
) -> Dispute:
    dispute = await get_owned(session, Dispute, tenant_id, dispute_id)
    invoice = await get_owned(session, Invoice, tenant_id, dispute.invoice_id, lock=True)
    await session.refresh(dispute, with_for_update=True)
    if dispute.status != "open":
        raise Conflict("This dispute is already resolved.")
    dispute.status = "resolved"
    dispute.resolved_at = clock.now()
    dispute.resolution = data.resolution
    dispute.resolution_note = data.note
    invoice.disputed = False
    await _changed(session, invoice, dispute, "resolved", clock)
    return dispute


async def list_disputes(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[DisputeOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Dispute).where(Dispute.invoice_id == invoice_id, Dispute.tenant_id == tenant_id)
    return await page_of(session, stmt, Dispute.id, page, DisputeOut.model_validate)
