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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.db import unit_of_work
from app.core.metrics import SWEEP_DUE_ROWS, SWEEP_DURATION
from app.core.scheduler import in_turns
from app.escalation.engine import Occurrence
from app.escalation.grouping.tasks import DebtorSweep, preview_debtors, sweep_debtors
from app.escalation.policy import Policy
from app.escalation.service import answer, load_engine_inputs, store_answers
from app.ledger.invoices.models import Invoice
from app.ledger.invoices.service import to_out
from app.outbox.events.schemas import EventType
from app.outbox.events.service import NewEvent, emit_many
from app.outbox.webhooks.tasks import dispatcher
from app.tenants.models import Tenant

# The claim of an invoice as of a day, as the API shows it (JSON): what a mise en demeure states.
# Given by the composition root (the claims part sits above the escalation).
ClaimOf = Callable[[AsyncSession, Invoice, dt.date], Awaitable[dict[str, Any]]]

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


def due_invoices(now: dt.datetime, tenant_id: str | None) -> Select[Invoice]:
    """The open invoices due at `now`: of one sandbox tenant (its advance), or of every live
    tenant (None: the scheduler, the admin sweep). A sandbox tenant's invoices are due at its
    own clock, which only its advance moves: the live sweep never touches them."""
    stmt = select(Invoice).where(
        Invoice.status == "open",
        Invoice.next_action_at.is_not(None),
        Invoice.next_action_at <= now,
    )
    if tenant_id is not None:
        return stmt.where(Invoice.tenant_id == tenant_id)
    # A handful of sandbox tenants at most: a hashed subplan beside the partial index.
    return stmt.where(Invoice.tenant_id.not_in(select(Tenant.id).where(Tenant.sandbox)))


# Fair across tenants: each tenant with due work gets an equal share of the batch, its most
# overdue invoices, so one tenant's 500,000 due invoices never delay another's ten (they go in
# the first batch). Who has due work: one probe per tenant of ix_invoices_tenant_due_work; then
# one LATERAL claim per such tenant in that index's order, FOR UPDATE SKIP LOCKED (exactly once
# across replicas). The cost follows the tenants and the batch, not the open invoices. A share a
# tenant leaves unused makes the batch smaller, not unfair; the next batch shares again.
_FAIR_CLAIM = text(
    """
    WITH candidates AS (
        SELECT t.id FROM tenants t
        WHERE CASE WHEN CAST(:tenant_id AS varchar) IS NULL THEN NOT t.sandbox
                   ELSE t.id = :tenant_id END
    ), due AS (
        SELECT c.id FROM candidates c
        WHERE EXISTS (
            SELECT 1 FROM invoices i
            WHERE i.tenant_id = c.id AND i.status = 'open'
              AND i.next_action_at IS NOT NULL AND i.next_action_at <= :now
        )
    ), share AS (
        SELECT CAST(ceil(CAST(:limit AS numeric) / greatest(count(*), 1)) AS integer) AS size
        FROM due
    ), picked AS (
        SELECT x.id FROM due d CROSS JOIN LATERAL (
            SELECT i.id FROM invoices i
            WHERE i.tenant_id = d.id AND i.status = 'open'
              AND i.next_action_at IS NOT NULL AND i.next_action_at <= :now
            ORDER BY i.next_action_at
            LIMIT (SELECT size FROM share)
            FOR UPDATE OF i SKIP LOCKED
        ) x
    )
    SELECT invoices.* FROM invoices JOIN picked USING (id) ORDER BY invoices.next_action_at
    """
)


async def _claim(
    session: AsyncSession, now: dt.datetime, limit: int, tenant_id: str | None
) -> list[Invoice]:
    """Up to `limit` due invoices, locked, shared fairly between the tenants that have some:
    of one sandbox tenant (`tenant_id`), or of the live tenants (None)."""
    stmt = select(Invoice).from_statement(_FAIR_CLAIM)
    params = {"now": now, "limit": limit, "tenant_id": tenant_id}
    return list((await session.execute(stmt, params)).scalars())


async def sweep_batch(
    session: AsyncSession,
    clock: Clock,
    limit: int = BATCH_SIZE,
    *,
    claim_of: ClaimOf | None = None,
    tenant_id: str | None = None,
) -> tuple[int, list[tuple[str, EventType]]]:
    """One batch in the caller's transaction: returns (invoices claimed, [(event id, type)]).
    `tenant_id`: one sandbox tenant's invoices; None: the live tenants'."""
    now = clock.now()
    today = clock.today()
    invoices = await _claim(session, now, limit, tenant_id)
    if not invoices:
        return 0, []
    inputs = await load_engine_inputs(session, invoices, clock)
    debtors = DebtorSweep()
    if any(inputs[i.id].policy.grouping == "debtor" for i in invoices):
        # Grouped policies: handled per debtor (app.escalation.grouping); the rest as always.
        grouped = [i for i in invoices if inputs[i.id].policy.grouping == "debtor"]
        debtors = await sweep_debtors(session, clock, grouped, claim_of=claim_of)
        invoices = [i for i in invoices if inputs[i.id].policy.grouping != "debtor"]
    evaluations = {
        invoice.id: inputs[invoice.id].evaluate(today) async for invoice in in_turns(invoices)
    }
    answers: list[tuple[Invoice, dict[str, Any]]] = []
    for invoice in invoices:
        evaluation = evaluations[invoice.id]
        values = answer(evaluation, clock)
        # The due occurrences are emitted now: the invoice waits for its next planned day.
        next_at = (
            clock.start_of_day(evaluation.next_action_on) if evaluation.next_action_on else None
        )
        if next_at is not None and next_at <= now:
            next_at = clock.start_of_day(today + dt.timedelta(days=1))  # never spin on a row
        values["next_action_at"] = next_at
        answers.append((invoice, values))
    # One statement for the batch; the objects then show what is stored, and so do the events.
    await store_answers(session, answers)
    events: list[NewEvent] = []
    due = [
        (invoice, occurrence, inputs[invoice.id].policy)
        for invoice in invoices
        for occurrence in evaluations[invoice.id].due
    ]
    async for invoice, occurrence, policy in in_turns(due + debtors.per_invoice):
        data = event_data(invoice, occurrence, policy, today)
        if occurrence.event_type == "invoice.formal_notice_required" and claim_of:
            # The mise en demeure states the amounts: give the consumer of the event the claim.
            data["claim"] = await claim_of(session, invoice, today)
        events.append(
            NewEvent(
                tenant_id=invoice.tenant_id,
                invoice_id=invoice.id,
                occurrence=occurrence.key,
                type=occurrence.event_type,
                data=data,
                occurred_on=today,
            )
        )
    created = debtors.created + await emit_many(session, events, now=now)
    return len(invoices) + debtors.handled, created


async def sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    claim_of: ClaimOf | None = None,
    tenant_id: str | None = None,
    budget_seconds: float | None = None,
) -> SweepStats:
    """Sweep everything due at `clock.now()`, one committed batch at a time: of the live
    tenants, or of the sandbox tenant `tenant_id`. `budget_seconds`: no new batch after that
    long, one at least (what is left stays due for the next sweep)."""
    stats = SweepStats()
    started = time.perf_counter()
    while max_batches is None or stats.batches < max_batches:
        async with unit_of_work(sessionmaker) as session:
            claimed, created = await sweep_batch(
                session, clock, batch_size, claim_of=claim_of, tenant_id=tenant_id
            )
        if not claimed:
            break
        stats.batches += 1
        stats.invoices += claimed
        stats.events += len(created)
        for event_id, type_ in created:
            stats.by_type[type_] = stats.by_type.get(type_, 0) + 1
            stats.event_ids.append(event_id)
        SWEEP_DUE_ROWS.inc(claimed)
        if budget_seconds is not None and time.perf_counter() - started >= budget_seconds:
            break  # at least one batch per sweep: the work always moves
    SWEEP_DURATION.observe(time.perf_counter() - started)
    if stats.invoices:
        log.info("sweep: %d invoices, %d events", stats.invoices, stats.events)
    return stats


# A sweep as of a later instant sends, now, the reminders due by then: refused unless forced.
# A minute of leeway for the clocks of the caller and the server.
FUTURE_LEEWAY = dt.timedelta(minutes=1)


def is_future(as_of: dt.datetime, now: dt.datetime) -> bool:
    return as_of > now + FUTURE_LEEWAY


@dataclass(frozen=True)
class PlannedEvent:
    """An event a sweep would emit (dry run)."""

    tenant_id: str
    invoice_id: str | None  # None: a grouped event (debtor_id)
    type: EventType
    occurrence: str
    due_on: dt.date
    debtor_id: str | None = None


@dataclass
class SweepPreview:
    invoices: int = 0
    events: list[PlannedEvent] = field(default_factory=list)

    @property
    def by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event.type] = counts.get(event.type, 0) + 1
        return counts


async def preview_sweep(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, *, batch_size: int = BATCH_SIZE
) -> SweepPreview:
    """What `sweep` would emit at `clock.now()`, writing nothing: the engine over the due
    invoices, in a READ ONLY transaction that is rolled back (no lock taken, no event, no
    delivery). Each invoice is evaluated once, as the sweep does (it then waits for a later day)."""
    preview = SweepPreview()
    now, today = clock.now(), clock.today()
    async with sessionmaker() as session:
        await session.execute(text("SET TRANSACTION READ ONLY"))
        after: tuple[dt.datetime, str] | None = None
        seen: set[str] = set()  # debtors of grouped policies previewed already
        while invoices := await _due_page(session, now, after, batch_size):
            inputs = await load_engine_inputs(session, invoices, clock)
            grouped = [i for i in invoices if inputs[i.id].policy.grouping == "debtor"]
            for invoice in invoices:
                if inputs[invoice.id].policy.grouping == "debtor":
                    continue
                preview.events.extend(
                    PlannedEvent(invoice.tenant_id, invoice.id, o.event_type, o.key, o.on)
                    for o in inputs[invoice.id].evaluate(today).due
                )
            if grouped:
                await _preview_grouped(session, clock, grouped, seen, preview)
            preview.invoices += len(invoices)
            last = invoices[-1]
            after = (last.next_action_at or now, last.id)
        await session.rollback()
    return preview


async def _preview_grouped(
    session: AsyncSession,
    clock: Clock,
    invoices: list[Invoice],
    seen: set[str],
    preview: SweepPreview,
) -> None:
    """The grouped policies' part of a dry run: each debtor once, whatever the page."""
    per_invoice, grouped = await preview_debtors(session, clock, invoices, seen)
    preview.events.extend(
        PlannedEvent(i.tenant_id, i.id, o.event_type, o.key, o.on) for i, o, _ in per_invoice
    )
    preview.events.extend(
        PlannedEvent(g.tenant_id, None, g.type, g.occurrence, g.due_on, debtor_id=g.debtor_id)
        for g in grouped
    )


async def _due_page(
    session: AsyncSession, now: dt.datetime, after: tuple[dt.datetime, str] | None, limit: int
) -> list[Invoice]:
    """The invoices `_claim` would take (the live tenants'), page by page in (next_action_at,
    id) order, unlocked."""
    stmt = due_invoices(now, None)
    if after is not None:
        stmt = stmt.where(tuple_(Invoice.next_action_at, Invoice.id) > after)
    stmt = stmt.order_by(Invoice.next_action_at, Invoice.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


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


async def sweep_app(app: FastAPI, clock: Clock, budget_seconds: float | None = None) -> SweepStats:
    """The sweep of a running app (scheduler tick, admin sweep, CLI), with what its composition
    root gave it (`app.state.claim_of`)."""
    return await sweep(
        app.state.sessionmaker, clock, claim_of=app.state.claim_of, budget_seconds=budget_seconds
    )


# The scheduler's tick runs its jobs one after the other: a month-end sweep of 100,000 invoices
# (two minutes) would hold back every webhook, the small tenants' too, until it ends. Bounded,
# the sweep and the deliveries take turns, tick after tick (bench/README.md, month-end).
SWEEP_TICK_BUDGET_SECONDS = 5.0


async def sweep_tick(app: FastAPI) -> None:
    """The scheduler's job (registered by app.main)."""
    await sweep_app(app, app.state.clock, SWEEP_TICK_BUDGET_SECONDS)
