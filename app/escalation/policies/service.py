from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.escalation.policies.models import DunningPolicy
from app.escalation.policies.schemas import PolicyCreate, PolicyOut, StepOut, definition_of
from app.escalation.policy import DEFAULT_POLICY, Policy, PolicyStep, validate_policy
from app.ledger.creditors.models import DEFAULT_POLICY_ID, Creditor


def policy_from_definition(definition: dict[str, Any]) -> Policy:
    steps = tuple(
        PolicyStep(
            code=s["code"],
            kind=s["kind"],
            channel=s["channel"],
            offset_days=int(s["offset_days"]),
            min_amount=Decimal(s["min_amount"]) if s.get("min_amount") is not None else None,
        )
        for s in definition["steps"]
    )
    return Policy(
        steps=steps,
        formal_notice_deadline_days=int(definition["formal_notice_deadline_days"]),
        promise_grace_days=int(definition["promise_grace_days"]),
        holiday_subdivision=definition.get("holiday_subdivision"),
        # Policies stored before grouping existed run per invoice.
        grouping=definition.get("grouping", "invoice"),
    )


async def policy_for_creditor(session: AsyncSession, creditor: Creditor) -> Policy:
    policy_id = creditor.dunning_policy_id
    if policy_id is None or policy_id == DEFAULT_POLICY_ID:
        return DEFAULT_POLICY
    stored = await session.get_one(DunningPolicy, policy_id)
    return policy_from_definition(stored.definition)


async def policies_for_creditors(
    session: AsyncSession, creditors: list[Creditor]
) -> dict[str, Policy]:
    """Creditor id -> policy, in one query (batch import)."""
    ids = {c.dunning_policy_id for c in creditors} - {None, DEFAULT_POLICY_ID}
    stored: dict[str, Policy] = {}
    if ids:
        rows = await session.execute(select(DunningPolicy).where(DunningPolicy.id.in_(ids)))
        stored = {p.id: policy_from_definition(p.definition) for p in rows.scalars()}
    return {c.id: stored.get(c.dunning_policy_id or "", DEFAULT_POLICY) for c in creditors}


def policy_out(
    policy_id: str, name: str, policy: Policy, created_at: dt.datetime | None
) -> PolicyOut:
    return PolicyOut(
        id=policy_id,
        name=name,
        steps=[
            StepOut(
                code=s.code,
                kind=s.kind,
                channel=s.channel,
                offset_days=s.offset_days,
                min_amount=s.min_amount,
            )
            for s in policy.steps
        ],
        formal_notice_deadline_days=policy.formal_notice_deadline_days,
        promise_grace_days=policy.promise_grace_days,
        holiday_subdivision=policy.holiday_subdivision,
        grouping=policy.grouping,
        created_at=created_at,
    )


def stored_out(stored: DunningPolicy) -> PolicyOut:
    return policy_out(
        stored.id, stored.name, policy_from_definition(stored.definition), stored.created_at
    )


DEFAULT_POLICY_OUT = policy_out(DEFAULT_POLICY_ID, "Default (seed guides)", DEFAULT_POLICY, None)


async def create_policy(session: AsyncSession, tenant_id: str, body: PolicyCreate) -> DunningPolicy:
    definition = definition_of(body)
    problems = validate_policy(policy_from_definition(definition))
    if problems:
        raise Unprocessable(
            "; ".join(p.msg for p in problems),
            errors=[FieldError(loc=["body", *p.loc], msg=p.msg) for p in problems],
        )
    stored = DunningPolicy(
        id=new_id("pol"), tenant_id=tenant_id, name=body.name, definition=definition
    )
    session.add(stored)
    await session.flush()
    await session.refresh(stored)
    return stored


async def list_policies(session: AsyncSession, tenant_id: str, page: PageParams) -> Page[PolicyOut]:
    stmt = select(DunningPolicy).where(DunningPolicy.tenant_id == tenant_id)
    return await page_of(session, stmt, DunningPolicy.id, page, stored_out)
