"""The sweep's grouped part: the invoices it claimed under a `grouping: "debtor"` policy are
handled per debtor, all of the debtor's open invoices together (app.escalation.grouping.engine).

Locking story (exactly once across replicas): the sweep holds its claimed invoices (FOR UPDATE
SKIP LOCKED); it then claims their debtors the same way, and locks each claimed debtor's other
open invoices without waiting (SKIP LOCKED). A debtor another replica holds, or one of whose
invoices a ledger write (or another replica) holds, is deferred: its claimed invoices are left
as they are, still due, for the next sweep. Never waiting means no deadlock with the ledger's
refresh (which locks invoices in id order). Each grouped event is unique per (debtor,
`grouped:<day>`), so at most one a day even if two transactions raced, and the steps it covers
are stored (grouped_steps) in the same transaction: a crash rolls both back, nothing is lost
(the invoices are still due) and nothing is duplicated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.escalation.engine import Evaluation, Occurrence
from app.escalation.grouping.engine import (
    GROUPED_KINDS,
    Decision,
    Member,
    PastContact,
    decide,
    letter_kind,
)
from app.escalation.grouping.models import GroupedStep
from app.escalation.policy import Channel, Policy
from app.escalation.service import EngineInputs, answer, load_engine_inputs, store_answers
from app.ledger.debtors.models import Debtor
from app.ledger.debtors.service import to_out as debtor_out
from app.ledger.invoices.models import Invoice
from app.outbox.events.models import DebtorEventKey
from app.outbox.events.schemas import EventType
from app.outbox.events.service import NewDebtorEvent, emit_debtor_events

ClaimOf = Callable[[AsyncSession, Invoice, dt.date], Awaitable[dict[str, Any]]]

GROUPED_OCCURRENCE_PREFIX = "grouped:"


def grouped_occurrence(day: dt.date) -> str:
    """One grouped event per debtor per day: the day is the occurrence."""
    return f"{GROUPED_OCCURRENCE_PREFIX}{day.isoformat()}"


@dataclass
class DebtorSweep:
    """What the grouped part did with the claimed invoices it was given."""

    handled: int = 0  # invoices swept with their debtor (claimed ones of a deferred debtor not)
    created: list[tuple[str, EventType]] = field(default_factory=list)
    # Per-invoice occurrences still to emit as today (facts, pre-reminders): (invoice, occurrence,
    # policy), written by the caller with the per-invoice events.
    per_invoice: list[tuple[Invoice, Occurrence, Policy]] = field(default_factory=list)


async def _lock_debtors(session: AsyncSession, debtor_ids: list[str]) -> list[str]:
    rows = await session.execute(
        select(Debtor.id)
        .where(Debtor.id.in_(debtor_ids))
        .order_by(Debtor.id)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def _lock_members(session: AsyncSession, debtor_ids: list[str]) -> dict[str, list[Invoice]]:
    """Debtor id -> its open invoices, all locked; a debtor with one held elsewhere is left out."""
    if not debtor_ids:
        return {}
    open_ = (Invoice.debtor_id.in_(debtor_ids), Invoice.status == "open")
    locked = (
        await session.execute(
            select(Invoice).where(*open_).order_by(Invoice.id).with_for_update(skip_locked=True)
        )
    ).scalars()
    members: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in locked:
        members[invoice.debtor_id].append(invoice)
    counted = await session.execute(
        select(Invoice.debtor_id, func.count()).where(*open_).group_by(Invoice.debtor_id)
    )
    counts: dict[str, int] = {row[0]: row[1] for row in counted}
    return {d: invs for d, invs in members.items() if len(invs) == counts.get(d)}


async def _past_contacts(
    session: AsyncSession, debtor_ids: Sequence[str]
) -> dict[str, list[PastContact]]:
    rows = await session.execute(
        select(DebtorEventKey.debtor_id, DebtorEventKey.occurred_on, DebtorEventKey.channel).where(
            DebtorEventKey.debtor_id.in_(debtor_ids)
        )
    )
    found: dict[str, list[PastContact]] = defaultdict(list)
    for debtor_id, on, channel in rows:
        if debtor_id is not None and on is not None:
            found[debtor_id].append(PastContact(on, cast(Channel, channel)))
    return found


def _member(invoice: Invoice, inputs: EngineInputs, today: dt.date) -> Member:
    return Member(
        invoice_id=invoice.id,
        due_date=invoice.due_date,
        balance=inputs.state.balance,
        evaluation=inputs.evaluate(today),
        sent=frozenset(inputs.state.emitted),
    )


def _is_grouped(occurrence: Occurrence) -> bool:
    return occurrence.step is not None and occurrence.step.kind in GROUPED_KINDS


async def _event_data(
    session: AsyncSession,
    debtor: Debtor,
    invoices: dict[str, Invoice],
    decision: Decision,
    policy: Policy,
    today: dt.date,
    claim_of: ClaimOf | None,
) -> dict[str, Any]:
    step = decision.step
    assert step is not None
    kind = letter_kind(step, policy)
    letter_url = f"/v1/debtors/{debtor.id}/letters/{kind}"
    listed = []
    for item in decision.listed:
        invoice = invoices[item.invoice_id]
        entry: dict[str, Any] = {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(),
            "days_overdue": max((today - invoice.due_date).days, 0),
            "balance": str(item.balance),
        }
        if step.kind == "formal_notice" and claim_of is not None:
            # The grouped mise en demeure states each invoice's interest and indemnity.
            entry["claim"] = await claim_of(session, invoice, today)
        listed.append(entry)
    return {
        "debtor": debtor_out(debtor).model_dump(mode="json"),
        "occurrence": grouped_occurrence(today),
        "due_on": today.isoformat(),
        "step": {
            "code": step.code,
            "kind": step.kind,
            "channel": step.channel,
            "offset_days": step.offset_days,
            "letter_url": letter_url,
        },
        "invoices": listed,
        "total_due": str(decision.total_due),
        "currency": "EUR",
        "excluded": [
            {
                "invoice_id": x.invoice_id,
                "number": invoices[x.invoice_id].number,
                "reason": x.reason,
            }
            for x in decision.excluded
        ],
        "letter_url": letter_url,
    }


async def _store_steps(
    session: AsyncSession, marks: Sequence[tuple[str, str, str | None]], today: dt.date
) -> None:
    """(invoice id, occurrence, event id or None) as sent that day; once each."""
    if not marks:
        return
    await session.execute(
        insert(GroupedStep).on_conflict_do_nothing(),
        [
            {"invoice_id": i, "occurrence": o, "occurred_on": today, "event_id": e}
            for i, o, e in marks
        ],
    )


def _answer(
    inputs: EngineInputs, marked: set[str], first: Evaluation, clock: Clock
) -> dict[str, Any]:
    """The invoice's stored answer once today's events and marks are written: its per-invoice
    occurrences and the steps marked count as sent; a grouped step left due (the debtor had
    its contact today already) comes back tomorrow."""
    today, now = clock.today(), clock.now()
    sent_now = {o.key for o in first.due if not _is_grouped(o)} | marked
    state = inputs.state
    emitted = dict(state.emitted) | dict.fromkeys(sent_now, today)
    evaluation = EngineInputs(
        replace(state, emitted=emitted), inputs.policy, inputs.actions, inputs.debtor
    ).evaluate(today)
    values = answer(evaluation, clock)
    next_at = values["next_action_at"]
    if next_at is not None and next_at <= now:
        values["next_action_at"] = clock.start_of_day(today + dt.timedelta(days=1))
    return values


@dataclass
class _Decided:
    """The debtors of a batch, each with its decision for today."""

    invoices: dict[str, Invoice]
    inputs: dict[str, EngineInputs]
    debtors: dict[str, Debtor]
    decisions: dict[str, tuple[Decision, Policy]]  # debtor id -> (its decision, its policy)
    firsts: dict[str, Evaluation]  # invoice id -> the engine's evaluation today

    def per_invoice(self) -> list[tuple[Invoice, Occurrence, Policy]]:
        """The occurrences that stay per invoice (facts, pre-reminders), by invoice id."""
        return [
            (self.invoices[i], o, self.inputs[i].policy)
            for i in sorted(self.firsts)
            for o in self.firsts[i].due
            if not _is_grouped(o)
        ]


async def _decide_all(
    session: AsyncSession, clock: Clock, members: dict[str, list[Invoice]]
) -> _Decided:
    today = clock.today()
    invoices = {i.id: i for invs in members.values() for i in invs}
    inputs = await load_engine_inputs(session, list(invoices.values()), clock)
    history = await _past_contacts(session, list(members))
    decided = _Decided(
        invoices,
        inputs,
        {d.id: d for d in (inputs[invs[0].id].debtor for invs in members.values())},
        {},
        {},
    )
    for debtor_id in sorted(members):
        grouped = [i for i in members[debtor_id] if inputs[i.id].policy.grouping == "debtor"]
        if not grouped:
            continue
        policy = inputs[grouped[0].id].policy
        found = [_member(i, inputs[i.id], today) for i in grouped]
        decided.firsts |= {m.invoice_id: m.evaluation for m in found}
        decided.decisions[debtor_id] = (
            decide(policy, found, history[debtor_id], today),
            policy,
        )
    return decided


async def sweep_debtors(
    session: AsyncSession,
    clock: Clock,
    claimed: Sequence[Invoice],
    *,
    claim_of: ClaimOf | None = None,
) -> DebtorSweep:
    """Handle the claimed invoices of grouped policies, debtor by debtor, in the caller's
    transaction (see the module's docstring)."""
    today, now = clock.today(), clock.now()
    out = DebtorSweep()
    debtor_ids = await _lock_debtors(session, sorted({i.debtor_id for i in claimed}))
    members = await _lock_members(session, debtor_ids)
    if not members:
        return out
    d = await _decide_all(session, clock, members)
    # Swept: the claimed invoices of these debtors, and their other invoices that were due too
    # (claimed by no one yet: they go with their debtor now).
    swept = {i.id for i in claimed} & set(d.invoices) | {
        i.id
        for i in d.invoices.values()
        if i.next_action_at is not None and i.next_action_at <= now
    }
    events = [
        NewDebtorEvent(
            tenant_id=d.debtors[debtor_id].tenant_id,
            debtor_id=debtor_id,
            occurrence=grouped_occurrence(today),
            type=decision.event_type,
            data=await _event_data(
                session, d.debtors[debtor_id], d.invoices, decision, policy, today, claim_of
            ),
            occurred_on=today,
        )
        for debtor_id, (decision, policy) in sorted(d.decisions.items())
        if decision.event_type is not None
    ]
    created = await emit_debtor_events(session, events, now=now)
    marks: list[tuple[str, str, str | None]] = []
    for debtor_id, (decision, _) in d.decisions.items():
        marks += [(i, o, None) for i, o in decision.skipped]
        if debtor_id in created:  # the covered steps go with the event, or not at all
            marks += [(i, o, created[debtor_id][0]) for i, o in decision.covered]
    await _store_steps(session, marks, today)
    marked: dict[str, set[str]] = defaultdict(set)
    for invoice_id, occurrence, _ in marks:
        marked[invoice_id].add(occurrence)
    await store_answers(
        session,
        [
            (d.invoices[i], _answer(d.inputs[i], marked[i], d.firsts[i], clock))
            for i in sorted(d.firsts)
        ],
    )
    out.per_invoice = d.per_invoice()
    out.handled = len(swept)
    out.created = list(created.values())
    return out


@dataclass(frozen=True)
class PlannedDebtorEvent:
    tenant_id: str
    debtor_id: str
    type: EventType
    occurrence: str
    due_on: dt.date


async def preview_debtors(
    session: AsyncSession, clock: Clock, invoices: Sequence[Invoice], seen: set[str]
) -> tuple[list[tuple[Invoice, Occurrence, Policy]], list[PlannedDebtorEvent]]:
    """What `sweep_debtors` would emit for these invoices' debtors (those not in `seen`, which
    is updated), writing and locking nothing: the per-invoice occurrences and the grouped
    events."""
    debtor_ids = sorted({i.debtor_id for i in invoices} - seen)
    seen.update(debtor_ids)
    if not debtor_ids:
        return [], []
    rows = await session.execute(
        select(Invoice)
        .where(Invoice.debtor_id.in_(debtor_ids), Invoice.status == "open")
        .order_by(Invoice.id)
    )
    members: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in rows.scalars():
        members[invoice.debtor_id].append(invoice)
    d = await _decide_all(session, clock, members)
    today = clock.today()
    grouped = [
        PlannedDebtorEvent(
            d.debtors[debtor_id].tenant_id,
            debtor_id,
            decision.event_type,
            grouped_occurrence(today),
            today,
        )
        for debtor_id, (decision, _) in sorted(d.decisions.items())
        if decision.event_type is not None
    ]
    return d.per_invoice(), grouped
