"""Property: whatever e-invoice lifecycle statuses arrive, in whatever order, the pure engine never
chases (emits a dunning step for) an invoice refused (210), rejected (213), misrouted (221),
cancelled (220) or factored (225); an undelivered one does not even become overdue (no
penalties). The statuses go through the same fold as the API (app.legal.einvoicing), contradictory
ones being refused as the API refuses them (409/422)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.core.errors import ProblemError
from app.escalation.engine import InvoiceState, evaluate
from app.escalation.policy import DEFAULT_POLICY
from app.legal.calendar import FRENCH_CALENDAR
from app.legal.einvoicing import (
    LIFECYCLE_CODES,
    STATUSES,
    InvoiceFacts,
    LifecycleFacts,
    apply_status,
    claimable,
)

DAY = dt.timedelta(days=1)
DUE = dt.date(2026, 3, 10)
ESCALATION_PREFIXES = ("pre_reminder", "step:", "formal_notice_required", "formal_notice_deadline:")
AMOUNT = Decimal("1000.00")

statuses = st.lists(
    st.tuples(
        st.integers(-35, 120),  # day, from the due date
        st.sampled_from(LIFECYCLE_CODES),
        st.none() | st.sampled_from([Decimal("100.00"), Decimal("400.00"), Decimal("1000.00")]),
    ),
    max_size=12,
).map(lambda items: sorted(items, key=lambda item: item[0]))


@dataclasses.dataclass
class Invoice:
    """The ledger side, as the API's services keep it."""

    facts: LifecycleFacts = dataclasses.field(default_factory=LifecycleFacts)
    status: str = "open"
    paid: Decimal = Decimal(0)
    disputed: bool = False

    def receive(self, code: str, day: dt.date, amount: Decimal | None) -> None:
        ledger = InvoiceFacts(self.status, AMOUNT, self.paid, self.disputed)
        try:
            facts = apply_status(self.facts, ledger, code, day, amount)
        except ProblemError:
            return  # the API answers 409 or 422 and changes nothing
        effect = STATUSES[code].effect  # type: ignore[index]
        if effect == "dispute_opened":
            self.disputed = True
        elif effect == "payment_recorded":
            pay = amount if amount is not None else self.claimable_balance
            if pay <= 0 or pay > AMOUNT - self.paid:
                return  # 409 / 422 from the payments service
            self.paid += pay
            self.status = "paid" if self.paid == AMOUNT else self.status
        elif effect == "cancelled":
            self.status = "cancelled"
        self.facts = facts

    @property
    def claimable_balance(self) -> Decimal:
        return claimable(AMOUNT, self.facts.approved_amount) - self.paid

    def state(self, emitted: dict[str, dt.date]) -> InvoiceState:
        return InvoiceState(
            issue_date=DUE - 30 * DAY,
            due_date=DUE,
            amount=AMOUNT,
            balance=self.claimable_balance,
            status=self.status,  # type: ignore[arg-type]
            debtor_kind="business",
            created_on=DUE - 40 * DAY,
            disputed=self.disputed,
            lifecycle_outcome=self.facts.outcome,
            suspended=self.facts.suspended,
            payment_announced_until=self.facts.payment_announced_until,
            approved=self.facts.approved,
            received_on=self.facts.received_on,
            emitted=dict(emitted),
        )

    @property
    def never_chased(self) -> bool:
        return self.status == "cancelled" or self.facts.outcome is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statuses)
# Found by a fresh-clone run.
@example([(0, "206", Decimal("100.00")), (1, "212", None), (1, "213", None)])
def test_no_status_sequence_leads_to_chasing_a_refused_rejected_cancelled_or_factored_invoice(
    received: list[tuple[int, str, Decimal | None]],
) -> None:
    invoice = Invoice()
    emitted: dict[str, dt.date] = {}
    blocked_since: dt.date | None = None
    day = DUE - 35 * DAY
    while day <= DUE + 130 * DAY:
        for offset, code, amount in received:
            if DUE + offset * DAY == day:
                invoice.receive(code, day, amount)
        if invoice.never_chased and blocked_since is None:
            blocked_since = day
        if blocked_since is not None:
            # Sticky: nothing the platforms send afterwards lifts it.
            assert invoice.never_chased
        evaluation = evaluate(invoice.state(emitted), DEFAULT_POLICY, [], FRENCH_CALENDAR, day)
        if invoice.never_chased:
            chased = [o.key for o in evaluation.due if o.key.startswith(ESCALATION_PREFIXES)]
            assert chased == [], (day, invoice)
            assert not any(o.key.startswith(ESCALATION_PREFIXES) for o in evaluation.planned)
            assert evaluation.next_step is None
        if invoice.facts.outcome == "undelivered":
            assert evaluation.due == ()  # not even overdue: no penalties
            # Closed wins when nothing is left to claim: e.g. approved for 100.00 only (206),
            # those 100.00 cashed (212), then rejected (213), the ledger's invoice still open.
            settled = invoice.status != "open" or invoice.claimable_balance <= 0
            assert evaluation.stage == ("closed" if settled else "undelivered")
        for occurrence in evaluation.due:
            emitted[occurrence.key] = day
        day += DAY


def test_the_property_sees_a_chase_without_a_blocking_status() -> None:
    """The check above can fail: a plain invoice is chased within the same horizon."""
    invoice = Invoice()
    emitted: dict[str, dt.date] = {}
    day, chased = DUE - 35 * DAY, []
    while day <= DUE + 130 * DAY:
        evaluation = evaluate(invoice.state(emitted), DEFAULT_POLICY, [], FRENCH_CALENDAR, day)
        chased += [o.key for o in evaluation.due if o.key.startswith(ESCALATION_PREFIXES)]
        for occurrence in evaluation.due:
            emitted[occurrence.key] = day
        day += DAY
    assert chased
