"""Proof events of a formal notice, and the registered-mail providers' callbacks.

A proof event is a fact reported about the letter; the notice's effect is recomputed from all of
them at every change (app.legal.deadlines.letter_effect), so they may arrive in any order and a
repeated report changes nothing. Each new one re-plans the invoice through the seam and queues
`formal_notice.proof_updated`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import flush_or_conflict, get_owned
from app.core.db import QueuedEvent, flush, mark_invoice_changed
from app.core.errors import Conflict, FieldError, ProblemError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.escalation.actions.models import Action
from app.escalation.policy import REGISTERED_MAIL_CHANNELS
from app.escalation.proof.models import ProofEvent, RegisteredMailCallback
from app.escalation.proof.providers import ProviderReport
from app.escalation.proof.schemas import (
    CallbackConfigOut,
    CallbackOut,
    ProofEventIn,
    ProofEventOut,
    ProofSource,
)
from app.ledger.invoices.models import Invoice
from app.legal import deadlines

# Clock skew tolerated between a provider's servers and ours.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)
_CONFLICTS = {
    "uq_actions_tenant_id_provider_provider_ref": "Another action of this tenant has this "
    "provider_ref with this provider: one letter is one action."
}


def to_out(event: ProofEvent, clock: Clock) -> ProofEventOut:
    return ProofEventOut(
        id=event.id,
        action_id=event.action_id,
        status=event.status,
        at=event.at,
        on=clock.local_day(event.at),
        provider=event.provider,
        provider_ref=event.provider_ref,
        document_url=event.document_url,
        report_id=event.report_id,
        source=event.source,
        created_at=event.created_at,
    )


def dedupe_key(data: ProofEventIn) -> str:
    """What makes two reports the same: the reporter's event id, else the provider's letter and
    status, else the status and instant."""
    if data.report_id is not None:
        return f"id:{data.report_id}"
    if data.provider_ref is not None:
        return f"ref:{data.provider or ''}:{data.provider_ref}:{data.status}"
    return f"at:{data.status}:{data.at.astimezone(dt.UTC).isoformat()}"


def _invalid(msg: str, *loc: str) -> Unprocessable:
    return Unprocessable(msg, errors=[FieldError(loc=["body", *loc], msg=msg)])


def _check_event(action: Action, data: ProofEventIn, clock: Clock) -> None:
    if action.type != "formal_notice" or action.channel not in REGISTERED_MAIL_CHANNELS:
        raise Unprocessable(
            "Proof events are for a formal notice sent by registered_letter or lre; this action "
            f"is a {action.type} by {action.channel or 'no channel'} (a commissaire de "
            "justice's act takes proof.served_on).",
        )
    if data.at > clock.now() + _FUTURE_TOLERANCE:
        raise _invalid("at is in the future.", "at")
    if clock.local_day(data.at) < clock.local_day(action.performed_at):
        raise _invalid("at is before the letter was sent (the action's performed_at).", "at")


def _adopt_ref(action: Action, data: ProofEventIn) -> None:
    """The first provider_ref given names the letter on the action (callbacks match by it)."""
    if data.provider_ref is None:
        return
    if action.provider_ref is None:
        action.provider, action.provider_ref = data.provider, data.provider_ref
    elif (action.provider, action.provider_ref) != (data.provider, data.provider_ref):
        raise Conflict(
            f"This action's letter is {action.provider}:{action.provider_ref}; a report on "
            "another letter belongs to another action (a letter sent again is a new "
            "formal_notice)."
        )


async def _facts(session: AsyncSession, action_id: str, clock: Clock) -> list[deadlines.ProofFact]:
    rows = await session.execute(
        select(ProofEvent.status, ProofEvent.at).where(ProofEvent.action_id == action_id)
    )
    return [deadlines.ProofFact(status, clock.local_day(at)) for status, at in rows]


async def _queue_event(
    session: AsyncSession, invoice: Invoice, action: Action, event: ProofEvent, clock: Clock
) -> None:
    effect = deadlines.notice_effect(
        served_on=action.served_on,
        acknowledged_on=action.acknowledged_at,
        presented_on=action.presented_at,
        proof=await _facts(session, action.id, clock),
    )
    data = {
        "action_id": action.id,
        "proof_event": to_out(event, clock).model_dump(
            mode="json", include={"id", "status", "at", "provider", "provider_ref", "document_url"}
        ),
        "notice": {
            "took_effect_on": effect.start.isoformat() if effect.start else None,
            "must_resend": effect.resend,
        },
    }
    queued = QueuedEvent("formal_notice.proof_updated", f"proof_event:{event.id}", data)
    mark_invoice_changed(session, invoice, clock, queued)


async def record_proof_event(
    session: AsyncSession,
    tenant_id: str,
    action_id: str,
    data: ProofEventIn,
    clock: Clock,
    source: ProofSource = "api",
) -> tuple[ProofEvent, bool]:
    """The event recorded (True), or the same report recorded before (False)."""
    action = await get_owned(session, Action, tenant_id, action_id)
    # The invoice's row lock serialises reports on one letter: a duplicate is seen, not raced.
    invoice = await get_owned(session, Invoice, tenant_id, action.invoice_id, lock=True)
    _check_event(action, data, clock)
    key = dedupe_key(data)
    existing = (
        await session.execute(
            select(ProofEvent).where(
                ProofEvent.action_id == action.id, ProofEvent.dedupe_key == key
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    _adopt_ref(action, data)
    event = ProofEvent(
        id=new_id("pev"),
        tenant_id=tenant_id,
        action_id=action.id,
        invoice_id=invoice.id,
        status=data.status,
        at=data.at,
        provider=data.provider,
        provider_ref=data.provider_ref,
        document_url=data.document_url,
        report_id=data.report_id,
        dedupe_key=key,
        source=source,
    )
    session.add(event)
    await flush_or_conflict(session, _CONFLICTS)
    await _queue_event(session, invoice, action, event, clock)
    await flush(session)
    await session.refresh(event)
    return event, True


async def list_proof_events_page(
    session: AsyncSession, tenant_id: str, action_id: str, page: PageParams, clock: Clock
) -> Page[ProofEventOut]:
    await get_owned(session, Action, tenant_id, action_id)
    stmt = select(ProofEvent).where(
        ProofEvent.action_id == action_id, ProofEvent.tenant_id == tenant_id
    )
    return await page_of(session, stmt, ProofEvent.id, page, lambda e: to_out(e, clock))


# --- callbacks -----------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def configure_callback(
    session: AsyncSession, tenant_id: str, provider: str, base_url: str
) -> CallbackConfigOut:
    """A new callback secret for (tenant, provider), replacing the previous one at once."""
    secret = secrets.token_urlsafe(32)
    config = (
        await session.execute(
            select(RegisteredMailCallback)
            .where(
                RegisteredMailCallback.tenant_id == tenant_id,
                RegisteredMailCallback.provider == provider,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if config is None:
        config = RegisteredMailCallback(id=new_id("rmc"), tenant_id=tenant_id, provider=provider)
        session.add(config)
    config.secret_sha256 = _digest(secret)
    await flush(session)
    await session.refresh(config)
    token = f"{config.id}.{secret}"
    return CallbackConfigOut(
        provider=provider,
        callback_url=f"{base_url}/v1/registered-mail/{provider}/callback?token={token}",
        token=token,
        basic_auth={"username": config.id, "password": secret},
        created_at=config.updated_at,
    )


async def authenticate_callback(
    session: AsyncSession, provider: str, username: str, secret: str
) -> RegisteredMailCallback | None:
    """The tenant's callback configuration these credentials open, else None."""
    config = await session.get(RegisteredMailCallback, username)
    if config is None or config.provider != provider:
        _digest(secret)  # the same work whether the id exists or not
        return None
    if not hmac.compare_digest(config.secret_sha256, _digest(secret)):
        return None
    return config


async def _find_action(
    session: AsyncSession, tenant_id: str, provider: str, report: ProviderReport
) -> Action | None:
    """The tenant's formal notice this report is about: the action id the integrator had the
    provider send back, else the letter's provider_ref on an action or on a proof event."""
    refs = list(report.refs)
    event_action = (
        select(ProofEvent.action_id)
        .where(
            ProofEvent.tenant_id == tenant_id,
            ProofEvent.provider == provider,
            ProofEvent.provider_ref.in_(refs),
        )
        .scalar_subquery()
    )
    conditions: list[ColumnElement[bool]] = [
        (Action.provider == provider) & Action.provider_ref.in_(refs),
        Action.id.in_(event_action),
    ]
    if report.action_hint is not None:
        conditions.append(Action.id == report.action_hint)
    found = (
        await session.execute(
            select(Action)
            .where(Action.tenant_id == tenant_id, Action.type == "formal_notice", or_(*conditions))
            .order_by(Action.performed_at.desc(), Action.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return found


async def apply_callback(
    session: AsyncSession, tenant_id: str, provider: str, report: ProviderReport, clock: Clock
) -> CallbackOut:
    """Record what a provider's callback reports on one of the tenant's formal notices."""
    action = await _find_action(session, tenant_id, provider, report)
    if action is None:
        return CallbackOut(
            matched=False,
            applied=False,
            detail=f"No formal notice of this tenant carries {provider} letter "
            f"{report.refs[0]}: nothing changed.",
        )
    if report.status is None:
        return CallbackOut(
            matched=True,
            applied=False,
            action_id=action.id,
            detail=f"{report.raw_status} has no legal effect on the notice: nothing changed.",
        )
    data = ProofEventIn(
        status=report.status,
        at=min(report.at or clock.now(), clock.now()),
        provider=provider,
        provider_ref=action.provider_ref if action.provider == provider else report.refs[0],
        document_url=report.document_url,
    )
    try:
        # A savepoint: a refused report leaves the request's transaction usable.
        async with session.begin_nested():
            event, created = await record_proof_event(
                session, tenant_id, action.id, data, clock, "callback"
            )
    except ProblemError as refused:  # 409/422: retrying would not change the answer
        return CallbackOut(
            matched=True,
            applied=False,
            action_id=action.id,
            status=report.status,
            detail=refused.detail,
        )
    return CallbackOut(
        matched=True,
        applied=created,
        action_id=action.id,
        status=report.status,
        detail=f"Recorded as proof event {event.id}."
        if created
        else f"Already recorded as proof event {event.id}.",
    )
