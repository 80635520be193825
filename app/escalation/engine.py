"""The escalation engine: what is due for one invoice on one day, and what comes next.

`evaluate` is a pure function of its arguments (no I/O, no clock): the scheduler calls it with the
invoice's state, the occurrences already stored and the local day, stores the `due` occurrences
as events (their keys are unique per invoice, so each happens once) and comes back on
`next_action_on`. Evaluating again the same day after storing `due` yields nothing new, and the
result does not depend on how often it runs.

Occurrence keys (stable strings, unique per invoice):
    pre_reminder                      invoice.pre_reminder_due
    overdue                           invoice.overdue
    step:<code>                       dunning.step_due (reminder steps)
    formal_notice_required            invoice.formal_notice_required
    formal_notice_deadline:<action>   formal_notice.deadline_expired
    installment_missed:<n>            payment_plan.installment_missed (n is 1-based)
    prescription:<YYYY-MM-DD>         invoice.prescription_approaching (the limitation end)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

from app.escalation.policy import (
    AMICABLE_KINDS,
    CAPPED_CHANNEL,
    Channel,
    Policy,
    PolicyStep,
    StepKind,
)
from app.ledger.invoices.schemas import DunningStage as Stage
from app.ledger.invoices.schemas import InvoiceStatus, PauseReason
from app.legal import deadlines
from app.legal import figures as legal
from app.legal.calendar import BusinessCalendar
from app.legal.einvoicing import Outcome
from app.legal.interest import DebtorKind
from app.outbox.events.schemas import EventType

ONE_DAY: Final = dt.timedelta(days=1)

PRE_REMINDER_KEY: Final = "pre_reminder"
OVERDUE_KEY: Final = "overdue"
FORMAL_NOTICE_REQUIRED_KEY: Final = "formal_notice_required"
STEP_KEY_PREFIX: Final = "step:"
DEADLINE_KEY_PREFIX: Final = "formal_notice_deadline:"
INSTALLMENT_KEY_PREFIX: Final = "installment_missed:"
PRESCRIPTION_KEY_PREFIX: Final = "prescription:"
# The next step shown while the latest mise en demeure came back undelivered (NPAI).
RESEND_FORMAL_NOTICE: Final = "formal_notice_resend"

# What the creditor (or its agent) records having done about an invoice.
ActionType = Literal[
    "pre_reminder",
    "reminder",
    "formal_notice",
    "phone_call",
    "promise_to_pay",
    "handover",
    "mediation",
    "injonction_de_payer",
    "petites_creances",
    "assignation",
    "note",
    "acknowledgment",
    # Procédure simplifiée de recouvrement des créances commerciales incontestées (CPCE L126-1
    # and following, loi du 23 avril 2026): the commissaire de justice serves a commandement de
    # payer, draws a procès-verbal de non-contestation once the debtor's month has passed, and
    # the clerk of the tribunal de commerce makes it enforceable (the titre exécutoire).
    "commandement_de_payer",
    "pv_non_contestation",
    "titre_executoire",
]

# Judicial acts interrupt prescription (C. civ. 2240-2244); the debtor's written
# acknowledgment does too. A mise en demeure does NOT (DOMAIN.md).
INTERRUPTING_ACTIONS: Final[frozenset[ActionType]] = frozenset(
    {"acknowledgment", "injonction_de_payer", "petites_creances", "assignation"}
)
# Once a court procedure is started the amicable escalation has nothing left to say.
JUDICIAL_ACTIONS: Final[frozenset[ActionType]] = frozenset(
    {"injonction_de_payer", "petites_creances", "assignation"}
)
# The steps of the uncontested commercial claims procedure, in their order. Not counted as
# interrupting prescription: whether a commandement served without a prior title is an "acte
# d'exécution forcée" (C. civ. 2244) is not settled by the sources found (unverified).
UNCONTESTED_CLAIM_ACTIONS: Final[tuple[ActionType, ...]] = (
    "commandement_de_payer",
    "pv_non_contestation",
    "titre_executoire",
)
# Recorded actions after which the file is in the hands of a court or a commissaire de justice:
# the amicable escalation stops and the invoice is in stage `litigation`.
RECOVERY_PROCEDURE_ACTIONS: Final[frozenset[ActionType]] = JUDICIAL_ACTIONS | frozenset(
    UNCONTESTED_CLAIM_ACTIONS
)
# Recorded action types that are amicable contacts, and the step kind they answer.
CONTACT_ACTION_KIND: Final[dict[ActionType, StepKind]] = {
    "pre_reminder": "pre_reminder",
    "reminder": "reminder",
    "phone_call": "reminder",
}
# The event a policy step falls due as.
STEP_EVENT_TYPE: Final[dict[StepKind, EventType]] = {
    "pre_reminder": "invoice.pre_reminder_due",
    "reminder": "dunning.step_due",
    "formal_notice": "invoice.formal_notice_required",
}


@dataclass(frozen=True)
class RecordedAction:
    """An action recorded through the API (never deleted)."""

    id: str
    type: ActionType
    channel: Channel | None
    performed_on: dt.date
    acknowledged_on: dt.date | None = None  # AR signed (registered letter)
    presented_on: dt.date | None = None  # letter first presented (unclaimed)
    promised_date: dt.date | None = None  # promise_to_pay
    served_on: dt.date | None = None  # act served by a commissaire de justice
    # What the registered-mail provider reported (formal_notice), in any order.
    proof: tuple[deadlines.ProofFact, ...] = ()


@dataclass(frozen=True)
class Installment:
    due_date: dt.date
    amount: Decimal


@dataclass(frozen=True)
class InvoiceState:
    issue_date: dt.date
    due_date: dt.date
    amount: Decimal
    balance: Decimal
    status: InvoiceStatus
    debtor_kind: DebtorKind
    created_on: dt.date  # first local day the service tracked this invoice
    disputed: bool = False
    insolvent: bool = False
    installments: tuple[Installment, ...] = ()  # active payment plan, in order; empty if none
    paid_since_plan: Decimal = Decimal(0)  # amount paid since the plan was created
    # From the e-invoice lifecycle statuses (app.legal.einvoicing), inputs like actions:
    # refused (210), undelivered (213, 221) or factored (225): never chased by the creditor.
    lifecycle_outcome: Outcome | None = None
    suspended: bool = False  # 208 until 209
    payment_announced_until: dt.date | None = None  # 211: paused through this day
    approved: bool = False  # 204, 205, 206 (evidence only: the engine does not read it)
    received_on: dt.date | None = None  # 202, 203 (evidence only)
    # occurrence key -> local day it was emitted (already stored)
    emitted: Mapping[str, dt.date] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Occurrence:
    key: str
    event_type: EventType
    # The day it falls due. Facts (overdue, missed installment, prescription) keep their own day
    # even when noticed later; escalation steps fall due on the day they are to be emitted: their
    # rule day, or for a late one (after a pause or a late start) the first business day it can.
    on: dt.date
    step: PolicyStep | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Evaluation:
    due: tuple[Occurrence, ...]  # due on or before today, not yet emitted; chronological
    planned: tuple[Occurrence, ...]  # after today, as if `due` were emitted today; chronological
    stage: Stage
    last_step: str | None
    next_step: str | None
    next_action_on: dt.date | None
    paused: bool
    paused_reason: PauseReason | None
    formal_notice_deadline: dt.date | None
    limitation_ends_on: dt.date


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
def step_key(step: PolicyStep) -> str:
    """The occurrence key of a policy step."""
    if step.kind == "pre_reminder":
        return PRE_REMINDER_KEY
    if step.kind == "formal_notice":
        return FORMAL_NOTICE_REQUIRED_KEY
    return STEP_KEY_PREFIX + step.code


def _step_event_type(step: PolicyStep) -> EventType:
    return STEP_EVENT_TYPE[step.kind]


def _latest(actions: Iterable[RecordedAction]) -> RecordedAction | None:
    # (day, id): ids are time-ordered, and the tie-break keeps the answer independent of the
    # order the caller lists the actions in.
    return max(actions, key=lambda a: (a.performed_on, a.id), default=None)


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February -> 28 February
        return d.replace(year=d.year + years, day=28)


def limitation_end(state: InvoiceState, actions: Sequence[RecordedAction]) -> dt.date:
    """End of the limitation period: from the due date, restarted by each interrupting act."""
    start = max(
        [state.due_date, *(a.performed_on for a in actions if a.type in INTERRUPTING_ACTIONS)]
    )
    years = (
        legal.PRESCRIPTION_YEARS_B2B
        if state.debtor_kind == "business"
        else legal.PRESCRIPTION_YEARS_CONSUMER
    )
    return _add_years(start, years)


def formal_notice_deadline(
    notice: RecordedAction, policy: Policy, calendar: BusinessCalendar
) -> dt.date | None:
    """The payment deadline of a recorded mise en demeure: it runs from its service by a
    commissaire de justice, or from the AR (or the first presentation) of a registered letter;
    unknown until one of them is recorded. A deadline ending on a weekend or public holiday
    extends to the next business day. The letters state the same day: both use
    app.legal.deadlines."""
    return deadlines.formal_notice_deadline(
        served_on=notice.served_on,
        acknowledged_on=notice.acknowledged_on,
        presented_on=notice.presented_on,
        days=policy.formal_notice_deadline_days,
        calendar=calendar,
        proof=notice.proof,
    )


def must_resend(notice: RecordedAction | None) -> bool:
    """The latest mise en demeure came back undelivered (NPAI): it must be sent again, and no
    deadline runs until a new one is recorded."""
    return notice is not None and (
        deadlines.notice_effect(
            served_on=notice.served_on,
            acknowledged_on=notice.acknowledged_on,
            presented_on=notice.presented_on,
            proof=notice.proof,
        ).resend
    )


def plan_on_track(state: InvoiceState, day: dt.date) -> bool:
    """Paid at least every installment that fell due before `day`."""
    owed = sum((i.amount for i in state.installments if i.due_date < day), Decimal(0))
    return state.paid_since_plan >= owed


def _is_closed(state: InvoiceState) -> bool:
    return state.status != "open" or state.balance <= 0


# ------------------------------------------------------------------------------------------------
# Amicable contact caps
# ------------------------------------------------------------------------------------------------
def _contacts(
    policy: Policy, emitted: Mapping[str, dt.date], actions: Sequence[RecordedAction]
) -> dict[str, int]:
    """Amicable contacts per capped channel, counting each real contact once.

    An emitted step and the action the creditor records after sending it are the same contact:
    a recorded action on the same channel, of the matching kind, performed on or after the
    emission of a not yet matched step is paired with it. Unpaired steps (not yet recorded) and
    unpaired actions (manual contacts) count separately.
    """
    # (capped channel, kind) -> emission days of steps / performance days of actions
    steps: dict[tuple[str, str], list[dt.date]] = {}
    recorded: dict[tuple[str, str], list[dt.date]] = {}
    for step in policy.steps:
        capped = CAPPED_CHANNEL.get(step.channel)
        on = emitted.get(step_key(step))
        if step.kind in AMICABLE_KINDS and capped is not None and on is not None:
            steps.setdefault((capped, step.kind), []).append(on)
    for action in actions:
        kind = CONTACT_ACTION_KIND.get(action.type)
        if kind is None:
            continue
        # A phone call recorded without a channel is still a call.
        channel = action.channel or ("phone" if action.type == "phone_call" else None)
        capped = CAPPED_CHANNEL.get(channel) if channel is not None else None
        if capped is not None:
            recorded.setdefault((capped, kind), []).append(action.performed_on)

    counts = dict.fromkeys(legal.AMICABLE_CAPS, 0)
    for group in set(steps) | set(recorded):
        step_days = sorted(steps.get(group, []))
        action_days = sorted(recorded.get(group, []))
        # Greedy matching in date order is maximal: each action takes any earlier step.
        matched = available = i = 0
        for day in action_days:
            while i < len(step_days) and step_days[i] <= day:
                available += 1
                i += 1
            if available:
                available -= 1
                matched += 1
        counts[group[0]] += len(step_days) + len(action_days) - matched
    return counts


def count_contacts(
    policy: Policy, state: InvoiceState, actions: Sequence[RecordedAction]
) -> dict[str, int]:
    """Amicable contacts so far per capped channel (keys of legal.AMICABLE_CAPS).

    To decide whether recording a new contact would exceed a cap, call it with the candidate
    action appended and compare with the cap: an action answering an emitted step does not add a
    contact, a manual one does.
    """
    return _contacts(policy, state.emitted, actions)


def _within_cap(step: PolicyStep, counts: Mapping[str, int]) -> bool:
    capped = CAPPED_CHANNEL.get(step.channel)
    if step.kind not in AMICABLE_KINDS or capped is None:
        return True
    return counts[capped] + 1 <= legal.AMICABLE_CAPS[capped]


def _amount_ok(step: PolicyStep, state: InvoiceState) -> bool:
    return step.min_amount is None or state.amount >= step.min_amount


# ------------------------------------------------------------------------------------------------
# The engine
# ------------------------------------------------------------------------------------------------
def _pause(
    state: InvoiceState, policy: Policy, actions: Sequence[RecordedAction], today: dt.date
) -> tuple[PauseReason | None, dt.date | None]:
    """Why escalation is paused today (by priority), and the day it resumes if that is known."""
    if state.insolvent:  # the claim is declared to the mandataire instead
        return "insolvency", None
    if state.disputed:
        return "dispute", None
    if state.suspended:  # until the seller completes the invoice (209)
        return "suspended", None
    announced = state.payment_announced_until
    if announced is not None and today <= announced:
        return "payment_announced", announced + ONE_DAY
    promise = _latest(
        a for a in actions if a.type == "promise_to_pay" and a.promised_date is not None
    )
    if promise is not None and promise.promised_date is not None:
        ends = promise.promised_date + dt.timedelta(days=policy.promise_grace_days)
        if today <= ends:
            return "promise_to_pay", ends + ONE_DAY
    if state.installments and plan_on_track(state, today):
        # Resumes the day after an installment is missed: that day is planned already.
        return "payment_plan", None
    return None, None


class _Schedule:
    """Collects due and planned occurrences, keeping `emitted` as if `due` were stored today."""

    def __init__(self, state: InvoiceState, today: dt.date) -> None:
        self.today = today
        self.emitted: dict[str, dt.date] = dict(state.emitted)
        self.due: list[Occurrence] = []
        self.planned: list[Occurrence] = []

    def add(self, occurrence: Occurrence) -> None:
        """Due if its day is today or earlier (it is then stored today), else planned."""
        if occurrence.key in self.emitted:
            return
        if occurrence.on <= self.today:
            self.due.append(occurrence)
            self.emitted[occurrence.key] = self.today
        else:
            self.planned.append(occurrence)
            self.emitted[occurrence.key] = occurrence.on


def _escalation_day(rule_day: dt.date, today: dt.date, calendar: BusinessCalendar) -> dt.date:
    """The day a step is emitted: its rule day, or for a late one (catching up after a pause or
    a late start) today - once, and only on a business day, so a weekend never gets it."""
    if rule_day > today:
        return rule_day
    return today if calendar.is_business_day(today) else calendar.roll_forward(today)


def evaluate(
    state: InvoiceState,
    policy: Policy,
    actions: Sequence[RecordedAction],
    calendar: BusinessCalendar,
    today: dt.date,
) -> Evaluation:
    """What is due for this invoice on `today`, what is planned after, and its dunning status.

    The status fields (stage, last_step, next_step, next_action_on) describe the invoice once
    `due` is stored, consistent with `planned`.
    """
    limitation = limitation_end(state, actions)
    notice = _latest(a for a in actions if a.type == "formal_notice")
    deadline = formal_notice_deadline(notice, policy, calendar) if notice is not None else None
    resend = must_resend(notice)

    if _is_closed(state) or state.lifecycle_outcome is not None:
        # Nothing to chase: no step, no fact (an undelivered invoice bears no penalties).
        return Evaluation(
            due=(),
            planned=(),
            stage="closed" if _is_closed(state) else state.lifecycle_outcome or "closed",
            last_step=_last_step(policy, state.emitted),
            next_step=None,
            next_action_on=None,
            paused=False,
            paused_reason=None,
            formal_notice_deadline=deadline,
            limitation_ends_on=limitation,
        )

    paused_reason, resumes_on = _pause(state, policy, actions, today)
    judicial = any(a.type in RECOVERY_PROCEDURE_ACTIONS for a in actions)
    escalating = paused_reason is None and not judicial
    schedule = _Schedule(state, today)

    _facts(state, limitation, schedule)
    if escalating:
        _escalation(state, policy, actions, calendar, notice, deadline, schedule)

    emitted = schedule.emitted  # as if `due` were stored today (includes planned: filter by day)
    done = {k: d for k, d in emitted.items() if d <= today}
    due = tuple(sorted(schedule.due, key=_order))
    planned = tuple(sorted(schedule.planned, key=_order))

    wake_ups = [o.on for o in planned]
    if resumes_on is not None:
        wake_ups.append(resumes_on)  # re-evaluate when the promise or announced payment lapses
    return Evaluation(
        due=due,
        planned=planned,
        stage=_stage(state, notice, done, judicial=judicial, today=today, resend=resend),
        last_step=_last_step(policy, done),
        next_step=_next_step(planned, notice, done, escalating=escalating, resend=resend),
        next_action_on=min(wake_ups, default=None),
        paused=paused_reason is not None,
        paused_reason=paused_reason,
        formal_notice_deadline=deadline,
        limitation_ends_on=limitation,
    )


def _facts(state: InvoiceState, limitation: dt.date, schedule: _Schedule) -> None:
    """Facts and legal warnings: never paused."""
    # Penalties run from the day after the due date, whatever day of the week it is.
    schedule.add(Occurrence(OVERDUE_KEY, "invoice.overdue", state.due_date + ONE_DAY))
    cumulative = Decimal(0)
    for n, installment in enumerate(state.installments, start=1):
        cumulative += installment.amount
        if state.paid_since_plan < cumulative:
            schedule.add(
                Occurrence(
                    f"{INSTALLMENT_KEY_PREFIX}{n}",
                    "payment_plan.installment_missed",
                    installment.due_date + ONE_DAY,
                    detail={"installment": n},
                )
            )
    if schedule.today <= limitation:  # once prescribed, "approaching" would be false: say nothing
        schedule.add(
            Occurrence(
                f"{PRESCRIPTION_KEY_PREFIX}{limitation.isoformat()}",
                "invoice.prescription_approaching",
                limitation - dt.timedelta(days=legal.PRESCRIPTION_WARNING_DAYS),
                detail={"limitation_ends_on": limitation},
            )
        )


def _escalation(
    state: InvoiceState,
    policy: Policy,
    actions: Sequence[RecordedAction],
    calendar: BusinessCalendar,
    notice: RecordedAction | None,
    deadline: dt.date | None,
    schedule: _Schedule,
) -> None:
    """The escalation steps, or once a mise en demeure is recorded its deadline (not paused)."""
    if notice is None:
        chain = [s for s in policy.steps if s.kind != "pre_reminder"]
        _pre_reminder(state, policy, actions, calendar, schedule)
        _chain(state, policy, chain, actions, calendar, schedule)
    elif deadline is not None:
        # A recorded mise en demeure ends the amicable steps; only its deadline remains.
        schedule.add(
            Occurrence(
                f"{DEADLINE_KEY_PREFIX}{notice.id}",
                "formal_notice.deadline_expired",
                deadline + ONE_DAY,
                detail={"deadline": deadline},
            )
        )


def _stage(
    state: InvoiceState,
    notice: RecordedAction | None,
    done: Mapping[str, dt.date],
    *,
    judicial: bool,
    today: dt.date,
    resend: bool = False,
) -> Stage:
    """The stage once `due` is stored (`done`: what is emitted by today). A mise en demeure
    returned undelivered is as good as none: one is required again."""
    if judicial or any(k.startswith(DEADLINE_KEY_PREFIX) for k in done):
        return "litigation"
    if resend:
        return "formal_notice_required"
    if notice is not None:
        return "formal_notice_sent"
    if FORMAL_NOTICE_REQUIRED_KEY in done:
        return "formal_notice_required"
    if any(k.startswith(STEP_KEY_PREFIX) for k in done):
        return "reminders"
    if today > state.due_date:
        return "overdue"
    return "not_due"


def _next_step(
    planned: Sequence[Occurrence],
    notice: RecordedAction | None,
    done: Mapping[str, dt.date],
    *,
    escalating: bool,
    resend: bool = False,
) -> str | None:
    if escalating and resend:
        return RESEND_FORMAL_NOTICE
    for occurrence in planned:
        if occurrence.step is not None:
            return occurrence.step.code
        if occurrence.key.startswith(DEADLINE_KEY_PREFIX):
            return "formal_notice_deadline"
    if escalating and notice is not None and f"{DEADLINE_KEY_PREFIX}{notice.id}" not in done:
        return "formal_notice_deadline"  # waiting for the AR to start the countdown
    return None


def _pre_reminder(
    state: InvoiceState,
    policy: Policy,
    actions: Sequence[RecordedAction],
    calendar: BusinessCalendar,
    schedule: _Schedule,
) -> None:
    step = next((s for s in policy.steps if s.kind == "pre_reminder"), None)
    if step is None or PRE_REMINDER_KEY in schedule.emitted or not _amount_ok(step, state):
        return
    rule_day = calendar.add_days(state.due_date, step.offset_days)
    # Not for invoices tracked after that day, nor if rolling pushed it past the due date.
    if rule_day < state.created_on or rule_day > state.due_date:
        return
    emit_on = _escalation_day(rule_day, schedule.today, calendar)
    # "Did you receive our invoice?" makes no sense once it is overdue (late start, pause).
    if emit_on > state.due_date:
        return
    if not _within_cap(step, _contacts(policy, schedule.emitted, actions)):
        return
    schedule.add(Occurrence(PRE_REMINDER_KEY, _step_event_type(step), emit_on, step=step))


def _chain(
    state: InvoiceState,
    policy: Policy,
    chain: Sequence[PolicyStep],
    actions: Sequence[RecordedAction],
    calendar: BusinessCalendar,
    schedule: _Schedule,
) -> None:
    """Reminder steps then the formal notice, in policy order, one at a time.

    The next step falls on the due date + its offset, shifted by as many days as the previous step
    went out late: a late start or a pause never fires a burst, it resumes with the policy's
    spacing.
    """
    last = -1
    for i, step in enumerate(chain):
        if step_key(step) in schedule.emitted:
            last = i  # steps before the last emitted one were skipped: never go back
    previous = (chain[last], schedule.emitted[step_key(chain[last])]) if last >= 0 else None

    for step in chain[last + 1 :]:
        if not _amount_ok(step, state) or not _within_cap(
            step, _contacts(policy, schedule.emitted, actions)
        ):
            continue
        rule_day = calendar.add_days(state.due_date, step.offset_days)
        if previous is not None:
            # Shift by how late the previous step went out (a pause, a late start), not by the
            # weekend roll of its own date: reminder_2 rolled from Saturday to Monday must not
            # push the mise en demeure a day further.
            prev_step, prev_on = previous
            lateness = (prev_on - calendar.add_days(state.due_date, prev_step.offset_days)).days
            if lateness > 0:
                shifted = calendar.add_days(state.due_date, step.offset_days + lateness)
                rule_day = max(rule_day, shifted)
            # Never two steps on one day (close offsets rolled onto the same Monday).
            rule_day = max(rule_day, calendar.add_days(prev_on, 1))
        emit_on = _escalation_day(rule_day, schedule.today, calendar)
        schedule.add(Occurrence(step_key(step), _step_event_type(step), emit_on, step=step))
        previous = (step, emit_on)
        if step.kind == "formal_notice":
            break  # then nothing escalates until the mise en demeure is recorded


def _last_step(policy: Policy, emitted: Mapping[str, dt.date]) -> str | None:
    last: str | None = None
    for step in policy.steps:
        if step_key(step) in emitted:
            last = step.code
    return last


_RANK: Final = {
    PRE_REMINDER_KEY: 0,
    OVERDUE_KEY: 1,
    STEP_KEY_PREFIX: 2,
    FORMAL_NOTICE_REQUIRED_KEY: 3,
    DEADLINE_KEY_PREFIX: 4,
    INSTALLMENT_KEY_PREFIX: 5,
    PRESCRIPTION_KEY_PREFIX: 6,
}


def _order(occurrence: Occurrence) -> tuple[dt.date, int, str]:
    # Chronological; same-day ties in a fixed order so that the output is reproducible.
    prefix = occurrence.key.split(":", 1)[0]
    rank = _RANK.get(prefix + ":" if ":" in occurrence.key else prefix, 9)
    return occurrence.on, rank, occurrence.key
