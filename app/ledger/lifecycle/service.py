"""E-invoice lifecycle statuses received from a Plateforme Agréée: each is recorded once (per
message_id), checked against the invoice, and applied through the ledger's own records (a dispute
for 207, a payment for 212, the cancel path for 220) and the invoice's lifecycle facts
(app.legal.einvoicing). It ends, like every ledger write, with `mark_invoice_changed`: the
escalation re-plans the invoice from the new facts before the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import flush_or_conflict, get_owned
from app.core.db import QueuedEvent, flush, mark_invoice_changed
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.ledger.creditors.models import Creditor
from app.ledger.disputes.schemas import DisputeCreate, DisputeReason
from app.ledger.disputes.service import open_dispute
from app.ledger.invoices.models import Invoice
from app.ledger.invoices.service import close_invoice
from app.ledger.lifecycle.models import LifecycleStatus
from app.ledger.lifecycle.schemas import (
    LifecycleStatusFields,
    LifecycleStatusOut,
    RoutedLifecycleStatusCreate,
)
from app.ledger.payments.schemas import PaymentCreate
from app.ledger.payments.service import record_payment
from app.legal.einvoicing import STATUSES, InvoiceFacts, apply_status, definition

EVENT_TYPE: Final = "invoice.lifecycle_status_received"
_CONFLICTS = {
    "uq_lifecycle_statuses_tenant_id_message_id": "This message_id was recorded meanwhile; "
    "send it again to get the stored status."
}
# The fields a replayed message must repeat exactly (besides the invoice).
_COMPARED: Final = ("code", "at", "reason_code", "reason", "amount", "platform")

# CDAR reason codes (as the platforms send them) -> the dispute's reason; others: "other".
_DISPUTE_REASONS: Final[dict[str, DisputeReason]] = {
    "QUALITE_ERR": "quality",
    "LIVR_INCOMP": "not_received",
    **dict.fromkeys(
        ("MONTANTTOTAL_ERR", "CALCUL_ERR", "PU_ERR", "QTE_ERR", "REM_ERR", "TX_TVA_ERR"), "amount"
    ),
    **dict.fromkeys(
        ("CMD_ERR", "ART_ERR", "REF_ERR", "REF_CT_ABSENT", "SIRET_ERR", "ADR_ERR", "DOUBLON",
         "DOUBLE_FACT", "MODPAI_ERR", "COORD_BANC_ERR", "NON_CONFORME", "DEST_ERR"),
        "billing_error",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    status: LifecycleStatus
    invoice: Invoice
    replayed: bool  # the same message again: nothing changed


def to_out(status: LifecycleStatus) -> LifecycleStatusOut:
    entry = STATUSES[status.code]  # type: ignore[index]
    return LifecycleStatusOut(
        id=status.id,
        invoice_id=status.invoice_id,
        code=entry.code,
        label=entry.label,
        at=status.at,
        reason_code=status.reason_code,
        reason=status.reason,
        amount=status.amount,
        platform=status.platform,
        message_id=status.message_id,
        effect=status.effect,
        effect_description=entry.meaning,
        dispute_id=status.dispute_id,
        payment_id=status.payment_id,
        created_at=status.created_at,
    )


async def _replay(
    session: AsyncSession, tenant_id: str, data: LifecycleStatusFields, invoice_id: str | None
) -> Recorded | None:
    """The stored status of the same message, or None; 409 if the body differs."""
    if data.message_id is None:
        return None
    stored = (
        await session.execute(
            select(LifecycleStatus).where(
                LifecycleStatus.tenant_id == tenant_id,
                LifecycleStatus.message_id == data.message_id,
            )
        )
    ).scalar_one_or_none()
    if stored is None:
        return None
    same = all(getattr(stored, f) == getattr(data, f) for f in _COMPARED)
    if not same or (invoice_id is not None and stored.invoice_id != invoice_id):
        raise Conflict(
            f"message_id {data.message_id} was already recorded with another body "
            f"(status {stored.id}); a message is recorded once."
        )
    invoice = await get_owned(session, Invoice, tenant_id, stored.invoice_id)
    return Recorded(stored, invoice, replayed=True)


async def record_status(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    data: LifecycleStatusFields,
    clock: Clock,
) -> Recorded:
    replay = await _replay(session, tenant_id, data, invoice_id)
    if replay is not None:
        return replay
    definition(data.code)
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    day = clock.local_day(data.at)
    facts = apply_status(
        invoice.lifecycle_facts, _invoice_facts(invoice), data.code, day, data.amount
    )
    status = LifecycleStatus(
        id=new_id("lcs"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        effect=definition(data.code).effect,
        **data.model_dump(include={"code", "at", "reason_code", "reason", "amount", "platform",
                                   "message_id"}),
    )  # fmt: skip
    await _ledger_effect(session, tenant_id, invoice, status, clock)
    invoice.set_lifecycle_facts(facts)
    session.add(status)
    await flush_or_conflict(session, _CONFLICTS)
    await session.refresh(status)
    event = QueuedEvent(
        type=EVENT_TYPE,
        occurrence=f"lifecycle_status:{status.id}",
        data={"lifecycle_status": to_out(status).model_dump(mode="json")},
    )
    mark_invoice_changed(session, invoice, clock, event)
    await flush(session)
    return Recorded(status, invoice, replayed=False)


def _invoice_facts(invoice: Invoice) -> InvoiceFacts:
    return InvoiceFacts(
        status=invoice.status,
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        disputed=invoice.disputed,
    )


async def _ledger_effect(
    session: AsyncSession, tenant_id: str, invoice: Invoice, status: LifecycleStatus, clock: Clock
) -> None:
    """The ledger records a status stands for: a dispute (207), a payment (212), the cancel
    path (220). Each ends with the seam itself."""
    if status.effect == "dispute_opened":
        dispute = await open_dispute(session, tenant_id, invoice.id, _dispute(status), clock)
        status.dispute_id = dispute.id
    elif status.effect == "payment_recorded":
        payment = await record_payment(
            session, tenant_id, invoice.id, _payment(status, invoice, clock), clock
        )
        status.payment_id = payment.id
    elif status.effect == "cancelled":
        reason = f"E-invoice lifecycle status 220 (Annulée){_reason_suffix(status)}"
        await close_invoice(
            session, tenant_id, invoice.id, status="cancelled", reason=reason[:2000], clock=clock
        )


def _reason_suffix(status: LifecycleStatus) -> str:
    parts = [p for p in (status.reason_code, status.reason) if p]
    return f": {' '.join(parts)}" if parts else ""


def _dispute(status: LifecycleStatus) -> DisputeCreate:
    reason = _DISPUTE_REASONS.get((status.reason_code or "").removeprefix("VRBL:FR:"), "other")
    note = f"E-invoice lifecycle status 207 (En litige){_reason_suffix(status)}"
    return DisputeCreate(reason=reason, note=note[:2000])


def _payment(status: LifecycleStatus, invoice: Invoice, clock: Clock) -> PaymentCreate:
    amount = status.amount if status.amount is not None else invoice.claimable_balance
    if amount <= 0:
        raise Conflict("Nothing is left to pay on this invoice; status 212 cannot apply.")
    reference = " ".join(p for p in ("CDAR 212", status.platform, status.message_id) if p)
    return PaymentCreate(
        amount=amount,
        paid_at=clock.local_day(status.at),
        method="e_invoicing_status",
        reference=reference[:200],
    )


async def route(session: AsyncSession, tenant_id: str, data: RoutedLifecycleStatusCreate) -> str:
    """The invoice a status routed by number names: the creditor (by id or SIREN) and the
    invoice's number; 422 on the field that names nothing of the tenant's."""
    if data.creditor_id is not None:
        creditors = select(Creditor.id).where(
            Creditor.tenant_id == tenant_id, Creditor.id == data.creditor_id
        )
        field = "creditor_id"
    else:
        creditors = select(Creditor.id).where(
            Creditor.tenant_id == tenant_id, Creditor.siren == data.seller_siren
        )
        field = "seller_siren"
    found = (
        (
            await session.execute(
                select(Invoice.id).where(
                    Invoice.tenant_id == tenant_id,
                    Invoice.number == data.invoice_number,
                    Invoice.creditor_id.in_(creditors),
                )
            )
        )
        .scalars()
        .all()
    )
    if not found:
        raise Unprocessable(
            f"No invoice {data.invoice_number} of this {field}.",
            errors=[
                FieldError(loc=["body", "invoice_number"], msg=f"no such invoice of this {field}")
            ],
        )
    if len(found) > 1:  # several creditors share the SIREN (establishments): ask which one
        raise Unprocessable(
            f"Several creditors with SIREN {data.seller_siren} have an invoice "
            f"{data.invoice_number}; give creditor_id instead.",
            errors=[FieldError(loc=["body", "seller_siren"], msg="names several creditors")],
        )
    return found[0]


async def list_statuses(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[LifecycleStatusOut]:
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(LifecycleStatus).where(
        LifecycleStatus.invoice_id == invoice_id, LifecycleStatus.tenant_id == tenant_id
    )
    return await page_of(session, stmt, LifecycleStatus.id, page, to_out)
