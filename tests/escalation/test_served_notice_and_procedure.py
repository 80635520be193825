"""The engine's side of items 5 and 7 of issue 15: a mise en demeure served by a commissaire de
justice runs from its service; the uncontested commercial claims procedure stops the amicable
escalation and plans the debtor's month and what comes next (pure, like the engine)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.escalation.engine import (
    DEADLINE_KEY_PREFIX,
    InvoiceState,
    RecordedAction,
    evaluate,
    formal_notice_deadline,
)
from app.escalation.policy import DEFAULT_POLICY, Policy
from app.escalation.procedure import (
    EXPLANATIONS,
    contest_period_end,
    pv_earliest,
    uncontested_claim,
)
from app.legal import deadlines
from app.legal import figures as legal
from app.legal.calendar import FRENCH_CALENDAR, business_calendar

D = dt.date
DAY = dt.timedelta(days=1)


def state(**kw: Any) -> InvoiceState:
    values: dict[str, Any] = {
        "issue_date": D(2026, 1, 1),
        "due_date": D(2026, 1, 31),
        "amount": Decimal("9000.00"),
        "balance": Decimal("9000.00"),
        "status": "open",
        "debtor_kind": "business",
        "created_on": D(2026, 1, 1),
    }
    values.update(kw)
    return InvoiceState(**values)


def act(type_, on, id_=None, channel=None, **kw) -> RecordedAction:
    return RecordedAction(
        id=id_ or f"act_{type_}_{on}", type=type_, channel=channel, performed_on=on, **kw
    )


def test_a_served_mise_en_demeure_runs_from_its_service():
    # Served on Friday 4 December 2026: 8 days -> Saturday 12 -> Monday 14 December.
    notice = act(
        "formal_notice", D(2026, 12, 3), channel="commissaire_de_justice", served_on=D(2026, 12, 4)
    )
    result = evaluate(state(), DEFAULT_POLICY, [notice], FRENCH_CALENDAR, D(2026, 12, 7))
    assert result.formal_notice_deadline == D(2026, 12, 14)
    expiry = [o for o in result.planned if o.key.startswith(DEADLINE_KEY_PREFIX)]
    assert [o.on for o in expiry] == [D(2026, 12, 15)]
    assert result.next_step == "formal_notice_deadline"


def test_without_its_date_of_service_a_served_notice_waits():
    notice = act("formal_notice", D(2026, 12, 3), channel="commissaire_de_justice")
    result = evaluate(state(), DEFAULT_POLICY, [notice], FRENCH_CALENDAR, D(2026, 12, 7))
    assert result.formal_notice_deadline is None
    assert result.stage == "formal_notice_sent"


def test_the_date_of_service_takes_precedence_over_a_letter_date():
    notice = act(
        "formal_notice",
        D(2026, 3, 2),
        channel="commissaire_de_justice",
        served_on=D(2026, 3, 3),
        acknowledged_on=D(2026, 3, 9),
    )
    assert formal_notice_deadline(notice, DEFAULT_POLICY, FRENCH_CALENDAR) == D(2026, 3, 11)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=D(2019, 1, 1), max_value=D(2030, 12, 31)),
    st.integers(min_value=0, max_value=10),
    st.sampled_from(["served_on", "acknowledged_on", "presented_on"]),
    st.integers(
        min_value=legal.FORMAL_NOTICE_DEADLINE_MIN_DAYS,
        max_value=legal.FORMAL_NOTICE_DEADLINE_MAX_DAYS,
    ),
    st.sampled_from([None, "57", "971"]),
)
def test_the_engine_deadline_is_the_shared_computation(sent, delay, field, days, subdiv):
    policy = Policy(
        steps=DEFAULT_POLICY.steps, formal_notice_deadline_days=days, holiday_subdivision=subdiv
    )
    start = sent + delay * DAY
    notice = act("formal_notice", sent, **{field: start})
    deadline = formal_notice_deadline(notice, policy, policy.calendar)
    assert deadline == deadlines.days_after(start, days, policy.calendar)
    assert deadline is not None
    assert policy.calendar.is_business_day(deadline)
    assert deadline >= start + days * DAY


def test_a_commandement_de_payer_stops_the_amicable_escalation():
    cmd = act(
        "commandement_de_payer",
        D(2026, 2, 2),
        channel="commissaire_de_justice",
        served_on=D(2026, 2, 3),
    )
    result = evaluate(state(), DEFAULT_POLICY, [cmd], FRENCH_CALENDAR, D(2026, 2, 10))
    assert result.stage == "litigation"
    assert not [o for o in result.planned if o.step is not None]
    assert not [o for o in result.due if o.step is not None]


def test_the_procedure_plans_the_debtors_month_then_the_pv():
    cmd = act(
        "commandement_de_payer",
        D(2026, 1, 30),
        channel="commissaire_de_justice",
        served_on=D(2026, 1, 31),
    )
    procedure = uncontested_claim([cmd], disputed=False, calendar=FRENCH_CALENDAR)
    assert procedure is not None
    # 31 January + 1 month = Saturday 28 February -> Monday 2 March; PV from 10 March.
    assert procedure.contest_period_ends_on == D(2026, 3, 2)
    assert procedure.pv_possible_from == D(2026, 3, 10)
    assert [(s.code, s.on) for s in procedure.next] == [
        ("contest_period_ends", D(2026, 3, 2)),
        ("pv_non_contestation", D(2026, 3, 10)),
    ]
    assert all(s.explanation == EXPLANATIONS[s.code] for s in procedure.next)
    assert "un mois" in procedure.next[0].explanation


def test_the_procedure_follows_its_steps():
    cal = FRENCH_CALENDAR
    cmd = act("commandement_de_payer", D(2026, 5, 4), served_on=D(2026, 5, 5))
    pv = act("pv_non_contestation", D(2026, 6, 15))
    title = act("titre_executoire", D(2026, 6, 22))
    assert uncontested_claim([], disputed=False, calendar=cal) is None
    waiting = uncontested_claim(
        [act("commandement_de_payer", D(2026, 5, 4))], disputed=False, calendar=cal
    )
    assert waiting is not None
    assert [s.code for s in waiting.next] == ["awaiting_service"]
    contested = uncontested_claim([cmd], disputed=True, calendar=cal)
    assert contested is not None
    assert [s.code for s in contested.next] == ["ended_by_contest"]
    drawn = uncontested_claim([cmd, pv], disputed=False, calendar=cal)
    assert drawn is not None
    assert [(s.code, s.on) for s in drawn.next] == [("titre_executoire", D(2026, 6, 15))]
    enforceable = uncontested_claim([title, pv, cmd], disputed=False, calendar=cal)
    assert enforceable is not None
    assert [s.code for s in enforceable.next] == ["execution"]
    # A PV recorded before the latest commandement belongs to an earlier attempt.
    again = act("commandement_de_payer", D(2026, 7, 1), "act_again", served_on=D(2026, 7, 1))
    restarted = uncontested_claim([cmd, pv, again], disputed=False, calendar=cal)
    assert restarted is not None
    assert restarted.pv is None
    assert restarted.next[0].code == "contest_period_ends"


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=D(2026, 4, 23), max_value=D(2030, 12, 31)),
    st.sampled_from([None, "57", "974"]),
)
def test_the_pv_comes_at_least_8_days_after_a_month_of_at_least_28_days(served, subdiv):
    cal = business_calendar(subdiv)
    ends = contest_period_end(served, cal)
    assert (ends - served).days >= 28
    assert cal.is_business_day(ends)
    assert pv_earliest(served, cal) == ends + legal.UNCONTESTED_CLAIM_PV_MIN_DAYS_AFTER * DAY
