"""Unit tests of the escalation engine's rules, with concrete 2026 dates."""

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from app.escalation.engine import (
    ActionType,
    Evaluation,
    Installment,
    InvoiceState,
    RecordedAction,
    count_contacts,
    evaluate,
)
from app.escalation.policy import DEFAULT_POLICY, Channel, Policy, PolicyStep
from app.legal import figures as legal
from app.legal.calendar import FRENCH_CALENDAR

D = dt.date
DAY = dt.timedelta(days=1)


def invoice(due: dt.date = D(2026, 3, 10), **kw) -> InvoiceState:
    values: dict[str, Any] = {
        "issue_date": due - 30 * DAY,
        "due_date": due,
        "amount": Decimal("1000.00"),
        "balance": Decimal("1000.00"),
        "status": "open",
        "debtor_kind": "business",
        "created_on": due - 30 * DAY,
    }
    values.update(kw)
    return InvoiceState(**values)


def action(
    type_: ActionType, on: dt.date, channel: Channel | None = None, id_: str | None = None, **kw
):
    return RecordedAction(
        id=id_ or f"act_{type_}_{on.isoformat()}",
        type=type_,
        channel=channel,
        performed_on=on,
        **kw,
    )


def ev(state, today, actions=(), policy=DEFAULT_POLICY) -> Evaluation:
    return evaluate(state, policy, list(actions), FRENCH_CALENDAR, today)


def sweep(
    state: InvoiceState,
    start: dt.date,
    end: dt.date,
    actions: Sequence[RecordedAction] = (),
    policy: Policy = DEFAULT_POLICY,
) -> dict[str, dt.date]:
    """Evaluate every day from start to end included, storing what is due; key -> emission day.

    Actions become visible on the day they were performed."""
    emitted = dict(state.emitted)
    day = start
    while day <= end:
        current = dataclasses.replace(state, emitted=dict(emitted))
        visible = [a for a in actions if a.performed_on <= day]
        for occurrence in ev(current, day, visible, policy).due:
            assert occurrence.key not in emitted
            emitted[occurrence.key] = day
        day += DAY
    return emitted


def with_emitted(state: InvoiceState, emitted: dict[str, dt.date]) -> InvoiceState:
    return dataclasses.replace(state, emitted=emitted)


def escalation(emitted: dict[str, dt.date]) -> dict[str, dt.date]:
    return {k: d for k, d in emitted.items() if not k.startswith(("prescription:", "overdue"))}


# --- The default policy on the calendar ---------------------------------------------------------
def test_default_policy_on_plain_business_days():
    state = invoice(D(2026, 3, 10))  # a Tuesday; no holiday around
    first = ev(state, state.created_on)
    assert first.due == ()
    assert [(o.key, o.event_type, o.on) for o in first.planned] == [
        ("pre_reminder", "invoice.pre_reminder_due", D(2026, 3, 3)),
        ("overdue", "invoice.overdue", D(2026, 3, 11)),
        ("step:reminder_1", "dunning.step_due", D(2026, 3, 13)),
        ("step:reminder_2", "dunning.step_due", D(2026, 3, 25)),
        ("formal_notice_required", "invoice.formal_notice_required", D(2026, 4, 9)),
        ("prescription:2031-03-10", "invoice.prescription_approaching", D(2030, 12, 10)),
    ]
    assert first.stage == "not_due"
    assert first.next_step == "pre_reminder"
    assert first.next_action_on == D(2026, 3, 3)
    assert first.planned[2].step == DEFAULT_POLICY.steps[1]

    emitted = sweep(state, state.created_on, D(2026, 6, 30))
    assert emitted == {
        "pre_reminder": D(2026, 3, 3),
        "overdue": D(2026, 3, 11),
        "step:reminder_1": D(2026, 3, 13),
        "step:reminder_2": D(2026, 3, 25),
        "formal_notice_required": D(2026, 4, 9),
    }


def test_due_on_labour_day():
    # Friday 1 May 2026 is a holiday; the invoice is still due that day.
    state = invoice(D(2026, 5, 1))
    emitted = sweep(state, state.created_on, D(2026, 7, 31))
    assert emitted == {
        "pre_reminder": D(2026, 4, 24),  # Friday
        "overdue": D(2026, 5, 2),  # a Saturday: penalties run from the day after, not rolled
        "step:reminder_1": D(2026, 5, 4),  # Monday
        "step:reminder_2": D(2026, 5, 18),  # D+15 = Saturday 16 -> Monday 18
        # D+30 = Sunday 31 -> Monday 1 June; reminder_2 rolled 16 -> 18 May does not push it.
        "formal_notice_required": D(2026, 6, 1),
    }
    assert all(FRENCH_CALENDAR.is_business_day(d) for k, d in emitted.items() if k != "overdue")


def test_step_moved_by_bastille_day():
    state = invoice(D(2026, 7, 11))  # a Saturday
    planned = {o.key: o.on for o in ev(state, state.created_on).planned}
    assert planned["pre_reminder"] == D(2026, 7, 6)  # Saturday 4 July -> Monday 6
    assert planned["overdue"] == D(2026, 7, 12)  # Sunday
    assert planned["step:reminder_1"] == D(2026, 7, 15)  # D+3 = 14 July -> 15 July
    assert planned["step:reminder_2"] == D(2026, 7, 27)  # D+15 = Sunday 26 -> Monday 27
    assert planned["formal_notice_required"] == D(2026, 8, 10)  # D+30, a Monday
    emitted = sweep(state, state.created_on, D(2026, 9, 30))
    assert escalation(emitted) == {
        "pre_reminder": D(2026, 7, 6),
        "step:reminder_1": D(2026, 7, 15),
        "step:reminder_2": D(2026, 7, 27),
        "formal_notice_required": D(2026, 8, 10),
    }


# --- Pre-reminder -------------------------------------------------------------------------------
def pre_policy(offset: int = -7, min_amount: Decimal | None = None) -> Policy:
    return Policy(
        steps=(
            PolicyStep("pre_reminder", "pre_reminder", "email", offset, min_amount),
            *DEFAULT_POLICY.steps[1:],
        )
    )


def test_pre_reminder_min_amount():
    policy = pre_policy(min_amount=Decimal("5000"))
    small = invoice(amount=Decimal("4999.99"), balance=Decimal("4999.99"))
    assert "pre_reminder" not in sweep(small, small.created_on, small.due_date, policy=policy)
    large = invoice(amount=Decimal("5000"), balance=Decimal("5000"))
    assert sweep(large, large.created_on, large.due_date, policy=policy)["pre_reminder"] == D(
        2026, 3, 3
    )


def test_pre_reminder_skipped_for_an_invoice_tracked_after_its_date():
    state = invoice(created_on=D(2026, 3, 4))  # pre-reminder day was 3 March
    assert "pre_reminder" not in sweep(state, state.created_on, D(2026, 3, 31))
    same_day = invoice(created_on=D(2026, 3, 3))
    assert sweep(same_day, same_day.created_on, D(2026, 3, 31))["pre_reminder"] == D(2026, 3, 3)


def test_pre_reminder_never_after_the_due_date():
    # Due Whit Monday: D-1 is a Sunday, rolled to Tuesday 26 May, after the due date: skipped.
    state = invoice(D(2026, 5, 25))
    policy = pre_policy(offset=-1)
    assert "pre_reminder" not in sweep(state, state.created_on, D(2026, 6, 30), policy=policy)
    # A service that starts evaluating after the due date does not send it late either.
    late = invoice(D(2026, 3, 10))
    assert all(o.key != "pre_reminder" for o in ev(late, D(2026, 3, 11)).due)


# --- Overdue ------------------------------------------------------------------------------------
def test_overdue_is_due_the_day_after_even_a_sunday():
    state = invoice(D(2026, 3, 7))  # Saturday
    assert [o.key for o in ev(state, D(2026, 3, 7)).due] == []
    assert [o.key for o in ev(state, D(2026, 3, 8)).due] == ["overdue"]  # Sunday
    assert ev(state, D(2026, 3, 8)).stage == "overdue"


# --- Reminder steps: catch-up with spacing ------------------------------------------------------
def test_late_start_fires_one_step_then_keeps_the_spacing():
    state = invoice(D(2026, 3, 10), created_on=D(2026, 6, 1))  # tracked long after; a Monday
    first = ev(state, D(2026, 6, 1))
    assert [(o.key, o.on) for o in first.due] == [
        ("overdue", D(2026, 3, 11)),  # a fact keeps its day
        ("step:reminder_1", D(2026, 6, 1)),  # a late step falls due today
    ]
    planned = {o.key: o.on for o in first.planned}
    assert planned["step:reminder_2"] == D(2026, 6, 15)  # 1 June + 12 = Saturday 13 -> Monday
    assert planned["formal_notice_required"] == D(2026, 6, 30)  # 15 June + 15
    assert first.stage == "reminders"
    assert first.last_step == "reminder_1"
    assert first.next_step == "reminder_2"
    assert first.next_action_on == D(2026, 6, 15)
    emitted = sweep(state, D(2026, 6, 1), D(2026, 8, 31))
    assert escalation(emitted) == {
        "step:reminder_1": D(2026, 6, 1),
        "step:reminder_2": D(2026, 6, 15),
        "formal_notice_required": D(2026, 6, 30),
    }


def test_a_late_step_waits_for_a_business_day():
    state = invoice(D(2026, 3, 10), created_on=D(2026, 6, 6))  # tracked on a Saturday
    saturday = ev(state, D(2026, 6, 6))
    assert [o.key for o in saturday.due] == ["overdue"]
    assert {o.key: o.on for o in saturday.planned}["step:reminder_1"] == D(2026, 6, 8)
    assert saturday.next_action_on == D(2026, 6, 8)
    emitted = sweep(state, D(2026, 6, 6), D(2026, 6, 30))
    assert emitted["step:reminder_1"] == D(2026, 6, 8)


def test_only_one_step_per_evaluation():
    state = invoice(D(2026, 1, 5), created_on=D(2026, 6, 1))
    due = ev(state, D(2026, 6, 1)).due
    assert [o.key for o in due if o.step is not None] == ["step:reminder_1"]


def test_min_amount_skips_a_step_and_spacing_follows_the_emitted_one():
    policy = Policy(
        steps=(
            PolicyStep("reminder_1", "reminder", "email", 3),
            PolicyStep("reminder_2", "reminder", "letter", 15, Decimal("5000")),
            PolicyStep("formal_notice", "formal_notice", "registered_letter", 30),
        )
    )
    state = invoice(D(2026, 3, 10))
    emitted = sweep(state, state.created_on, D(2026, 5, 31), policy=policy)
    assert escalation(emitted) == {
        "step:reminder_1": D(2026, 3, 13),
        "formal_notice_required": D(2026, 4, 9),
    }
    # Late start: the formal notice comes 27 days (30 - 3) after reminder_1.
    late = invoice(D(2026, 3, 10), created_on=D(2026, 6, 1))
    emitted = sweep(late, D(2026, 6, 1), D(2026, 8, 31), policy=policy)
    assert escalation(emitted) == {
        "step:reminder_1": D(2026, 6, 1),
        "formal_notice_required": D(2026, 6, 29),  # Sunday 28 -> Monday 29
    }


def test_steps_already_emitted_are_not_repeated_and_order_is_kept():
    state = invoice(D(2026, 3, 10), emitted={"step:reminder_2": D(2026, 3, 25)})
    emitted = sweep(state, D(2026, 3, 26), D(2026, 5, 31))
    # reminder_1 lies before the last emitted step: it was skipped, never sent afterwards.
    assert "step:reminder_1" not in emitted
    assert emitted["formal_notice_required"] == D(2026, 4, 9)


# --- Amicable caps ------------------------------------------------------------------------------
def test_recorded_manual_contacts_use_up_the_cap():
    manual = [action("reminder", D(2026, 3, d), "email", id_=f"a{d}") for d in (1, 2)]
    state = invoice(D(2026, 3, 10))
    emitted = sweep(state, state.created_on, D(2026, 5, 31), actions=manual)
    # Two manual emails + the pre-reminder = 3: reminder_1 (email) would be a 4th.
    assert escalation(emitted) == {
        "pre_reminder": D(2026, 3, 3),
        "step:reminder_2": D(2026, 3, 25),
        "formal_notice_required": D(2026, 4, 9),
    }
    three = [
        *manual,
        action("phone_call", D(2026, 3, 2), None, id_="call"),
        action("pre_reminder", D(2026, 3, 2), "email", id_="p"),
    ]
    emitted = sweep(state, state.created_on, D(2026, 5, 31), actions=three)
    assert "pre_reminder" not in emitted
    assert "step:reminder_1" not in emitted


def test_count_contacts_pairs_steps_with_the_actions_recorded_for_them():
    state = invoice(
        emitted={
            "pre_reminder": D(2026, 3, 3),
            "overdue": D(2026, 3, 11),
            "step:reminder_1": D(2026, 3, 13),
            "step:reminder_2": D(2026, 3, 25),
        }
    )
    answered = [
        action("pre_reminder", D(2026, 3, 3), "email"),
        action("reminder", D(2026, 3, 14), "email"),
        action("reminder", D(2026, 3, 26), "letter"),
    ]
    assert count_contacts(DEFAULT_POLICY, state, answered) == {"phone": 0, "email": 2, "letter": 1}
    # An action recorded before the step was emitted is a separate (manual) contact.
    early = [action("reminder", D(2026, 3, 12), "email")]
    assert count_contacts(DEFAULT_POLICY, state, early)["email"] == 3
    # A call without a channel is a call; SMS and notes are not capped.
    others = [
        action("phone_call", D(2026, 3, 20), None),
        action("reminder", D(2026, 3, 20), "sms"),
        action("note", D(2026, 3, 20), "email"),
    ]
    assert count_contacts(DEFAULT_POLICY, state, others) == {"phone": 1, "email": 2, "letter": 1}


def test_sms_steps_are_uncapped():
    policy = Policy(steps=tuple(PolicyStep(f"s{i}", "reminder", "sms", i * 2) for i in range(1, 6)))
    state = invoice(D(2026, 3, 10))
    emitted = sweep(state, state.created_on, D(2026, 4, 30), policy=policy)
    assert sum(k.startswith("step:") for k in emitted) == 5


# --- Formal notice ------------------------------------------------------------------------------
def test_waits_for_the_formal_notice_to_be_recorded():
    state = invoice(
        D(2026, 3, 10),
        emitted={
            "overdue": D(2026, 3, 11),
            "step:reminder_1": D(2026, 3, 13),
            "step:reminder_2": D(2026, 3, 25),
            "formal_notice_required": D(2026, 4, 9),
        },
    )
    result = ev(state, D(2026, 5, 20))
    assert result.due == ()
    assert [o.key for o in result.planned] == ["prescription:2031-03-10"]
    assert result.stage == "formal_notice_required"
    assert result.last_step == "formal_notice"
    assert result.next_step is None


def test_formal_notice_deadline_runs_from_the_ar_and_extends_past_holidays():
    state = invoice(
        D(2026, 3, 10),
        emitted={"overdue": D(2026, 3, 11), "formal_notice_required": D(2026, 4, 9)},
    )
    notice = action(
        "formal_notice",
        D(2026, 4, 20),
        "registered_letter",
        id_="act_fn",
        acknowledged_on=D(2026, 4, 23),
    )
    result = ev(state, D(2026, 4, 24), [notice])
    # 23 April + 8 days = Friday 1 May (Labour Day) -> Monday 4 May.
    assert result.formal_notice_deadline == D(2026, 5, 4)
    assert result.stage == "formal_notice_sent"
    assert result.next_step == "formal_notice_deadline"
    assert result.next_action_on == D(2026, 5, 5)
    [planned] = [o for o in result.planned if o.key == "formal_notice_deadline:act_fn"]
    assert (planned.event_type, planned.on, planned.detail) == (
        "formal_notice.deadline_expired",
        D(2026, 5, 5),
        {"deadline": D(2026, 5, 4)},
    )
    assert ev(state, D(2026, 5, 4), [notice]).due == ()
    due = ev(state, D(2026, 5, 5), [notice]).due
    assert [o.key for o in due] == ["formal_notice_deadline:act_fn"]
    after = ev(
        with_emitted(state, {**state.emitted, due[0].key: D(2026, 5, 5)}), D(2026, 5, 5), [notice]
    )
    assert after.stage == "litigation"
    assert after.due == ()
    assert after.next_step is None
    # Stage is reported as if the due occurrence were stored already.
    assert ev(state, D(2026, 5, 5), [notice]).stage == "litigation"


def test_deadline_uses_policy_days_and_first_presentation_when_unclaimed():
    policy = dataclasses.replace(DEFAULT_POLICY, formal_notice_deadline_days=15)
    notice = action(
        "formal_notice", D(2026, 4, 20), "registered_letter", presented_on=D(2026, 4, 22)
    )
    result = ev(invoice(), D(2026, 4, 22), [notice], policy)
    assert result.formal_notice_deadline == D(2026, 5, 7)


def test_no_deadline_until_the_ar_is_known():
    notice = action("formal_notice", D(2026, 4, 20), "registered_letter")
    result = ev(invoice(), D(2026, 6, 1), [notice])
    assert result.formal_notice_deadline is None
    assert result.stage == "formal_notice_sent"
    assert result.next_step == "formal_notice_deadline"
    assert not any(
        o.key.startswith("formal_notice_deadline") for o in (*result.due, *result.planned)
    )


def test_latest_formal_notice_counts():
    first = action(
        "formal_notice",
        D(2026, 4, 10),
        "registered_letter",
        id_="fn1",
        acknowledged_on=D(2026, 4, 14),
    )
    second = action(
        "formal_notice",
        D(2026, 5, 10),
        "commissaire_de_justice",
        id_="fn2",
        acknowledged_on=D(2026, 5, 11),
    )
    result = ev(invoice(), D(2026, 5, 12), [second, first])
    assert result.formal_notice_deadline == D(2026, 5, 19)
    assert result.planned[0].key == "formal_notice_deadline:fn2"


def test_a_recorded_formal_notice_ends_the_reminders():
    notice = action("formal_notice", D(2026, 3, 12), "registered_letter")
    state = invoice(D(2026, 3, 10))
    emitted = sweep(state, state.created_on, D(2026, 5, 31), actions=[notice])
    assert escalation(emitted) == {"pre_reminder": D(2026, 3, 3)}
    assert ev(with_emitted(state, emitted), D(2026, 5, 31), [notice]).stage == "formal_notice_sent"


def test_judicial_action_means_litigation():
    state = invoice(D(2026, 3, 10), emitted={"overdue": D(2026, 3, 11)})
    injonction = action("injonction_de_payer", D(2026, 3, 20), None)
    result = ev(state, D(2026, 6, 1), [injonction])
    assert result.stage == "litigation"
    assert [o.key for o in result.due] == []
    assert result.limitation_ends_on == D(2031, 3, 20)  # and it interrupts prescription


# --- Pauses -------------------------------------------------------------------------------------
def test_dispute_pauses_escalation_but_not_facts():
    state = invoice(D(2026, 3, 10), disputed=True)
    result = ev(state, D(2026, 3, 16))
    assert (result.paused, result.paused_reason) == (True, "dispute")
    assert [o.key for o in result.due] == ["overdue"]
    assert [o.key for o in result.planned] == ["prescription:2031-03-10"]
    assert result.next_step is None
    assert result.stage == "overdue"


def test_resuming_after_a_dispute_fires_once_then_spaces():
    state = invoice(D(2026, 3, 10))
    disputed = dataclasses.replace(state, disputed=True)
    emitted = sweep(state, state.created_on, D(2026, 3, 15))  # pre_reminder, overdue, reminder_1
    emitted = sweep(with_emitted(disputed, emitted), D(2026, 3, 16), D(2026, 4, 30))
    assert "step:reminder_2" not in emitted
    emitted = sweep(with_emitted(state, emitted), D(2026, 5, 1), D(2026, 6, 30))
    # Resumed on Friday 1 May (a holiday): reminder_2 waits for Monday 4 May, once.
    assert emitted["step:reminder_2"] == D(2026, 5, 4)
    assert emitted["formal_notice_required"] == D(2026, 5, 19)  # 4 May + 15


def test_insolvency_has_priority():
    result = ev(invoice(disputed=True, insolvent=True), D(2026, 4, 1))
    assert result.paused_reason == "insolvency"


def test_promise_to_pay_pauses_until_the_promised_date_plus_grace():
    state = invoice(D(2026, 3, 10), emitted={"overdue": D(2026, 3, 11)})
    promise = action("promise_to_pay", D(2026, 3, 12), "phone", promised_date=D(2026, 3, 20))
    during = ev(state, D(2026, 3, 13), [promise])
    assert (during.paused_reason, during.due) == ("promise_to_pay", ())
    assert during.next_action_on == D(2026, 3, 24)  # 20 + 3 days of grace, then re-evaluate
    assert ev(state, D(2026, 3, 23), [promise]).paused
    after = ev(state, D(2026, 3, 24), [promise])
    assert not after.paused
    assert [o.key for o in after.due] == ["step:reminder_1"]
    # A later promise without a date does not replace a dated one.
    undated = action("promise_to_pay", D(2026, 3, 13), "phone")
    assert ev(state, D(2026, 3, 23), [promise, undated]).paused


def test_payment_plan_on_track_pauses_and_a_missed_installment_resumes():
    plan = (
        Installment(D(2026, 4, 15), Decimal("500.00")),
        Installment(D(2026, 5, 15), Decimal("500.00")),
    )
    state = invoice(
        D(2026, 3, 10),
        installments=plan,
        emitted={"overdue": D(2026, 3, 11), "step:reminder_1": D(2026, 3, 13)},
    )
    on_track = ev(state, D(2026, 4, 15))
    assert on_track.paused_reason == "payment_plan"
    assert [(o.key, o.on, o.detail) for o in on_track.planned[:2]] == [
        ("installment_missed:1", D(2026, 4, 16), {"installment": 1}),
        ("installment_missed:2", D(2026, 5, 16), {"installment": 2}),
    ]
    assert on_track.next_action_on == D(2026, 4, 16)
    missed = ev(state, D(2026, 4, 16))
    assert not missed.paused
    # The missed installment, and reminder_2 (long overdue, paused until now) once.
    assert [o.key for o in missed.due] == ["step:reminder_2", "installment_missed:1"]
    paid_first = dataclasses.replace(
        state, paid_since_plan=Decimal("500.00"), balance=Decimal("500.00")
    )
    result = ev(paid_first, D(2026, 4, 16))
    assert result.paused_reason == "payment_plan"
    assert [o.key for o in result.due] == []
    # Missed on Saturday 16 May: a fact that day, the step waits for Monday.
    saturday = ev(paid_first, D(2026, 5, 16))
    assert [o.key for o in saturday.due] == ["installment_missed:2"]
    assert saturday.next_action_on == D(2026, 5, 18)
    monday = ev(
        with_emitted(paid_first, {**paid_first.emitted, "installment_missed:2": D(2026, 5, 16)}),
        D(2026, 5, 18),
    )
    assert [o.key for o in monday.due] == ["step:reminder_2"]


# --- Prescription -------------------------------------------------------------------------------
def test_prescription_b2b_and_consumer():
    b2b = ev(invoice(D(2026, 3, 10)), D(2026, 3, 1))
    assert b2b.limitation_ends_on == D(2031, 3, 10)
    consumer = ev(invoice(D(2026, 3, 10), debtor_kind="consumer"), D(2026, 3, 1))
    assert consumer.limitation_ends_on == D(2028, 3, 10)
    [warning] = [o for o in consumer.planned if o.key.startswith("prescription:")]
    assert (warning.key, warning.on, warning.detail) == (
        "prescription:2028-03-10",
        D(2027, 12, 11),
        {"limitation_ends_on": D(2028, 3, 10)},
    )
    assert D(2028, 3, 10) - warning.on == dt.timedelta(days=legal.PRESCRIPTION_WARNING_DAYS)
    assert [
        o.key
        for o in ev(
            invoice(D(2026, 3, 10), debtor_kind="consumer", disputed=True), D(2027, 12, 11)
        ).due
    ] == ["overdue", "prescription:2028-03-10"]


def test_prescription_from_29_february():
    state = invoice(D(2028, 2, 29), debtor_kind="consumer")
    assert ev(state, D(2028, 2, 1)).limitation_ends_on == D(2030, 2, 28)


def test_acknowledgment_restarts_prescription_but_not_a_formal_notice():
    state = invoice(D(2026, 3, 10), emitted={"prescription:2031-03-10": D(2030, 12, 10)})
    notice = action("formal_notice", D(2026, 6, 1), "registered_letter")
    assert ev(state, D(2030, 12, 11), [notice]).limitation_ends_on == D(2031, 3, 10)
    ack = action("acknowledgment", D(2030, 12, 20), None)
    result = ev(state, D(2030, 12, 21), [notice, ack])
    assert result.limitation_ends_on == D(2035, 12, 20)
    assert {o.key: o.on for o in result.planned}["prescription:2035-12-20"] == D(2035, 9, 21)


def test_nothing_is_said_about_an_already_prescribed_invoice():
    state = invoice(D(2020, 3, 10), created_on=D(2026, 3, 1))
    assert [o.key for o in ev(state, D(2026, 3, 2)).due] == ["overdue", "step:reminder_1"]


# --- Closed -------------------------------------------------------------------------------------
def test_closed_invoice_has_nothing_due_nor_planned():
    for closed in (
        invoice(status="paid", balance=Decimal(0)),
        invoice(status="cancelled"),
        invoice(status="written_off"),
        invoice(balance=Decimal(0)),
        invoice(disputed=True, balance=Decimal(0)),
    ):
        result = ev(closed, D(2026, 4, 20))
        assert (result.due, result.planned, result.stage) == ((), (), "closed")
        assert (result.next_action_on, result.paused, result.next_step) == (None, False, None)


# --- Stages and idempotence ---------------------------------------------------------------------
def test_stages_over_time():
    state = invoice(D(2026, 3, 10))
    emitted: dict[str, dt.date] = {}
    stages = {}
    previous = state.created_on
    for day in (D(2026, 3, 3), D(2026, 3, 10), D(2026, 3, 11), D(2026, 3, 13), D(2026, 4, 9)):
        emitted = sweep(with_emitted(state, emitted), previous, day)
        previous = day + DAY
        stages[day] = ev(with_emitted(state, emitted), day).stage
    assert list(stages.values()) == [
        "not_due",
        "not_due",
        "overdue",
        "reminders",
        "formal_notice_required",
    ]
    assert ev(with_emitted(state, emitted), D(2026, 4, 9)).last_step == "formal_notice"


def test_feeding_due_back_gives_nothing_new_and_same_input_same_output():
    state = invoice(D(2026, 3, 10), created_on=D(2026, 6, 1))
    first = ev(state, D(2026, 6, 1))
    assert first == ev(state, D(2026, 6, 1))
    again = ev(with_emitted(state, {o.key: D(2026, 6, 1) for o in first.due}), D(2026, 6, 1))
    assert again.due == ()
    assert again.planned == first.planned
    assert (again.stage, again.next_step, again.next_action_on) == (
        first.stage,
        first.next_step,
        first.next_action_on,
    )


def test_close_steps_rolled_onto_one_day_go_out_on_consecutive_days():
    # Regression (found by the property tests): offsets 2 and 4 from Thursday 2 April 2026 both
    # roll onto Tuesday 7 April (Saturday 4 -> Easter Monday 6 is a holiday -> 7; Monday 6 -> 7);
    # the second step must still come strictly after the first, never the same day.
    policy = Policy(
        steps=(
            PolicyStep("r1", "reminder", "email", 2),
            PolicyStep("r3", "reminder", "email", 4),
            PolicyStep("formal_notice", "formal_notice", "registered_letter", 30),
        )
    )
    state = invoice(D(2026, 4, 2))
    emitted = sweep(state, state.created_on, D(2026, 4, 30), policy=policy)
    assert emitted["step:r1"] == D(2026, 4, 7)  # Sat 4 -> Mon 6 is Easter Monday -> Tue 7
    assert emitted["step:r3"] == D(2026, 4, 8)
    # Evaluating again on the day r1 went out gives nothing new, and plans r3 for the next day.
    again = ev(with_emitted(state, {"step:r1": D(2026, 4, 7)}), D(2026, 4, 7), policy=policy)
    assert [o.key for o in again.due if o.key.startswith("step:")] == []
    assert {o.key: o.on for o in again.planned}["step:r3"] == D(2026, 4, 8)


# --- e-invoice lifecycle statuses as engine inputs ------------------------------------------------


def test_lifecycle_outcomes_stop_everything_with_their_stage():
    for outcome in ("refused", "undelivered", "factored"):
        result = ev(invoice(lifecycle_outcome=outcome), D(2026, 4, 20))
        assert (result.stage, result.due, result.planned, result.next_action_on) == (
            outcome,
            (),
            (),
            None,
        )


def test_suspension_pauses_the_escalation_but_not_the_facts():
    result = ev(invoice(suspended=True), D(2026, 3, 20))
    assert (result.paused, result.paused_reason, result.next_step) == (True, "suspended", None)
    assert [o.key for o in result.due] == ["overdue"]


def test_announced_payment_pauses_through_its_last_day_then_resumes():
    state = invoice(payment_announced_until=D(2026, 3, 25))
    paused = ev(state, D(2026, 3, 25))
    assert (paused.paused_reason, paused.next_action_on) == ("payment_announced", D(2026, 3, 26))
    assert not [o for o in paused.due if o.step is not None]
    resumed = ev(state, D(2026, 3, 26))
    assert resumed.paused is False
    assert [o.step.code for o in resumed.due if o.step is not None]
