"""The sweep: finds invoices whose `next_action_at` has passed (partial index, so the cost follows
the due work, not the number of invoices), claims them in batches with FOR UPDATE SKIP LOCKED (two
replicas never take the same rows), runs the engine, writes the due events and advances each
invoice, all in one transaction per batch. A crash mid-batch rolls the batch back: nothing is lost
(the rows are still due) and nothing is duplicated (events are unique per invoice and occurrence).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.actions.models import Action
from app.claims.service import claim_for, claim_out, rate_book
from app.core.clock import Clock
from app.core.ids import new_id
from app.core.metrics import EVENTS_CREATED, SWEEP_DUE_ROWS, SWEEP_DURATION
from app.core.scheduler import TICK_JOBS
from app.creditors.models import Creditor
from app.debtors.models import Debtor
from app.escalation.engine import Evaluation, Installment, Occurrence, evaluate
from app.escalation.policy import Policy
from app.escalation.service import apply_evaluation, engine_state, to_recorded
from app.events.models import Event
from app.invoices.models import Invoice
from app.invoices.service import to_out
from app.payment_plans.models import Installment as InstallmentRow
from app.payment_plans.models import PaymentPlan
from app.policies.service import policies_for_creditors
from app.webhooks.service import fan_out
from app.webhooks.tasks import dispatcher

log = logging.getLogger("relance.sweep")

BATCH_SIZE = 500


@dataclass
class SweepStats:
    invoices: int = 0
    events: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    event_ids: list[str] = field(default_factory=list)


def letter_kind(occurrence: Occurrence, policy: Policy) -> str | None:
    """The letter for a step: the first reminder is courteous, later ones formal."""
    step = occurrence.step
    if occurrence.key == "pre_reminder":
        return "pre_reminder"
    if step is None:
        return None
    if step.kind == "formal_notice":
        return "formal_notice"
    reminders = [s.code for s in policy.steps if s.kind == "reminder"]
    return "reminder_1" if reminders and reminders[0] == step.code else "reminder_2"


def event_data(
    invoice: Invoice, occurrence: Occurrence, policy: Policy, today: dt.date
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "invoice": to_out(invoice, today).model_dump(mode="json"),
        "occurrence": occurrence.key,
        "due_on": occurrence.on.isoformat(),
    }
    kind = letter_kind(occurrence, policy)
    letter_url = f"/v1/invoices/{invoice.id}/letters/{kind}" if kind else None
    if occurrence.step is not None:
        step = occurrence.step
        data["step"] = {
            "code": step.code,
            "kind": step.kind,
            "channel": step.channel,
            "offset_days": step.offset_days,
            "letter_url": letter_url,
        }
    elif letter_url:
        data["letter_url"] = letter_url
    for key, value in occurrence.detail.items():
        data[key] = value.isoformat() if isinstance(value, dt.date) else value
    return data


async def _claim(session: AsyncSession, now: dt.datetime, limit: int) -> list[Invoice]:
    stmt = (
        select(Invoice)
        .where(
            Invoice.status == "open",
            Invoice.next_action_at.is_not(None),
            Invoice.next_action_at <= now,
        )
        .order_by(Invoice.next_action_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def _load_context(
    session: AsyncSession, invoices: Sequence[Invoice], clock: Clock
) -> tuple[
    dict[str, Debtor],
    dict[str, Policy],
    dict[str, list[Any]],
    dict[str, dict[str, dt.date]],
    dict[str, tuple[tuple[Installment, ...], Decimal]],
]:
    """Everything the engine reads for a batch, in one query per kind."""
    ids = [i.id for i in invoices]
    debtors = {
        d.id: d
        for d in (
            await session.execute(
                select(Debtor).where(Debtor.id.in_({i.debtor_id for i in invoices}))
            )
        ).scalars()
    }
    creditors = list(
        (
            await session.execute(
                select(Creditor).where(Creditor.id.in_({i.creditor_id for i in invoices}))
            )
        ).scalars()
    )
    policies = await policies_for_creditors(session, creditors)
    actions: dict[str, list[Any]] = defaultdict(list)
    for action in (
        await session.execute(select(Action).where(Action.invoice_id.in_(ids)).order_by(Action.id))
    ).scalars():
        actions[action.invoice_id].append(to_recorded(action, clock))
    emitted: dict[str, dict[str, dt.date]] = defaultdict(dict)
    for invoice_id, occurrence, occurred_on, created_at in await session.execute(
        select(Event.invoice_id, Event.occurrence, Event.occurred_on, Event.created_at).where(
            Event.invoice_id.in_(ids)
        )
    ):
        if invoice_id is not None:
            emitted[invoice_id][occurrence] = occurred_on or created_at.date()
    plans: dict[str, tuple[tuple[Installment, ...], Decimal]] = {}
    plan_rows = (
        (
            await session.execute(
                select(PaymentPlan).where(
                    PaymentPlan.invoice_id.in_(ids), PaymentPlan.status == "active"
                )
            )
        )
        .scalars()
        .all()
    )
    if plan_rows:
        by_plan: dict[str, list[Installment]] = defaultdict(list)
        for row in (
            await session.execute(
                select(InstallmentRow)
                .where(InstallmentRow.plan_id.in_([p.id for p in plan_rows]))
                .order_by(InstallmentRow.plan_id, InstallmentRow.seq)
            )
        ).scalars():
            by_plan[row.plan_id].append(Installment(row.due_date, row.amount))
        paid = {i.id: i.paid_amount for i in invoices}
        for plan in plan_rows:
            plans[plan.invoice_id] = (
                tuple(by_plan[plan.id]),
                paid[plan.invoice_id] - plan.paid_before,
            )
    creditor_policy = {i.id: policies[i.creditor_id] for i in invoices}
    return debtors, creditor_policy, actions, emitted, plans


async def sweep_batch(
    session: AsyncSession, clock: Clock, limit: int = BATCH_SIZE
) -> tuple[int, list[tuple[str, str]]]:
    """One batch in the caller's transaction: returns (invoices claimed, [(event id, type)])."""
    now = clock.now()
    today = clock.today()
    invoices = await _claim(session, now, limit)
    if not invoices:
        return 0, []
    debtors, policies, actions, emitted, plans = await _load_context(session, invoices, clock)
    event_rows: list[dict[str, Any]] = []
    invoice_updates: list[dict[str, Any]] = []
    rates = None
    for invoice in invoices:
        installments, paid_since_plan = plans.get(invoice.id, ((), Decimal(0)))
        state = engine_state(
            invoice,
            debtors[invoice.debtor_id],
            emitted=emitted.get(invoice.id, {}),
            installments=installments,
            paid_since_plan=paid_since_plan,
        )
        policy = policies[invoice.id]
        evaluation: Evaluation = evaluate(
            state, policy, actions.get(invoice.id, ()), policy.calendar, today
        )
        apply_evaluation(invoice, evaluation, clock)
        # The due occurrences are emitted now: the invoice waits for its next planned day.
        next_at = (
            clock.start_of_day(evaluation.next_action_on) if evaluation.next_action_on else None
        )
        if next_at is not None and next_at <= now:
            next_at = clock.start_of_day(today + dt.timedelta(days=1))  # never spin on a row
        invoice.next_action_at = next_at
        for occurrence in evaluation.due:
            data = event_data(invoice, occurrence, policies[invoice.id], today)
            if occurrence.event_type == "invoice.formal_notice_required":
                # The mise en demeure states the amounts: give the consumer of the event the claim.
                rates = rates or await rate_book(session)
                claim = await claim_for(session, invoice, today, rates=rates)
                data["claim"] = claim_out(invoice, claim, today).model_dump(
                    mode="json", by_alias=True
                )
            event_rows.append(
                {
                    "id": new_id("evt"),
                    "tenant_id": invoice.tenant_id,
                    "invoice_id": invoice.id,
                    "occurrence": occurrence.key,
                    "type": occurrence.event_type,
                    "occurred_on": today,
                    "data": data,
                    "created_at": now,
                }
            )
        invoice_updates.append(
            {
                "id": invoice.id,
                "dunning_stage": invoice.dunning_stage,
                "last_step": invoice.last_step,
                "next_step": invoice.next_step,
                "next_action_at": invoice.next_action_at,
                "paused": invoice.paused,
                "paused_reason": invoice.paused_reason,
                "formal_notice_deadline": invoice.formal_notice_deadline,
                "limitation_ends_on": invoice.limitation_ends_on,
            }
        )
    created: list[tuple[str, str]] = []
    if event_rows:
        result = await session.execute(
            insert(Event)
            .on_conflict_do_nothing(index_elements=[Event.invoice_id, Event.occurrence])
            .returning(Event.id, Event.type),
            event_rows,
        )
        created = [(event_id, type_) for event_id, type_ in result]
        await fan_out_events(session, [event_id for event_id, _ in created])
    # The ORM objects were only used to compute; one executemany writes the new states.
    session.expunge_all()
    await session.execute(update(Invoice), invoice_updates)
    return len(invoices), created


async def fan_out_events(session: AsyncSession, event_ids: Sequence[str]) -> None:
    """Queue the webhook deliveries of new events (same transaction as the events)."""
    if event_ids:
        await fan_out(session, event_ids)


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
) -> SweepStats:
    """Sweep everything due at `clock.now()`, one committed batch at a time."""
    stats = SweepStats()
    started = time.perf_counter()
    while max_batches is None or stats.batches < max_batches:
        async with sessionmaker() as session, session.begin():
            claimed, created = await sweep_batch(session, clock, batch_size)
        if not claimed:
            break
        stats.batches += 1
        stats.invoices += claimed
        stats.events += len(created)
        for event_id, type_ in created:
            stats.by_type[type_] = stats.by_type.get(type_, 0) + 1
            stats.event_ids.append(event_id)
            EVENTS_CREATED.labels(type_).inc()
        SWEEP_DUE_ROWS.inc(claimed)
    SWEEP_DURATION.observe(time.perf_counter() - started)
    if stats.invoices:
        log.info("sweep: %d invoices, %d events", stats.invoices, stats.events)
    return stats


# An admin sweep delivers for at most this long: a dead endpoint (15 s per attempt) must not
# hold the call for minutes. What is still in flight then finishes in the background, and what
# is left is due for the scheduler's next tick.
ADMIN_DELIVERY_BUDGET_SECONDS = 10.0


async def deliver_all_due(app: FastAPI, clock: Clock, budget: float | None) -> dict[str, int]:
    """The webhook deliveries due at `clock.now()`, for up to `budget` seconds (admin sweep) or
    until none is left (None: the CLI, which has no scheduler to finish the work): outcome ->
    count of the attempts recorded."""
    # The process's dispatcher: its bound on requests in flight, and shutdown drains them.
    stats = await dispatcher(app).run(app, budget=budget, clock=clock)
    return stats.by_outcome


async def sweep_tick(app: FastAPI) -> None:
    await sweep(app.state.sessionmaker, app.state.clock)


TICK_JOBS.append(("sweep", sweep_tick))
