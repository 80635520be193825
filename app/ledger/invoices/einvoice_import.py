"""`POST /v1/invoices/import`: an e-invoice (Factur-X PDF, CII or UBL XML) into the ledger.

The seller names the creditor (its SIREN, or the SIREN inside its French VAT number), the buyer
names the debtor (the seller's code for it, BT-46, or its SIREN; created when unknown), and the
invoice is created or updated by (creditor, number) through the ledger's own services, so the
seam and its events work as for `POST /v1/invoices`. The file is kept as a document of the
invoice, once however often it is sent."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.errors import errors_summary, field_errors
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.matching import NewDebtor, create_debtors_once, find_debtors
from app.ledger.debtors.schemas import DebtorCreate
from app.ledger.documents.models import Document
from app.ledger.documents.service import has_file, keep_file
from app.ledger.invoices import service
from app.ledger.invoices.einvoice import EInvoice, Party, UnreadableEInvoice, read_einvoice
from app.ledger.invoices.models import Invoice, NewInvoice
from app.ledger.invoices.schemas import ImportOutcome, InvoiceCreate, InvoiceUpdate


class UnknownParty(UnreadableEInvoice):
    """The file is readable but names no creditor (or no debtor) the tenant can use."""

    code, title = "unknown-party", "Unknown seller or buyer"


@dataclass(frozen=True)
class ImportResult:
    einvoice: EInvoice
    invoice: Invoice | NewInvoice  # NewInvoice: created by this import
    outcome: ImportOutcome
    debtor_created: bool
    document: Document


async def import_einvoice(
    session: AsyncSession, tenant_id: str, body: bytes, content_type: str, clock: Clock
) -> ImportResult:
    # A 10 MiB PDF takes pypdf a while: other requests keep being served meanwhile.
    einvoice = await asyncio.to_thread(read_einvoice, body)
    creditor = await _creditor(session, tenant_id, einvoice.seller)
    number = einvoice.credited_number or einvoice.number  # a credit note: the invoice it credits
    # Two imports of the same new invoice at once: the second waits, then finds the first's.
    await session.execute(
        select(
            func.pg_advisory_xact_lock(func.hashtextextended(f"invoice:{creditor.id}:{number}", 0))
        )
    )
    existing = (
        await session.execute(
            select(Invoice).where(
                Invoice.tenant_id == tenant_id,
                Invoice.creditor_id == creditor.id,
                Invoice.number == number,
            )
        )
    ).scalar_one_or_none()
    debtor_created = False
    invoice: Invoice | NewInvoice
    if einvoice.credit_note:
        invoice, outcome = await _credit(session, tenant_id, existing, einvoice, body, clock)
    elif existing is None:
        debtor_id, debtor_created = await _debtor(session, tenant_id, creditor.id, einvoice.buyer)
        invoice = await _create(session, tenant_id, creditor.id, debtor_id, einvoice, clock)
        outcome = "created"
    else:  # the invoice keeps its debtor: a re-import never creates one
        invoice, outcome = await _update(session, tenant_id, existing, einvoice, clock)
    document, _ = await keep_file(
        session,
        invoice,
        kind="invoice",
        content=body,
        content_type=content_type,
        file_name=_file_name(einvoice),
        reference=einvoice.number,
        date=einvoice.issue_date,
        note=_note(einvoice),
    )
    return ImportResult(einvoice, invoice, outcome, debtor_created, document)


async def _creditor(session: AsyncSession, tenant_id: str, seller: Party) -> Creditor:
    """The tenant's creditor with the seller's SIREN or VAT number."""
    if seller.siren is None and seller.vat_number is None:
        raise UnknownParty(
            "The seller (BG-4) has no SIREN (legal identifier, scheme 0002) and no VAT number: "
            "the creditor cannot be found."
        )
    matches = []
    if seller.siren:
        matches.append(Creditor.siren == seller.siren)
    if seller.vat_number:
        matches.append(Creditor.vat_number == seller.vat_number)
    found = list(
        (
            await session.execute(
                select(Creditor)
                .where(Creditor.tenant_id == tenant_id, or_(*matches))
                .order_by(Creditor.id)
                .limit(2)
            )
        ).scalars()
    )
    named = " / ".join(v for v in (seller.siren, seller.vat_number) if v)
    if not found:
        raise UnknownParty(
            f"No creditor has the seller's SIREN or VAT number ({named}): create the creditor "
            "(POST /v1/creditors with its siren) before importing its invoices."
        )
    if len(found) > 1:
        raise UnknownParty(
            f"Several creditors have the seller's SIREN or VAT number ({named}): the invoice "
            "cannot say which one it belongs to."
        )
    return found[0]


async def _debtor(
    session: AsyncSession, tenant_id: str, creditor_id: str, buyer: Party
) -> tuple[str, bool]:
    """The creditor's debtor the buyer names (by its code, then its SIREN), created if none;
    and whether it was created."""
    code, siren = buyer.identifier, buyer.siren
    known = await find_debtors(
        session,
        tenant_id,
        [creditor_id],
        codes=[code] if code else (),
        sirens=[siren] if siren else (),
    )
    by_code = [d for d in known if code and d.external_id == code]
    if by_code:
        return by_code[0].id, False
    by_siren = [d for d in known if siren and d.siren == siren]
    if len(by_siren) > 1:
        raise UnknownParty(
            f"Several debtors of the creditor have the buyer's SIREN {siren}: give the buyer "
            "identifier (BT-46) the debtor's external_id has."
        )
    if by_siren:
        return by_siren[0].id, False
    new = _new_debtor(creditor_id, buyer)
    ids, created = await create_debtors_once(session, tenant_id, [new])
    return ids[new.key], created > 0


def _new_debtor(creditor_id: str, buyer: Party) -> NewDebtor:
    if buyer.identifier is None and buyer.siren is None:
        raise UnknownParty(
            "The buyer (BG-7) has no identifier (BT-46) and no SIREN (legal identifier, scheme "
            "0002, or a French VAT number): the debtor cannot be matched or created."
        )
    try:
        valid = DebtorCreate.model_validate(
            {
                "creditor_id": creditor_id,
                "kind": "business",
                "name": buyer.name,
                "siren": buyer.siren,
                "external_id": buyer.identifier,
            }
        )
    except ValidationError as exc:
        reasons = errors_summary(field_errors(exc.errors()))
        raise UnknownParty(f"The buyer (BG-7) cannot be created as a debtor: {reasons}.") from exc
    return NewDebtor(
        creditor_id=creditor_id,
        kind="business",
        name=valid.name,
        external_id=valid.external_id,
        siren=valid.siren,
    )


def _terms(einvoice: EInvoice) -> dict[str, object]:
    return {
        "issue_date": einvoice.issue_date,
        "due_date": einvoice.due_date,
        "amount": einvoice.amount_due,
        "currency": einvoice.currency,
    }


def _invalid(exc: ValidationError) -> UnreadableEInvoice:
    return UnreadableEInvoice(
        f"The invoice cannot be recorded: {errors_summary(field_errors(exc.errors()))}."
    )


async def _create(
    session: AsyncSession,
    tenant_id: str,
    creditor_id: str,
    debtor_id: str,
    einvoice: EInvoice,
    clock: Clock,
) -> NewInvoice:
    try:
        data = InvoiceCreate.model_validate(
            {
                "creditor_id": creditor_id,
                "debtor_id": debtor_id,
                "number": einvoice.number,
                **_terms(einvoice),
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return await service.create_invoice(session, tenant_id, data, clock)


async def _update(
    session: AsyncSession, tenant_id: str, invoice: Invoice, einvoice: EInvoice, clock: Clock
) -> tuple[Invoice, ImportOutcome]:
    """The stored invoice, corrected to the file's amount and dates if they differ."""
    changes = {k: v for k, v in _terms(einvoice).items() if getattr(invoice, k) != v}
    if not changes:
        return invoice, "unchanged"
    try:
        data = InvoiceUpdate.model_validate(changes)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return await service.update_invoice(session, tenant_id, invoice.id, data, clock), "updated"


async def _credit(
    session: AsyncSession,
    tenant_id: str,
    invoice: Invoice | None,
    credit_note: EInvoice,
    body: bytes,
    clock: Clock,
) -> tuple[Invoice, ImportOutcome]:
    """A credit note applied to the invoice it credits: a full credit cancels it, a partial one
    lowers its amount. Applied once: the file is then one of the invoice's documents."""
    if invoice is None:
        raise UnknownParty(
            f"The credit note {credit_note.number} credits invoice {credit_note.credited_number}, "
            "which this creditor does not have in the ledger."
        )
    if await has_file(session, invoice, body):
        return invoice, "unchanged"
    if credit_note.currency != invoice.currency:
        raise UnreadableEInvoice(
            f"The credit note is in {credit_note.currency}, invoice {invoice.number} in "
            f"{invoice.currency}."
        )
    credit = credit_note.amount_due
    if credit > invoice.amount:
        raise UnreadableEInvoice(
            f"The credit note ({credit}) exceeds invoice {invoice.number}'s amount "
            f"({invoice.amount})."
        )
    if credit == invoice.amount:
        reason = f"Credit note {credit_note.number} (e-invoice import)"
        closed = await service.close_invoice(
            session, tenant_id, invoice.id, status="cancelled", reason=reason, clock=clock
        )
        return closed, "cancelled"
    lowered = InvoiceUpdate(amount=invoice.amount - credit)
    return await service.update_invoice(session, tenant_id, invoice.id, lowered, clock), "credited"


def _file_name(einvoice: EInvoice) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", einvoice.number).strip("._") or "invoice"
    if einvoice.credit_note:
        safe = f"credit-note-{safe}"
    return f"{safe}.pdf" if einvoice.format == "facturx" else f"{safe}.xml"


def _note(einvoice: EInvoice) -> str:
    label = {"facturx": "Factur-X PDF", "cii": "CII XML", "ubl": "UBL XML"}[einvoice.format]
    profile = f" ({einvoice.profile})" if einvoice.profile else ""
    what = f"credit note {einvoice.number}" if einvoice.credit_note else "e-invoice"
    return f"Imported {what}: {label}{profile}, type {einvoice.type_code}."
