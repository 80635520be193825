"""Keeps each invoice's dunning state current: whenever an invoice (or what the engine reads about
it: actions, disputes, payment plan, debtor) changes, the pure engine is run for today and its
answer is stored on the invoice, with `next_action_at`, the indexed instant at which the sweep
must look at it again.

`refresh_changed` is the unit of work's before-commit hook (registered by app.main): it takes
every invoice the ledger marked changed, in one batch, with one loader of the engine's inputs
(`load_engine_inputs`, shared with the sweep and the timeline) and one statement to store the
answers (`store_answers`), then writes the events the changes caused. Deadline events are
written only by the sweep (app.escalation.tasks)."""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import bindparam, column, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.core.clock import Clock
from app.core.db import (
    InvoiceChanges,
    is_locked_and_current,
    loaded,
    named_rows,
    on_driver,
    remember_locked,
    rows_as_array,
    rows_by_id,
)
from app.escalation.actions.models import Action
from app.escalation.engine import (
    ActionType,
    Evaluation,
    Installment,
    InvoiceState,
    RecordedAction,
    evaluate,
)
from app.escalation.policies.service import policies_for_creditors
from app.escalation.policy import Channel, Policy
from app.escalation.proof.models import ProofEvent
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.invoices.models import Invoice, NewInvoice
from app.ledger.invoices.service import to_out
from app.legal.deadlines import ProofFact
from app.legal.einvoicing import claimable
from app.outbox.events.schemas import as_event_type
from app.outbox.events.service import NewEvent, emit_many


@dataclass(frozen=True)
class EngineInputs:
    state: InvoiceState
    policy: Policy
    actions: tuple[RecordedAction, ...]
    debtor: Debtor

    def evaluate(self, today: dt.date) -> Evaluation:
        return evaluate(self.state, self.policy, self.actions, self.policy.calendar, today)


class ActionRow(NamedTuple):
    """What the engine reads of an action, as `_HISTORY` selects it (an `Action`'s names)."""

    id: str
    invoice_id: str
    type: ActionType
    channel: Channel | None
    performed_at: dt.datetime
    acknowledged_at: dt.date | None
    presented_at: dt.date | None
    promised_date: dt.date | None
    served_on: dt.date | None


def to_recorded(
    action: Action | ActionRow, clock: Clock, proof: tuple[ProofFact, ...] = ()
) -> RecordedAction:
    return RecordedAction(
        id=action.id,
        type=action.type,
        channel=action.channel,
        performed_on=clock.local_day(action.performed_at),
        acknowledged_on=action.acknowledged_at,
        presented_on=action.presented_at,
        promised_date=action.promised_date,
        served_on=action.served_on,
        proof=proof,
    )


async def proof_facts(
    session: AsyncSession, invoice_ids: Sequence[str], clock: Clock
) -> dict[str, list[ProofFact]]:
    """Action id -> its proof events as the law reads them (each on its local day)."""
    found: dict[str, list[ProofFact]] = defaultdict(list)
    rows = await session.execute(
        select(ProofEvent.action_id, ProofEvent.status, ProofEvent.at)
        .where(ProofEvent.invoice_id.in_(invoice_ids))
        .order_by(ProofEvent.at, ProofEvent.id)
    )
    for action_id, status, at in rows:
        found[action_id].append(ProofFact(status, clock.local_day(at)))
    return found


def engine_state(
    invoice: Invoice,
    debtor: Debtor,
    *,
    emitted: Mapping[str, dt.date] | None = None,
    installments: tuple[Installment, ...] = (),
    paid_since_plan: Decimal = Decimal(0),
) -> InvoiceState:
    return InvoiceState(
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount,
        # The claimable balance: a partial approval (206) limits what is chased.
        balance=claimable(invoice.amount, invoice.approved_amount)
        - (invoice.paid_amount or Decimal(0)),
        status=invoice.status,
        debtor_kind=debtor.kind,
        created_on=invoice.tracked_since,
        disputed=invoice.disputed,
        insolvent=debtor.insolvency_procedure is not None,
        installments=installments,
        paid_since_plan=paid_since_plan,
        lifecycle_outcome=invoice.lifecycle_outcome,
        suspended=bool(invoice.suspended),
        payment_announced_until=invoice.payment_announced_until,
        approved=bool(invoice.approved),
        received_on=invoice.received_on,
        emitted=dict(emitted or {}),
    )


@dataclass
class _History:
    """What the engine reads about a batch of invoices besides the invoices themselves."""

    actions: dict[str, list[RecordedAction]] = field(default_factory=lambda: defaultdict(list))
    emitted: dict[str, dict[str, dt.date]] = field(default_factory=lambda: defaultdict(dict))
    plans: dict[str, tuple[tuple[Installment, ...], Decimal]] = field(default_factory=dict)


# The engine's history of a batch of invoices, and the debtors and creditors the caller does not
# know yet, in one round trip through the driver: each kind aggregated into an array of
# anonymous records, which asyncpg decodes into tuples of native values. It was six ORM queries,
# each costing several times the driver's CPU, then three driver queries (bench/README.md).
# The ids are joined (a set), not tested with `= ANY(...)`: in a generic plan PostgreSQL compares
# each row scanned with every element of a parameter array (13 ms for 500 ids on 640 actions).
_HISTORY = f"""
WITH ids AS MATERIALIZED (SELECT DISTINCT unnest($1::varchar[]) AS id)
SELECT
  (SELECT array_agg(ROW(a.id, a.invoice_id, a.type, a.channel, a.performed_at,
                        a.acknowledged_at, a.presented_at, a.promised_date, a.served_on)
                    ORDER BY a.id)
     FROM ids JOIN actions a ON a.invoice_id = ids.id) AS actions,
  (SELECT array_agg(ROW(p.action_id, p.status, p.at) ORDER BY p.at, p.id)
     FROM ids JOIN proof_events p ON p.invoice_id = ids.id) AS proof,
  (SELECT array_agg(ROW(k.invoice_id, k.occurrence, k.occurred_on, k.created_at))
     FROM ids JOIN event_keys k ON k.invoice_id = ids.id) AS emitted,
  (SELECT array_agg(ROW(g.invoice_id, g.occurrence, g.occurred_on))
     FROM ids JOIN grouped_steps g ON g.invoice_id = ids.id) AS grouped,
  (SELECT array_agg(ROW(pl.id, pl.invoice_id, pl.paid_before))
     FROM ids JOIN payment_plans pl ON pl.invoice_id = ids.id AND pl.status = 'active') AS plans,
  (SELECT array_agg(ROW(i.plan_id, i.due_date, i.amount) ORDER BY i.plan_id, i.seq)
     FROM ids JOIN payment_plans pl ON pl.invoice_id = ids.id AND pl.status = 'active'
     JOIN payment_plan_installments i ON i.plan_id = pl.id) AS installments,
  {rows_as_array(Debtor.__table__, "id", "$2")} AS debtors,
  {rows_as_array(Creditor.__table__, "id", "$3")} AS creditors
"""  # noqa: S608 - no input in the text: the names are the models'


@dataclass
class _Parties:
    """Debtor id -> debtor and creditor id -> creditor: ORM objects of the session, rows the
    caller remembered (`remember_loaded`), or rows read here (their columns as attributes)."""

    debtors: dict[str, Any]
    creditors: dict[str, Any]

    @classmethod
    def known(cls, session: AsyncSession, invoices: Sequence[Invoice]) -> _Parties:
        def by_id(model: Any, ids: set[str]) -> dict[str, Any]:
            found = {object_id: loaded(session, model, object_id) for object_id in ids}
            return {object_id: row for object_id, row in found.items() if row is not None}

        return cls(
            by_id(Debtor, {i.debtor_id for i in invoices}),
            by_id(Creditor, {i.creditor_id for i in invoices}),
        )

    def missing(self, invoices: Sequence[Invoice]) -> tuple[list[str], list[str]]:
        return (
            sorted({i.debtor_id for i in invoices} - self.debtors.keys()),
            sorted({i.creditor_id for i in invoices} - self.creditors.keys()),
        )

    def _of(self, model: Any) -> dict[str, Any]:
        return self.debtors if model is Debtor else self.creditors

    def add(self, model: Any, rows: Iterable[Any]) -> None:
        self._of(model).update({row.id: row for row in rows})

    async def read_missing(self, session: AsyncSession, invoices: Sequence[Invoice]) -> None:
        """The missing ones, one driver query per model (when there is no history to read)."""
        for model, ids in zip((Debtor, Creditor), self.missing(invoices), strict=True):
            if ids:
                self.add(model, await rows_by_id(await session.connection(), model, ids))


async def _history(
    session: AsyncSession, invoices: Sequence[Invoice], clock: Clock, parties: _Parties
) -> _History:
    """The invoices' history; the debtors and creditors missing from `parties` are added."""
    ids = [i.id for i in invoices]
    debtor_ids, creditor_ids = parties.missing(invoices)
    found = _History()
    conn = await session.connection()
    row = await on_driver(
        conn, lambda driver: driver.fetchrow(_HISTORY, ids, debtor_ids, creditor_ids)
    )
    parties.add(Debtor, named_rows(Debtor, row["debtors"]))
    parties.add(Creditor, named_rows(Creditor, row["creditors"]))
    proof: dict[str, list[ProofFact]] = defaultdict(list)
    for action_id, status, at in row["proof"] or ():
        proof[action_id].append(ProofFact(status, clock.local_day(at)))
    for action in map(ActionRow._make, row["actions"] or ()):
        found.actions[action.invoice_id].append(
            to_recorded(action, clock, tuple(proof.get(action.id, ())))
        )
    for invoice_id, occurrence, occurred_on, created_at in row["emitted"] or ():
        found.emitted[invoice_id][occurrence] = occurred_on or created_at.date()
    # Steps sent with (or passed over by) a debtor's grouped event count as the invoice's own.
    for invoice_id, occurrence, occurred_on in row["grouped"] or ():
        found.emitted[invoice_id][occurrence] = occurred_on
    if row["plans"]:
        by_plan: dict[str, list[Installment]] = defaultdict(list)
        for plan_id, due_date, amount in row["installments"] or ():
            by_plan[plan_id].append(Installment(due_date, amount))
        paid = {i.id: i.paid_amount for i in invoices}
        for plan_id, invoice_id, paid_before in row["plans"]:
            found.plans[invoice_id] = (tuple(by_plan[plan_id]), paid[invoice_id] - paid_before)
    return found


async def load_engine_inputs(
    session: AsyncSession, invoices: Sequence[Invoice], clock: Clock
) -> dict[str, EngineInputs]:
    """Invoice id -> everything the engine reads about it, for a whole batch in one query per
    kind."""
    if not invoices:
        return {}
    parties = _Parties.known(session, invoices)
    history = await _history(session, invoices, clock, parties)
    debtors = parties.debtors
    policies = await policies_for_creditors(session, list(parties.creditors.values()))
    out: dict[str, EngineInputs] = {}
    for invoice in invoices:
        installments, paid_since_plan = history.plans.get(invoice.id, ((), Decimal(0)))
        debtor = debtors[invoice.debtor_id]
        state = engine_state(
            invoice,
            debtor,
            emitted=history.emitted.get(invoice.id, {}),
            installments=installments,
            paid_since_plan=paid_since_plan,
        )
        out[invoice.id] = EngineInputs(
            state, policies[invoice.creditor_id], tuple(history.actions.get(invoice.id, ())), debtor
        )
    return out


# The dunning state the engine answers, as stored on the invoice (the order of _STORE's arrays).
ANSWER_FIELDS = (
    "dunning_stage",
    "last_step",
    "next_step",
    "next_action_at",
    "paused",
    "paused_reason",
    "formal_notice_deadline",
    "limitation_ends_on",
)


def answer(evaluation: Evaluation, clock: Clock) -> dict[str, Any]:
    """The stored form of an evaluation. Something due now is looked at by the next sweep;
    otherwise the invoice waits for its next planned day."""
    next_day = evaluation.due[0].on if evaluation.due else evaluation.next_action_on
    return {
        "dunning_stage": evaluation.stage,
        "last_step": evaluation.last_step,
        "next_step": evaluation.next_step,
        "next_action_at": clock.start_of_day(next_day) if next_day else None,
        "paused": evaluation.paused,
        "paused_reason": evaluation.paused_reason,
        "formal_notice_deadline": evaluation.formal_notice_deadline,
        "limitation_ends_on": evaluation.limitation_ends_on,
    }


# One statement for a whole batch of answers (arrays zipped by unnest), returning what the
# server set, so the session's objects are current without another read. Only invoices whose
# answer differs are passed.
_STORE = text(
    """
    UPDATE invoices AS i
    SET dunning_stage = v.dunning_stage, last_step = v.last_step, next_step = v.next_step,
        next_action_at = v.next_action_at, paused = v.paused, paused_reason = v.paused_reason,
        formal_notice_deadline = v.formal_notice_deadline,
        limitation_ends_on = v.limitation_ends_on, updated_at = now()
    FROM unnest(
        CAST(:id AS varchar[]), CAST(:dunning_stage AS varchar[]), CAST(:last_step AS varchar[]),
        CAST(:next_step AS varchar[]), CAST(:next_action_at AS timestamptz[]),
        CAST(:paused AS boolean[]), CAST(:paused_reason AS varchar[]),
        CAST(:formal_notice_deadline AS date[]), CAST(:limitation_ends_on AS date[])
    ) AS v(id, dunning_stage, last_step, next_step, next_action_at, paused, paused_reason,
           formal_notice_deadline, limitation_ends_on)
    WHERE i.id = v.id
    RETURNING i.id, i.updated_at
    """
).columns(column("id"), column("updated_at"))


async def store_answers(
    session: AsyncSession, answers: Sequence[tuple[Invoice, dict[str, Any]]]
) -> None:
    """Store each persistent invoice's new answer (one statement) and set it on the object as
    committed state (it is not written again at the next flush)."""
    changed = [
        (invoice, values)
        for invoice, values in answers
        if any(getattr(invoice, name) != values[name] for name in ANSWER_FIELDS)
    ]
    if not changed:
        return
    params: dict[str, list[Any]] = {"id": [invoice.id for invoice, _ in changed]}
    for name in ANSWER_FIELDS:
        params[name] = [values[name] for _, values in changed]
    result = await session.execute(_STORE, params)
    stored: dict[str, dt.datetime] = {row.id: row.updated_at for row in result}
    for invoice, values in changed:
        for name, value in values.items():
            set_committed_value(invoice, name, value)
        set_committed_value(invoice, "updated_at", stored[invoice.id])


# What `engine_state` reads of a new invoice (one with no history): invoices alike in these,
# with debtors alike in kind and insolvency and the same policy, get the same plan.
_NEW_STATE_KEY = operator.attrgetter(
    "issue_date",
    "due_date",
    "amount",
    "approved_amount",
    "paid_amount",
    "status",
    "tracked_since",
    "disputed",
    "lifecycle_outcome",
    "suspended",
    "payment_announced_until",
    "approved",
    "received_on",
)


async def _plan_new(session: AsyncSession, invoices: Sequence[Invoice], clock: Clock) -> None:
    """Plan invoices that have no history, each distinct input once: a batch of invoices with
    the same dates, amounts and states, debtor kind and policy gets one evaluation, and only
    that one builds the engine's state (bench/README.md)."""
    if not invoices:
        return
    parties = _Parties.known(session, invoices)
    await parties.read_missing(session, invoices)
    policies = await policies_for_creditors(session, list(parties.creditors.values()))
    today = clock.today()
    planned: dict[tuple[Any, ...], dict[str, Any]] = {}
    for invoice in invoices:
        debtor = parties.debtors[invoice.debtor_id]
        policy = policies[invoice.creditor_id]
        key = (
            _NEW_STATE_KEY(invoice),
            debtor.kind,
            debtor.insolvency_procedure is not None,
            id(policy),
        )
        values = planned.get(key)
        if values is None:
            inputs = EngineInputs(engine_state(invoice, debtor), policy, (), debtor)
            values = planned[key] = answer(inputs.evaluate(today), clock)
        for name, value in values.items():
            setattr(invoice, name, value)


def _new_and_stored(invoices: Iterable[Any]) -> tuple[list[Any], dict[str, Invoice]]:
    """The invoices not INSERTed yet (a `NewInvoice`, not mapped, or an ORM invoice not flushed
    yet), and the stored ones by id, in id order."""
    new: list[Any] = []
    stored: dict[str, Invoice] = {}
    for invoice in invoices:
        if isinstance(invoice, NewInvoice):
            new.append(invoice)
            continue
        state = inspect(invoice)
        if state.transient or state.pending:
            new.append(invoice)
        elif state.persistent:
            stored[invoice.id] = invoice
    return new, dict(sorted(stored.items()))


# The changed invoices, locked in id order and re-read with what the flush wrote. Built once:
# built per refresh, with its cache key, it cost about 57 µs of CPU (bench/README.md).
_LOCK_AND_REREAD = (
    select(Invoice)
    .where(Invoice.id.in_(bindparam("ids", expanding=True)))
    .order_by(Invoice.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def refresh_changed(session: AsyncSession, changes: InvoiceChanges) -> None:
    """The before-commit hook: refresh every invoice marked changed, then write the events the
    changes caused, with each invoice as the API now shows it.

    An invoice not yet INSERTed (created in this unit of work) is planned on the object, with no
    query: it has no history, and its INSERT carries the plan. The others are locked in id
    order (concurrent refreshes cannot deadlock) and re-read with what the flush wrote, but for
    those the ledger locked itself and holds current (`is_locked_and_current`: a payment's,
    an action's); all are evaluated in one batch and stored in one statement."""
    clock = changes.clock
    today = clock.today()
    new, stored = _new_and_stored(changes.invoices)
    await _plan_new(session, new, clock)
    await session.flush()  # what the ledger changed, and the new invoices with their plan
    if stored:
        # Those the ledger locked itself (get_owned) are current since the flush: not read again.
        unlocked = [
            i for i, invoice in stored.items() if not is_locked_and_current(session, invoice)
        ]
        if unlocked:
            for invoice in (await session.execute(_LOCK_AND_REREAD, {"ids": unlocked})).scalars():
                remember_locked(session, invoice)
        invoices = list(stored.values())
        inputs_by_id = await load_engine_inputs(session, invoices, clock)
        await store_answers(
            session,
            [(i, answer(inputs_by_id[i.id].evaluate(today), clock)) for i in invoices],
        )
    events = [
        NewEvent(
            tenant_id=invoice.tenant_id,
            invoice_id=invoice.id,
            occurrence=event.occurrence,
            type=as_event_type(event.type),
            data={"invoice": to_out(invoice, today).model_dump(mode="json"), **event.data},
            occurred_on=today,
        )
        for invoice, queued in changes.invoices.items()
        for event in queued
    ]
    await emit_many(session, events, now=clock.now())
