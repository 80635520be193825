from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.claims.service import check_contractual_rate
from app.core.crud import apply_changes, flush_or_conflict, get_owned
from app.core.errors import FieldError, Unprocessable
from app.core.ids import new_id
from app.core.types import siret_outside_siren
from app.creditors.models import Creditor
from app.creditors.schemas import CreditorCreate, CreditorUpdate
from app.policies.service import ensure_policy_usable

_CONFLICTS = {"uq_creditors_tenant_id_external_id": "A creditor with this external_id exists."}


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
    if data.dunning_policy_id is not None:
        await ensure_policy_usable(session, tenant_id, data.dunning_policy_id)
    values = _dump(data)
    values.setdefault("payment_terms_days", data.payment_terms_days)
    values.setdefault("fixed_indemnity", data.fixed_indemnity)
    creditor = Creditor(id=new_id("cred"), tenant_id=tenant_id, **values)
    session.add(creditor)
    await flush_or_conflict(session, _CONFLICTS)
    await session.refresh(creditor)
    return creditor


async def update_creditor(
    session: AsyncSession, tenant_id: str, creditor_id: str, data: CreditorUpdate, today: dt.date
) -> Creditor:
    creditor = await get_owned(session, Creditor, tenant_id, creditor_id, lock=True)
    await check_contractual_rate(
        session, data.late_penalty_rate, today, ["body", "late_penalty_rate"]
    )
    if data.dunning_policy_id is not None:
        await ensure_policy_usable(session, tenant_id, data.dunning_policy_id)
    apply_changes(creditor, _dump(data))
    if siret_outside_siren(creditor.siren, creditor.siret):
        raise Unprocessable(
            "The SIRET does not start with the SIREN.",
            errors=[FieldError(loc=["body", "siret"], msg="does not start with the SIREN")],
        )
    await flush_or_conflict(session, _CONFLICTS)
    await session.refresh(creditor)
    return creditor
