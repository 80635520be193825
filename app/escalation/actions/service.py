"""Recorded actions: what was done about an invoice. Contacts beyond the amicable caps are refused
(409) unless overridden with a note; a mise en demeure needs a registered letter (or a commissaire
de justice) and its proof; recording anything re-plans the escalation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.crud import flush_or_conflict, get_owned
from app.core.db import mark_invoice_changed
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Page, PageParams, page_of
from app.escalation.actions.models import Action
from app.escalation.actions.schemas import (
    PROOF_DATES,
    ActionCreate,
    ActionOut,
    ActionUpdate,
    DebtorActionCreate,
    ProofIn,
    ProofOut,
    local_day,
)
from app.escalation.engine import ActionType, RecordedAction, count_contacts
from app.escalation.policy import Channel
from app.escalation.procedure import pv_earliest
from app.escalation.service import EngineInputs, load_engine_inputs, to_recorded
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice
from app.legal import figures as legal

_CONFLICTS = {
    "uq_actions_tenant_id_provider_provider_ref": "Another action of this tenant has this "
    "proof.provider_ref with this provider: one letter is one action."
}

# Clock skew tolerated between the integrator's servers and ours.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def to_out(action: Action) -> ActionOut:
    return ActionOut(
        id=action.id,
        invoice_id=action.invoice_id,
        type=action.type,
        channel=action.channel,
        step=action.step,
        performed_at=action.performed_at,
        note=action.note,
        outcome=action.outcome,
        proof=ProofOut(
            tracking_number=action.tracking_number,
            provider=action.provider,
            provider_ref=action.provider_ref,
            acknowledged_at=action.acknowledged_at,
            presented_at=action.presented_at,
            served_on=action.served_on,
        ),
        promised_date=action.promised_date,
        override=action.override,
        created_at=action.created_at,
        updated_at=action.updated_at,
    )


def _check_proof_dates(performed_on: dt.date, action: Action, today: dt.date) -> None:
    for name in PROOF_DATES:
        value = getattr(action, name)
        if value is not None and not performed_on <= value <= today:
            raise Unprocessable(
                f"proof.{name} must be between the sending day and today.",
                errors=[
                    FieldError(loc=["body", "proof", name], msg="outside the sending day..today")
                ],
            )


def _invalid(msg: str, *loc: str) -> Unprocessable:
    return Unprocessable(msg, errors=[FieldError(loc=["body", *loc], msg=msg)])


# Acts of a commissaire de justice: the channel says so, and is the default.
_COMMISSAIRE_ACTS: frozenset[ActionType] = frozenset(
    {"commandement_de_payer", "pv_non_contestation"}
)


def _default_channel(data: ActionCreate) -> Channel | None:
    if data.channel is not None:
        return data.channel
    if data.type == "phone_call":
        return "phone"
    if data.type in _COMMISSAIRE_ACTS:
        return "commissaire_de_justice"
    return None


def _proof_days(proof: ProofIn | None, clock: Clock) -> dict[str, dt.date | None]:
    """The proof dates given, as the local days they count as (timestamps converted)."""
    if proof is None:
        return {}
    # The given fields as they were parsed (a dump would serialize a timestamp as a date).
    given = {name: getattr(proof, name) for name in proof.model_fields_set}
    return {name: local_day(given[name], clock) for name in PROOF_DATES if name in given}


def _check_served_on(type_: ActionType, channel: Channel | None, served_on: dt.date | None) -> None:
    """Only a commissaire de justice serves acts; a commandement de payer is one of them."""
    if served_on is not None and channel != "commissaire_de_justice":
        raise _invalid(
            "proof.served_on is the date of service of an act by a commissaire de justice: "
            "record the action with channel commissaire_de_justice, or give the registered "
            "letter's acknowledged_at or presented_at.",
            "proof",
            "served_on",
        )
    if type_ in _COMMISSAIRE_ACTS and channel != "commissaire_de_justice":
        raise _invalid(
            f"a {type_} is an act of a commissaire de justice: channel commissaire_de_justice.",
            "channel",
        )


def _check_procedure(data: ActionCreate, performed_on: dt.date, inputs: EngineInputs) -> None:
    """The conditions of the uncontested commercial claims procedure (CPCE L126-1 and
    following) that the service can check, each refused with its reason."""
    if data.type == "commandement_de_payer":
        _check_commandement(data, performed_on, inputs)
    elif data.type == "pv_non_contestation":
        _check_pv(performed_on, inputs)


def _check_commandement(data: ActionCreate, performed_on: dt.date, inputs: EngineInputs) -> None:
    state = inputs.state
    if state.debtor_kind != "business":
        raise _invalid(
            "the procédure simplifiée de recouvrement des créances commerciales incontestées "
            "is for invoices between traders (CPCE L126-1): not against a consumer.",
            "type",
        )
    if state.insolvent:
        raise _invalid(
            "the debtor is under insolvency proceedings: individual proceedings are stopped; "
            "declare the claim to the mandataire instead.",
            "type",
        )
    if state.disputed:
        raise _invalid(
            "a dispute is open: the claim is contested, and the procedure is for uncontested "
            "claims only (resolve the dispute first, or go to court).",
            "type",
        )
    if performed_on <= state.due_date:
        raise _invalid(
            f"the claim must be due (exigible, CPCE L126-1): the invoice falls due on "
            f"{state.due_date.isoformat()}.",
            "performed_at",
        )
    if data.proof is None or data.proof.tracking_number is None:
        raise _invalid(
            "a commandement de payer needs proof.tracking_number (the act's reference).",
            "proof",
            "tracking_number",
        )


def _latest_commandement(actions: tuple[RecordedAction, ...]) -> RecordedAction | None:
    found = [a for a in actions if a.type == "commandement_de_payer"]
    return max(found, key=lambda a: (a.performed_on, a.id), default=None)


def _check_pv(performed_on: dt.date, inputs: EngineInputs) -> None:
    commandement = _latest_commandement(inputs.actions)
    if commandement is None:
        raise _invalid(
            "a procès-verbal de non-contestation follows a commandement de payer: record the "
            "commandement_de_payer first.",
            "type",
        )
    if commandement.served_on is None:
        raise _invalid(
            "the commandement de payer has no date of service: complete its proof.served_on "
            f"(PATCH /v1/actions/{commandement.id}) first; the debtor's month runs from it.",
            "type",
        )
    earliest = pv_earliest(commandement.served_on, inputs.policy.calendar)
    if performed_on < earliest:
        raise _invalid(
            "the procès-verbal de non-contestation is drawn at the earliest 8 days after the "
            f"debtor's month (CPCE L126-3): not before {earliest.isoformat()}.",
            "performed_at",
        )


def _check_lre_consent(channel: Channel | None, performed_at: dt.datetime, debtor: Debtor) -> None:
    """A consumer receives electronic registered letters only with their prior consent."""
    if channel != "lre" or debtor.kind != "consumer":
        return
    given = debtor.lre_consent_at
    if given is None or given > performed_at:
        raise Unprocessable(
            "An electronic registered letter (LRE) to a consumer needs their prior consent: "
            "\"Dans le cas où le destinataire n'est pas un professionnel, celui-ci doit avoir "
            "exprimé à l'expéditeur son consentement à recevoir des envois recommandés "
            'électroniques" (Code des postes et des communications électroniques, art. L100 '
            "II; the LRE itself: eIDAS regulation 910/2014, art. 44). Record the debtor's "
            "lre_consent (PATCH /v1/debtors/{id}) given before the sending, or send a paper "
            "registered_letter.",
            errors=[
                FieldError(
                    loc=["body", "channel"],
                    msg="no prior LRE consent of the consumer debtor"
                    if given is None
                    else f"the debtor's LRE consent was given later ({given.isoformat()})",
                )
            ],
            legal_reference="CPCE L100 II; eIDAS art. 44",
        )


async def record_action(
    session: AsyncSession, tenant_id: str, invoice_id: str, data: ActionCreate, clock: Clock
) -> Action:
    # The row lock serialises concurrent recordings: two contacts near a cap can't both pass.
    invoice = await get_owned(session, Invoice, tenant_id, invoice_id, lock=True)
    if data.performed_at > clock.now() + _FUTURE_TOLERANCE:
        raise Unprocessable(
            "performed_at is in the future.",
            errors=[FieldError(loc=["body", "performed_at"], msg="must not be in the future")],
        )
    proof = data.proof
    days = _proof_days(proof, clock)
    sent_by = _default_channel(data)
    _check_served_on(data.type, sent_by, days.get("served_on"))
    action = Action(
        id=new_id("act"),
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        type=data.type,
        channel=sent_by,
        step=data.step,
        performed_at=data.performed_at,
        note=data.note,
        outcome=data.outcome,
        tracking_number=proof.tracking_number if proof else None,
        provider=proof.provider if proof else None,
        provider_ref=proof.provider_ref if proof else None,
        acknowledged_at=days.get("acknowledged_at"),
        presented_at=days.get("presented_at"),
        served_on=days.get("served_on"),
        promised_date=data.promised_date,
        override=data.override,
    )
    performed_on = clock.local_day(data.performed_at)
    _check_proof_dates(performed_on, action, clock.today())
    if data.promised_date is not None and data.promised_date < performed_on:
        raise Unprocessable(
            "promised_date is before the promise.",
            errors=[FieldError(loc=["body", "promised_date"], msg="before performed_at")],
        )

    inputs = (await load_engine_inputs(session, [invoice], clock))[invoice.id]
    _check_procedure(data, performed_on, inputs)
    _check_lre_consent(sent_by, data.performed_at, inputs.debtor)
    before = count_contacts(inputs.policy, inputs.state, inputs.actions)
    after = count_contacts(
        inputs.policy, inputs.state, [*inputs.actions, to_recorded(action, clock)]
    )
    over = [
        channel
        for channel, cap in legal.AMICABLE_CAPS.items()
        if after[channel] > cap and after[channel] > before[channel]
    ]
    if over and not data.override:
        channel = over[0]
        raise Conflict(
            f"This would be {after[channel]} {channel} contacts in the amicable phase, beyond the "
            f"cap of {legal.AMICABLE_CAPS[channel]} (counting the pre-reminder). Pressure on the "
            "debtor is forbidden; send `override: true` with a `note` to record it anyway.",
            contacts=after,
        )
    session.add(action)
    mark_invoice_changed(session, invoice, clock)
    await flush_or_conflict(session, _CONFLICTS)
    return action


async def update_action(
    session: AsyncSession, tenant_id: str, action_id: str, data: ActionUpdate, clock: Clock
) -> Action:
    action = await get_owned(session, Action, tenant_id, action_id)
    invoice = await get_owned(session, Invoice, tenant_id, action.invoice_id, lock=True)
    await session.refresh(action, with_for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"proof"})
    for field, value in changes.items():
        setattr(action, field, value)
    if data.proof is not None:
        given = {name: getattr(data.proof, name) for name in data.proof.model_fields_set}
        days = _proof_days(data.proof, clock)
        _check_served_on(action.type, action.channel, days.get("served_on"))
        for field, raw in given.items():
            value = days.get(field, raw)
            current = getattr(action, field)
            if current is not None and current != value:
                # Proof is evidence: once given it is not rewritten; record a new action instead.
                raise Conflict(f"proof.{field} is already recorded as {current}.")
            setattr(action, field, value)
    _check_proof_dates(clock.local_day(action.performed_at), action, clock.today())
    mark_invoice_changed(session, invoice, clock)
    await flush_or_conflict(session, _CONFLICTS)
    await session.refresh(action)
    return action


async def list_actions_page(
    session: AsyncSession, tenant_id: str, invoice_id: str, page: PageParams
) -> Page[ActionOut]:
    """One page of the invoice's actions, in the order they were recorded."""
    await get_owned(session, Invoice, tenant_id, invoice_id)
    stmt = select(Action).where(Action.invoice_id == invoice_id, Action.tenant_id == tenant_id)
    return await page_of(session, stmt, Action.id, page, to_out)


async def record_debtor_action(
    session: AsyncSession, tenant_id: str, debtor_id: str, data: DebtorActionCreate, clock: Clock
) -> list[Action]:
    """The same action on each listed invoice of the debtor, all or none (the request's
    transaction): each is checked as `record_action` checks one (caps, proof, procedure), and a
    grouped mise en demeure starts each invoice's deadline."""
    await get_owned(session, Debtor, tenant_id, debtor_id)
    found = {
        invoice.id: invoice
        for invoice in (
            await session.execute(
                select(Invoice).where(
                    Invoice.tenant_id == tenant_id, Invoice.id.in_(data.invoice_ids)
                )
            )
        ).scalars()
    }
    for index, invoice_id in enumerate(data.invoice_ids):
        invoice = found.get(invoice_id)
        if invoice is None or invoice.debtor_id != debtor_id:
            raise Unprocessable(
                f"Invoice {invoice_id} is not an invoice of debtor {debtor_id}.",
                errors=[
                    FieldError(
                        loc=["body", "invoice_ids", index], msg="not an invoice of this debtor"
                    )
                ],
            )
    one = data.for_one_invoice()
    # In id order, as the unit of work's refresh locks them: two requests cannot deadlock.
    recorded = {
        invoice_id: await record_action(session, tenant_id, invoice_id, one, clock)
        for invoice_id in sorted(data.invoice_ids)
    }
    return [recorded[invoice_id] for invoice_id in data.invoice_ids]
