"""The debtor-level decision of a grouped policy: a pure function of the debtor's invoices (each
with the per-invoice engine's evaluation for today) and of the grouped contacts already sent.

The per-invoice engine (app.escalation.engine) still runs for every invoice: it says which of an
invoice's steps are due. The debtor gets one contact for all of them:
- at the highest policy level due among its eligible invoices, listing every eligible invoice
  (open, overdue, with a balance) with its balance;
- the contact covers, for each listed invoice, every reminder and formal-notice step up to that
  level (stored as sent with the grouped event), so an invoice already listed at a level is never
  chased again below it: an invoice that falls due later joins the next grouped step;
- at most one contact per debtor per day (what is due meanwhile waits for the next day);
- the amicable caps (3 e-mails, 3 calls, 3 letters) count the debtor's grouped contacts: a due
  step beyond its channel's cap is skipped (recorded as passed, with no contact), as the
  per-invoice engine skips one;
- paused invoices (dispute, promise to pay, payment plan, insolvency, an e-invoice suspended or
  its payment announced), those past the amicable phase (a mise en demeure sent, litigation)
  and those whose e-invoice was refused, never delivered or factored are left out, each with its
  reason.
Pre-reminders (before the due date) and the facts (overdue, missed installment, deadlines,
prescription) stay per invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, cast, get_args

from app.escalation.engine import Evaluation, step_key
from app.escalation.policy import AMICABLE_KINDS, CAPPED_CHANNEL, Channel, Policy, PolicyStep
from app.ledger.invoices.schemas import PauseReason
from app.legal import figures as legal
from app.outbox.events.schemas import EventType

# The step kinds a grouped policy sends per debtor.
GROUPED_KINDS: Final = frozenset({"reminder", "formal_notice"})
GROUPED_EVENT_TYPE: Final[dict[str, EventType]] = {
    "reminder": "debtor.dunning_step_due",
    "formal_notice": "debtor.formal_notice_required",
}
# Why an invoice is left out of its debtor's group: its pause reason, or its stage once the
# amicable phase is over for it, or an e-invoice outcome that ends its chase (refused, never
# delivered, factored: app.legal.einvoicing).
LeftOutStage = Literal["formal_notice_sent", "litigation", "refused", "undelivered", "factored"]
ExclusionReason = PauseReason | LeftOutStage
_LEFT_OUT_STAGES: Final[frozenset[str]] = frozenset(get_args(LeftOutStage))


@dataclass(frozen=True)
class Member:
    """One open invoice of the debtor, as the per-invoice engine sees it today."""

    invoice_id: str
    due_date: dt.date
    balance: Decimal
    evaluation: Evaluation  # evaluate(...) for today
    sent: Collection[str]  # occurrence keys already stored for the invoice


@dataclass(frozen=True)
class PastContact:
    """A grouped contact already sent to the debtor."""

    on: dt.date
    channel: Channel


@dataclass(frozen=True)
class Listed:
    invoice_id: str
    balance: Decimal


@dataclass(frozen=True)
class Excluded:
    invoice_id: str
    reason: ExclusionReason


@dataclass(frozen=True)
class Decision:
    step: PolicyStep | None  # the grouped contact to send today, if any
    listed: tuple[Listed, ...]  # by invoice id
    excluded: tuple[Excluded, ...]  # by invoice id
    # (invoice id, occurrence key) the contact covers: stored as sent with the grouped event
    covered: tuple[tuple[str, str], ...]
    # (invoice id, occurrence key) due but beyond the debtor's cap: stored as passed, no contact
    skipped: tuple[tuple[str, str], ...]

    @property
    def event_type(self) -> EventType | None:
        return GROUPED_EVENT_TYPE[self.step.kind] if self.step is not None else None

    @property
    def total_due(self) -> Decimal:
        return sum((i.balance for i in self.listed), Decimal("0.00"))


def exclusion(member: Member) -> ExclusionReason | None:
    evaluation = member.evaluation
    if evaluation.paused_reason is not None:
        return evaluation.paused_reason
    if evaluation.stage in _LEFT_OUT_STAGES:
        return cast(LeftOutStage, evaluation.stage)
    return None


def contacts_by_channel(history: Sequence[PastContact]) -> dict[str, int]:
    counts = dict.fromkeys(legal.AMICABLE_CAPS, 0)
    for contact in history:
        capped = CAPPED_CHANNEL.get(contact.channel)
        if capped is not None:
            counts[capped] += 1
    return counts


def within_cap(step: PolicyStep, counts: dict[str, int]) -> bool:
    capped = CAPPED_CHANNEL.get(step.channel)
    if step.kind not in AMICABLE_KINDS or capped is None:
        return True
    return counts[capped] < legal.AMICABLE_CAPS[capped]


def _due_grouped(member: Member) -> list[PolicyStep]:
    """The member's reminder and formal-notice steps due today."""
    return [
        o.step for o in member.evaluation.due if o.step is not None and o.step.kind in GROUPED_KINDS
    ]


def decide(
    policy: Policy, members: Sequence[Member], history: Sequence[PastContact], today: dt.date
) -> Decision:
    """The debtor's grouped contact for `today` (see the module's docstring). The same answer
    whatever the order of `members` and `history`."""
    members = sorted(members, key=lambda m: m.invoice_id)
    excluded = tuple(
        Excluded(m.invoice_id, reason) for m in members if (reason := exclusion(m)) is not None
    )
    left_out = {e.invoice_id for e in excluded}
    eligible = [
        m for m in members if m.invoice_id not in left_out and m.balance > 0 and today > m.due_date
    ]
    listed = tuple(Listed(m.invoice_id, m.balance) for m in eligible)
    due = [(m, step) for m in eligible for step in _due_grouped(m)]
    if not due or any(c.on == today for c in history):
        return Decision(None, listed, excluded, (), ())
    counts = contacts_by_channel(history)
    levels = {s.code: i for i, s in enumerate(policy.steps)}
    skipped = tuple(
        sorted((m.invoice_id, step_key(s)) for m, s in due if not within_cap(s, counts))
    )
    allowed = [s for _, s in due if within_cap(s, counts)]
    if not allowed:
        return Decision(None, listed, excluded, (), skipped)
    step = max(allowed, key=lambda s: levels[s.code])
    reach = levels[step.code]
    covered = tuple(
        (m.invoice_id, step_key(s))
        for m in eligible
        for s in policy.steps[: reach + 1]
        if s.kind in GROUPED_KINDS and step_key(s) not in m.sent
    )
    skipped = tuple(k for k in skipped if k not in frozenset(covered))
    return Decision(step, listed, excluded, covered, skipped)


def letter_kind(step: PolicyStep, policy: Policy) -> str:
    """The grouped letter of a step: the first reminder courteous, later ones formal."""
    if step.kind == "formal_notice":
        return "formal_notice"
    reminders = [s.code for s in policy.steps if s.kind == "reminder"]
    return "reminder_1" if reminders and reminders[0] == step.code else "reminder_2"
