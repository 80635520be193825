from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import apply_changes, flush_or_conflict, get_owned
from app.core.db import mark_invoice_changed
from app.core.errors import FieldError, NotFound, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.core.types import siret_outside_siren
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.schemas import (
    DebtorCreate,
    DebtorOut,
    DebtorUpdate,
    InsolvencyOut,
    LreConsentOut,
)
from app.ledger.invoices.models import Invoice
from app.legal.insolvency import declaration_deadline

_CONFLICTS = {
    "uq_debtors_creditor_id_external_id": "A debtor of this creditor has this external_id."
}


def to_out(debtor: Debtor) -> DebtorOut:
    insolvency = (
        InsolvencyOut(
            procedure=debtor.insolvency_procedure,
            opened_on=debtor.insolvency_opened_on,
            published_on=debtor.insolvency_published_on,
            declaration_deadline=declaration_deadline(debtor.insolvency_published_on),
        )
        if debtor.insolvency_procedure and debtor.insolvency_opened_on
        else None
    )
    consent = (
        LreConsentOut(given_at=debtor.lre_consent_at, evidence=debtor.lre_consent_evidence)
        if debtor.lre_consent_at is not None
        else None
    )
    computed = {"insolvency": insolvency, "lre_consent": consent}
    out = DebtorOut.model_validate(
        {
            **{c: getattr(debtor, c) for c in DebtorOut.model_fields if c not in computed},
            **computed,
        }
    )
    return out


def _values(data: DebtorCreate | DebtorUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True, exclude={"insolvency", "lre_consent"})
    if "lre_consent" in data.model_fields_set:
        values["lre_consent_at"] = data.lre_consent.given_at if data.lre_consent else None
        values["lre_consent_evidence"] = data.lre_consent.evidence if data.lre_consent else None
    if "address" in values and data.address is not None:
        values["address"] = data.address.model_dump()
    if "insolvency" in data.model_fields_set:
        values["insolvency_procedure"] = data.insolvency.procedure if data.insolvency else None
        values["insolvency_opened_on"] = data.insolvency.opened_on if data.insolvency else None
        values["insolvency_published_on"] = (
            data.insolvency.published_on if data.insolvency else None
        )
    return values


async def require_creditor(session: AsyncSession, tenant_id: str, creditor_id: str) -> Creditor:
    """The creditor named in a body: unknown (or another tenant's) is a 422 on that field."""
    try:
        return await get_owned(session, Creditor, tenant_id, creditor_id)
    except NotFound:
        raise Unprocessable(
            f"No creditor {creditor_id}.",
            errors=[FieldError(loc=["body", "creditor_id"], msg="unknown creditor")],
        ) from None


async def create_debtor(session: AsyncSession, tenant_id: str, data: DebtorCreate) -> Debtor:
    await require_creditor(session, tenant_id, data.creditor_id)
    values = _values(data)
    values.setdefault("language", "fr")
    debtor = Debtor(id=new_id("debt"), tenant_id=tenant_id, **values)
    session.add(debtor)
    await flush_or_conflict(session, _CONFLICTS)
    return debtor


async def open_invoices_of(session: AsyncSession, debtor_id: str) -> list[Invoice]:
    rows = await session.execute(
        select(Invoice).where(Invoice.debtor_id == debtor_id, Invoice.status == "open")
    )
    return list(rows.scalars())


async def update_debtor(
    session: AsyncSession, tenant_id: str, debtor_id: str, data: DebtorUpdate, clock: Clock
) -> Debtor:
    debtor = await get_owned(session, Debtor, tenant_id, debtor_id, lock=True)
    values = _values(data)
    escalation_inputs_changed = any(
        k in values for k in ("kind", "insolvency_procedure", "insolvency_opened_on")
    )
    apply_changes(debtor, values)
    # The debtor as it would be stored (a rejected change is rolled back with the request).
    if debtor.kind == "consumer" and (debtor.siren or debtor.siret):
        raise Unprocessable(
            "A consumer debtor has no SIREN or SIRET.",
            errors=[
                FieldError(loc=["body", "kind"], msg="a consumer debtor has no SIREN or SIRET")
            ],
        )
    if siret_outside_siren(debtor.siren, debtor.siret):
        raise Unprocessable(
            "The SIRET does not start with the SIREN.",
            errors=[FieldError(loc=["body", "siret"], msg="does not start with the SIREN")],
        )
    if escalation_inputs_changed:
        # Insolvency stops escalation; the kind changes the law (and the prescription period):
        # every open invoice of the debtor is refreshed, in one batch.
        for invoice in await open_invoices_of(session, debtor.id):
            mark_invoice_changed(session, invoice, clock)
    await flush_or_conflict(session, _CONFLICTS)
    await session.refresh(debtor)
    return debtor


async def list_debtors(
    session: AsyncSession,
    tenant_id: str,
    page: PageParams,
    *,
    creditor_id: str | None = None,
    external_id: str | None = None,
    siren: str | None = None,
) -> Page[DebtorOut]:
    stmt = select(Debtor).where(Debtor.tenant_id == tenant_id)
    if creditor_id is not None:
        stmt = stmt.where(Debtor.creditor_id == creditor_id)
    if external_id is not None:
        stmt = stmt.where(Debtor.external_id == external_id)
    if siren is not None:
        stmt = stmt.where(Debtor.siren == siren)
    return await page_of(session, stmt, Debtor.id, page, to_out)
