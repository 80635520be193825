from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.crud import apply_changes, flush_or_conflict, get_owned
from app.core.errors import FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.core.types import siret_outside_siren
from app.ledger.creditors.models import POLICY_FOREIGN_KEY, Creditor
from app.ledger.creditors.schemas import CreditorCreate, CreditorOut, CreditorUpdate
from app.legal.repository import check_contractual_rate

_CONFLICTS = {"uq_creditors_tenant_id_external_id": "A creditor with this external_id exists."}
# Another tenant's policy is as unknown as a missing one.
_REFERENCES = {
    POLICY_FOREIGN_KEY: FieldError(loc=["body", "dunning_policy_id"], msg="unknown dunning policy")
}


def _dump(data: CreditorCreate | CreditorUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude_unset=True)
    if "address" in values and data.address is not None:
        values["address"] = data.address.model_dump()
    return values


async def create_creditor(
    session: AsyncSession, tenant_id: str, data: CreditorCreate, today: dt.date
) -> Creditor:
    await check_contractual_rate(
        session, data.late_penalty_rate, today, ["body", "late_penalty_rate"]
    )
    values = _dump(data)
    values.setdefault("payment_terms_days", data.payment_terms_days)
    values.setdefault("fixed_indemnity", data.fixed_indemnity)
    creditor = Creditor(id=new_id("cred"), tenant_id=tenant_id, **values)
    session.add(creditor)
    await flush_or_conflict(session, _CONFLICTS, _REFERENCES)
    return creditor


async def update_creditor(
    session: AsyncSession, tenant_id: str, creditor_id: str, data: CreditorUpdate, today: dt.date
) -> Creditor:
    creditor = await get_owned(session, Creditor, tenant_id, creditor_id, lock=True)
    await check_contractual_rate(
        session, data.late_penalty_rate, today, ["body", "late_penalty_rate"]
    )
    apply_changes(creditor, _dump(data))
    if siret_outside_siren(creditor.siren, creditor.siret):
        raise Unprocessable(
            "The SIRET does not start with the SIREN.",
            errors=[FieldError(loc=["body", "siret"], msg="does not start with the SIREN")],
        )
    await flush_or_conflict(session, _CONFLICTS, _REFERENCES)
    await session.refresh(creditor)
    return creditor


async def list_creditors(
    session: AsyncSession, tenant_id: str, page: PageParams, *, external_id: str | None = None
) -> Page[CreditorOut]:
    stmt = select(Creditor).where(Creditor.tenant_id == tenant_id)
    if external_id is not None:
        stmt = stmt.where(Creditor.external_id == external_id)
    return await page_of(session, stmt, Creditor.id, page, CreditorOut.model_validate)
