"""Property tests of the debtor-level decision (app.escalation.grouping.engine): a debtor's
invoices swept day by day as the grouped sweep does, storing each day's contact and marks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.escalation.engine import InvoiceState, evaluate
from app.escalation.grouping.engine import GROUPED_KINDS, Decision, Member, PastContact, decide
from app.escalation.policy import CAPPED_CHANNEL, DEFAULT_POLICY, Policy, PolicyStep
from app.legal import figures as legal
from app.legal.calendar import FRENCH_CALENDAR

DAY = dt.timedelta(days=1)
START = dt.date(2026, 3, 2)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def policies(draw) -> Policy:
    """The default, or up to 5 reminders (beyond the caps on purpose) and a formal notice."""
    if draw(st.booleans()):
        return dataclasses.replace(DEFAULT_POLICY, grouping="debtor")
    steps, offset = [], 0
    for i in range(draw(st.integers(1, 5))):
        offset += draw(st.integers(1, 12))
        channel = draw(st.sampled_from(["email", "phone", "letter", "sms"]))
        steps.append(PolicyStep(f"r{i}", "reminder", channel, offset))
    if draw(st.booleans()):
        steps.append(PolicyStep("fn", "formal_notice", "registered_letter", offset + 10))
    return Policy(steps=tuple(steps), grouping="debtor")


@st.composite
def debtors(draw) -> tuple[Policy, list[tuple[str, InvoiceState]], dict[str, int]]:
    """A grouped policy and 1 to 6 invoices due at various days; some disputed throughout."""
    policy = draw(policies())
    invoices = []
    for n in range(draw(st.integers(1, 6))):
        due = START + dt.timedelta(days=draw(st.integers(-20, 40)))
        state = InvoiceState(
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            amount=Decimal("100.00") * (n + 1),
            balance=Decimal("100.00") * (n + 1),
            status="open",
            debtor_kind="business",
            created_on=START - dt.timedelta(days=60),
            disputed=draw(st.booleans()) and draw(st.booleans()),
        )
        invoices.append((f"inv_{n:02d}", state))
    # Some invoices reach the service later, between two sweeps of a day (an import of
    # invoices already overdue): (invoice id, day offset).
    arrivals = {
        invoice_id: draw(st.integers(0, 60)) for invoice_id, _ in invoices if draw(st.booleans())
    }
    return policy, invoices, arrivals


def _members(policy, states, today) -> list[Member]:
    return [
        Member(
            invoice_id,
            state.due_date,
            state.balance,
            evaluate(state, policy, (), FRENCH_CALENDAR, today),
            frozenset(state.emitted),
        )
        for invoice_id, state in states.items()
    ]


def _sweep(policy, invoices, arrivals, days=90):
    """Each day two sweeps (the scheduler ticks several times a day), invoices arriving between
    them: the decision, its contact, and every mark stored, as the sweep does."""
    waiting = dict(invoices)
    states = {i: waiting.pop(i) for i in list(waiting) if i not in arrivals}
    history: list[PastContact] = []
    decisions: list[tuple[dt.date, Decision]] = []
    for offset in range(days):
        today = START + offset * DAY
        _sweep_once(policy, states, history, decisions, today)
        for invoice_id in [i for i in waiting if arrivals[i] <= offset]:
            states[invoice_id] = dataclasses.replace(waiting.pop(invoice_id), created_on=today)
        _sweep_once(policy, states, history, decisions, today)
    return decisions, history, states


def _sweep_once(policy, states, history, decisions, today) -> None:
    members = _members(policy, states, today)
    decision = decide(policy, members, history, today)
    decisions.append((today, decision))
    marks = set(decision.skipped) | (set(decision.covered) if decision.step else set())
    if decision.step is not None:
        history.append(PastContact(today, decision.step.channel))
    for member in members:
        facts = {
            o.key
            for o in member.evaluation.due
            if o.step is None or o.step.kind not in GROUPED_KINDS
        }
        keys = facts | {k for i, k in marks if i == member.invoice_id}
        state = states[member.invoice_id]
        states[member.invoice_id] = dataclasses.replace(
            state, emitted={**state.emitted, **dict.fromkeys(keys, today)}
        )


@SETTINGS
@given(debtors())
def test_never_two_grouped_contacts_on_one_day(case):
    policy, invoices, arrivals = case
    _, history, _ = _sweep(policy, invoices, arrivals)
    days = Counter(c.on for c in history)
    assert all(n == 1 for n in days.values()), days


@SETTINGS
@given(debtors())
def test_never_beyond_the_caps(case):
    policy, invoices, arrivals = case
    _, history, _ = _sweep(policy, invoices, arrivals)
    counts = Counter(CAPPED_CHANNEL.get(c.channel) for c in history)
    for channel, cap in legal.AMICABLE_CAPS.items():
        assert counts[channel] <= cap, (channel, counts)


@SETTINGS
@given(debtors())
def test_nothing_for_a_paused_invoice(case):
    policy, invoices, arrivals = case
    paused = {i for i, s in invoices if s.disputed}
    decisions, _, _ = _sweep(policy, invoices, arrivals)
    for _, decision in decisions:
        assert not paused & {item.invoice_id for item in decision.listed}
        assert not paused & {i for i, _ in decision.covered + decision.skipped}
        assert {e.invoice_id for e in decision.excluded} <= paused
        assert all(e.reason == "dispute" for e in decision.excluded)


@SETTINGS
@given(debtors(), st.randoms(use_true_random=False), st.integers(0, 89))
def test_the_same_answer_whatever_the_order(case, random, day):
    policy, invoices, arrivals = case
    # The debtor as the sweep left it the day before.
    _, history, states = _sweep(policy, invoices, arrivals, days=day)
    today = START + day * DAY
    members = _members(policy, states, today)
    past = [c for c in history if c.on < today]
    expected = decide(policy, members, past, today)
    random.shuffle(members)
    random.shuffle(past)
    assert decide(policy, members, past, today) == expected


@SETTINGS
@given(debtors())
def test_a_contact_lists_every_eligible_overdue_invoice_and_is_the_highest_level_due(case):
    policy, invoices, arrivals = case
    decisions, _, _ = _sweep(policy, invoices, arrivals)
    levels = {s.code: i for i, s in enumerate(policy.steps)}
    states = dict(invoices)
    for today, decision in decisions:
        if decision.step is None:
            continue
        listed = {item.invoice_id for item in decision.listed}
        assert all(today > states[i].due_date and not states[i].disputed for i in listed)
        assert decision.total_due == sum(states[i].balance for i in listed)
        # Covered up to the contact's level, never above it.
        assert all(
            levels[k.removeprefix("step:")] <= levels[decision.step.code]
            for _, k in decision.covered
            if k.startswith("step:")
        )
