"""Property tests: sweep random invoices day by day, storing what is due, as the scheduler does."""

import dataclasses
import datetime as dt
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.escalation.engine import (
    ActionType,
    Evaluation,
    Installment,
    InvoiceState,
    RecordedAction,
    count_contacts,
    evaluate,
    step_key,
)
from app.escalation.policy import CAPPED_CHANNEL, DEFAULT_POLICY, Channel, Policy, PolicyStep
from app.legal import figures as legal
from app.legal.calendar import FRENCH_CALENDAR

DAY = dt.timedelta(days=1)
ESCALATION_PREFIXES = ("pre_reminder", "step:", "formal_notice_required", "formal_notice_deadline:")
ON_BUSINESS_DAYS = ("pre_reminder", "step:", "formal_notice_required")
HORIZON_DAYS = 150
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

min_amounts = st.sampled_from([None, None, Decimal("500"), Decimal("5000")])


@st.composite
def policies(draw) -> Policy:
    if draw(st.booleans()):
        return DEFAULT_POLICY
    steps: list[PolicyStep] = []
    if draw(st.booleans()):
        channel = draw(st.sampled_from(["email", "phone", "letter", "sms"]))
        steps.append(
            PolicyStep(
                "pre", "pre_reminder", channel, draw(st.integers(-14, -1)), draw(min_amounts)
            )
        )
    offset = 0
    # Up to 5 reminders: may exceed the caps on purpose (the engine must enforce them anyway).
    for i in range(draw(st.integers(0, 5))):
        offset += draw(st.integers(1, 20))
        channel = draw(st.sampled_from(["email", "phone", "letter", "sms"]))
        steps.append(PolicyStep(f"r{i}", "reminder", channel, offset, draw(min_amounts)))
    if draw(st.booleans()) or not steps:
        offset += draw(st.integers(1, 20))
        channel = draw(st.sampled_from(["registered_letter", "commissaire_de_justice"]))
        steps.append(PolicyStep("fn", "formal_notice", channel, offset, draw(min_amounts)))
    return Policy(
        steps=tuple(steps),
        formal_notice_deadline_days=draw(
            st.integers(
                legal.FORMAL_NOTICE_DEADLINE_MIN_DAYS, legal.FORMAL_NOTICE_DEADLINE_MAX_DAYS
            )
        ),
        promise_grace_days=draw(st.integers(0, 5)),
    )


@dataclasses.dataclass(frozen=True)
class Scenario:
    """An invoice and what happens to it; days are offsets from the due date."""

    policy: Policy
    due_date: dt.date
    amount: Decimal
    debtor_kind: str
    created: int
    dispute: tuple[int, int] | None  # (from, to) inclusive
    insolvent_from: int | None
    promise: tuple[int, int] | None  # (recorded, promised date)
    manual: tuple[tuple[int, ActionType, Channel | None], ...]  # (day, type, channel)
    respond_lag: int | None  # the creditor records each step it is told about, this late
    notice_lag: int | None  # records the formal notice this long after it is required
    ar_lag: int | None  # and its AR comes back this long after
    paid_on: int | None
    plan: tuple[int, int] | None  # (created, installments paid on time)
    judicial_on: int | None


@st.composite
def scenarios(draw) -> Scenario:
    opt = lambda s: draw(st.none() | s)  # noqa: E731
    dispute = opt(st.tuples(st.integers(-15, 60), st.integers(0, 40)))
    promise = opt(st.tuples(st.integers(0, 60), st.integers(0, 20)))
    return Scenario(
        policy=draw(policies()),
        due_date=dt.date(2026, 1, 1) + draw(st.integers(0, 364)) * DAY,
        amount=draw(st.sampled_from([Decimal("300"), Decimal("1200"), Decimal("6000")])),
        debtor_kind=draw(st.sampled_from(["business", "consumer"])),
        created=draw(st.integers(-40, 60)),
        dispute=(dispute[0], dispute[0] + dispute[1]) if dispute else None,
        insolvent_from=opt(st.integers(0, 120)),
        promise=(promise[0], promise[0] + promise[1]) if promise else None,
        manual=tuple(
            draw(
                st.lists(
                    st.tuples(
                        st.integers(-20, 60),
                        st.sampled_from(["reminder", "phone_call", "pre_reminder"]),
                        st.sampled_from(["email", "phone", "letter", "sms", None]),
                    ),
                    max_size=4,
                )
            )
        ),
        respond_lag=opt(st.integers(0, 2)),
        notice_lag=opt(st.integers(0, 10)),
        ar_lag=opt(st.integers(1, 6)),
        paid_on=opt(st.integers(-5, 130)),
        plan=opt(st.tuples(st.integers(5, 40), st.integers(0, 3))),
        judicial_on=opt(st.integers(30, 140)),
    )


class Simulation:
    """Replays a scenario; actions depend on what was emitted, as they would in reality."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.emitted: dict[str, dt.date] = {}
        self.order: list[str] = []  # escalation keys in emission order
        self.actions: list[RecordedAction] = []
        d = sc.due_date
        for i, (off, type_, channel) in enumerate(sc.manual):
            self.actions.append(RecordedAction(f"m{i}", type_, channel, d + off * DAY))
        if sc.promise:
            self.actions.append(
                RecordedAction(
                    "promise",
                    "promise_to_pay",
                    "phone",
                    d + sc.promise[0] * DAY,
                    promised_date=d + sc.promise[1] * DAY,
                )
            )
        if sc.judicial_on is not None:
            self.actions.append(
                RecordedAction("inj", "injonction_de_payer", None, d + sc.judicial_on * DAY)
            )
        self.installments: tuple[Installment, ...] = ()
        if sc.plan:
            start = d + sc.plan[0] * DAY
            self.installments = tuple(
                Installment(start + 30 * (k + 1) * DAY, sc.amount / 3) for k in range(3)
            )

    def off(self, day: dt.date) -> int:
        return (day - self.sc.due_date).days

    def state(self, day: dt.date) -> InvoiceState:
        sc, off = self.sc, self.off(day)
        installments: tuple[Installment, ...] = ()
        paid = Decimal(0)
        if sc.plan and off >= sc.plan[0]:
            installments = self.installments
            paid = sum(
                (
                    i.amount
                    for k, i in enumerate(installments)
                    if k < sc.plan[1] and i.due_date <= day
                ),
                Decimal(0),
            )
        fully_paid = sc.paid_on is not None and off >= sc.paid_on
        balance = Decimal(0) if fully_paid else sc.amount - paid
        return InvoiceState(
            issue_date=sc.due_date - 30 * DAY,
            due_date=sc.due_date,
            amount=sc.amount,
            balance=balance,
            status="paid" if balance == 0 else "open",
            debtor_kind=sc.debtor_kind,  # type: ignore[arg-type]
            created_on=sc.due_date + sc.created * DAY,
            disputed=sc.dispute is not None and sc.dispute[0] <= off <= sc.dispute[1],
            insolvent=sc.insolvent_from is not None and off >= sc.insolvent_from,
            installments=installments,
            paid_since_plan=paid,
            emitted=dict(self.emitted),
        )

    def visible_actions(self, day: dt.date) -> list[RecordedAction]:
        visible = []
        for a in self.actions:
            if a.performed_on > day:
                continue
            if a.acknowledged_on is not None and a.acknowledged_on > day:
                a = dataclasses.replace(a, acknowledged_on=None)  # the AR is not back yet
            visible.append(a)
        return visible

    def evaluate(self, day: dt.date) -> tuple[InvoiceState, list[RecordedAction], Evaluation]:
        state, actions = self.state(day), self.visible_actions(day)
        return state, actions, evaluate(state, self.sc.policy, actions, FRENCH_CALENDAR, day)

    def store(self, day: dt.date, result: Evaluation) -> None:
        sc = self.sc
        for o in result.due:
            assert o.key not in self.emitted, f"{o.key} emitted twice"
            self.emitted[o.key] = day
            if o.key.startswith(ON_BUSINESS_DAYS):
                self.order.append(o.key)
            if o.step is not None and o.step.kind != "formal_notice" and sc.respond_lag is not None:
                type_: ActionType = "pre_reminder" if o.step.kind == "pre_reminder" else "reminder"
                self.actions.append(
                    RecordedAction(
                        f"resp_{o.key}", type_, o.step.channel, day + sc.respond_lag * DAY
                    )
                )
            if o.key == "formal_notice_required" and sc.notice_lag is not None:
                sent = day + sc.notice_lag * DAY
                ar = sent + sc.ar_lag * DAY if sc.ar_lag is not None else None
                self.actions.append(
                    RecordedAction(
                        "fn", "formal_notice", "registered_letter", sent, acknowledged_on=ar
                    )
                )

    def days(self):
        start = self.sc.due_date + min(self.sc.created, 0) * DAY
        start = max(start, self.sc.due_date + self.sc.created * DAY)
        for i in range(HORIZON_DAYS):
            yield start + i * DAY


def run(sc: Scenario, evaluations_per_day: int = 1) -> Simulation:
    sim = Simulation(sc)
    policy = sc.policy
    for day in sim.days():
        for _ in range(evaluations_per_day):
            state, actions, result = sim.evaluate(day)
            assert result == evaluate(state, policy, actions, FRENCH_CALENDAR, day)  # pure
            assert all(o.on <= day for o in result.due)
            assert all(o.on > day for o in result.planned)
            assert [o.on for o in result.planned] == sorted(o.on for o in result.planned)
            assert [o.on for o in result.due] == sorted(o.on for o in result.due)
            if result.next_action_on is not None:
                assert result.next_action_on > day
            if result.paused:
                assert not [o for o in result.due if o.key.startswith(ESCALATION_PREFIXES)]
                assert not [o for o in result.planned if o.key.startswith(ESCALATION_PREFIXES)]
            if result.stage == "closed":
                assert result.due == result.planned == ()
            for o in result.due:
                if o.key.startswith(ON_BUSINESS_DAYS):
                    assert FRENCH_CALENDAR.is_business_day(day), (o.key, day)
                    assert FRENCH_CALENDAR.is_business_day(o.on), (o.key, o.on)
            sim.store(day, result)
            # Stored: evaluating again the same day gives nothing new.
            before = actions
            state, actions, again = sim.evaluate(day)
            assert again.due == ()
            if actions == before:  # (unless the creditor recorded something in reaction)
                assert (again.stage, again.planned, again.next_action_on) == (
                    result.stage,
                    result.planned,
                    result.next_action_on,
                )
            # Caps: a capped step emitted today never takes its channel beyond the cap.
            counts = count_contacts(policy, state, actions)
            for o in result.due:
                if o.step is not None and o.step.kind != "formal_notice":
                    capped = CAPPED_CHANNEL.get(o.step.channel)
                    if capped is not None:
                        assert counts[capped] <= legal.AMICABLE_CAPS[capped], (capped, counts)
            # Nor does it plan beyond them: what is recorded plus what is planned fits.
            planned = Counter(
                CAPPED_CHANNEL.get(o.step.channel)
                for o in result.planned
                if o.step is not None and o.step.kind != "formal_notice"
            )
            for capped, n in planned.items():
                if capped is not None:
                    assert counts[capped] + n <= legal.AMICABLE_CAPS[capped], (capped, counts, n)
    return sim


@SETTINGS
@given(scenarios())
def test_sweeping_day_by_day(sc: Scenario):
    sim = run(sc)
    # Steps go out in policy order, each at most once.
    index = {step_key(s): i for i, s in enumerate(sc.policy.steps)}
    positions = [index[k] for k in sim.order]
    assert positions == sorted(set(positions))


@SETTINGS
@given(scenarios())
def test_result_does_not_depend_on_how_often_it_runs(sc: Scenario):
    assert run(sc, 1).emitted == run(sc, 2).emitted


@SETTINGS
@given(scenarios(), st.integers(0, HORIZON_DAYS - 1))
def test_planned_is_a_faithful_forecast(sc: Scenario, at: int):
    """If nothing changes, nothing is due before next_action_on, and what was planned for that
    day is due then: the scheduler may sleep until next_action_on."""
    sim = Simulation(sc)
    days = list(sim.days())
    for day in days[:at]:
        sim.store(day, sim.evaluate(day)[2])
    today = days[at]
    state, actions, result = sim.evaluate(today)
    sim.store(today, result)
    frozen = dataclasses.replace(state, emitted=dict(sim.emitted))
    nxt = result.next_action_on
    last = nxt if nxt is not None else today + 60 * DAY
    day = today + DAY
    while day <= min(last, today + 400 * DAY):
        later = evaluate(frozen, sc.policy, actions, FRENCH_CALENDAR, day)
        if day < last or nxt is None:
            assert later.due == (), (day, later.due)
        else:
            expected = {o.key for o in result.planned if o.on == nxt}
            assert expected <= {o.key for o in later.due}
            assert expected or result.paused_reason == "promise_to_pay"
        day += DAY
