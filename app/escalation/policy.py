"""Dunning policies: the ordered steps of the graduated escalation, and their validation.

The default follows the seed guides (DOMAIN.md, API.md "Default dunning policy"): a pre-reminder a
week before the due date, two amicable reminders, then the mise en demeure by registered letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, get_args

from app.legal import figures as legal
from app.legal.calendar import BusinessCalendar, HolidaySubdivision, business_calendar

StepKind = Literal["pre_reminder", "reminder", "formal_notice"]
# "invoice": each invoice runs its own escalation (the default). "debtor": the reminder and formal
# notice steps of a debtor's open invoices are sent together, one grouped event per step
# (app.escalation.grouping).
Grouping = Literal["invoice", "debtor"]
# `lre`: the qualified electronic registered letter (lettre recommandée électronique, CPCE L100,
# eIDAS art. 44), worth a paper LRAR; a consumer must have agreed to receive them beforehand.
Channel = Literal[
    "email", "phone", "letter", "registered_letter", "sms", "commissaire_de_justice", "lre"
]

STEP_KINDS: Final[tuple[StepKind, ...]] = get_args(StepKind)
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
AMICABLE_KINDS: Final[frozenset[StepKind]] = frozenset({"pre_reminder", "reminder"})
# A mise en demeure must be provable: LRAR, its electronic equivalent (LRE), or served by a
# commissaire de justice.
FORMAL_NOTICE_CHANNELS: Final[frozenset[Channel]] = frozenset(
    {"registered_letter", "lre", "commissaire_de_justice"}
)
# The channels whose proof a registered-mail provider reports (proof events).
REGISTERED_MAIL_CHANNELS: Final[frozenset[Channel]] = frozenset({"registered_letter", "lre"})
# Amicable step channel -> key of legal.AMICABLE_CAPS. The seeds cap calls, emails and letters
# only; "sms" is deliberately absent (uncapped: the seeds say nothing about it), and the formal
# channels are not amicable contacts at all.
CAPPED_CHANNEL: Final[dict[Channel, str]] = {"email": "email", "phone": "phone", "letter": "letter"}
# Not a legal figure: a product bound so that a promise cannot freeze a file indefinitely.
MAX_PROMISE_GRACE_DAYS: Final = 30
CODE_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class PolicyStep:
    code: str
    kind: StepKind
    channel: Channel
    offset_days: int  # relative to the invoice due date; negative = before it
    min_amount: Decimal | None = None  # skip the step for smaller invoices


@dataclass(frozen=True)
class Policy:
    steps: tuple[PolicyStep, ...]
    formal_notice_deadline_days: int = legal.FORMAL_NOTICE_DEADLINE_DEFAULT_DAYS
    promise_grace_days: int = 3
    # Whose public holidays the steps avoid: None for metropolitan France, else a subdivision,
    # e.g. "57" for a creditor in Moselle.
    holiday_subdivision: HolidaySubdivision | None = None
    grouping: Grouping = "invoice"

    @property
    def calendar(self) -> BusinessCalendar:
        return business_calendar(self.holiday_subdivision)

    def step(self, code: str) -> PolicyStep | None:
        return next((s for s in self.steps if s.code == code), None)


DEFAULT_POLICY: Final = Policy(
    steps=(
        PolicyStep("pre_reminder", "pre_reminder", "email", -7),
        PolicyStep("reminder_1", "reminder", "email", 3),
        PolicyStep("reminder_2", "reminder", "letter", 15),
        PolicyStep("formal_notice", "formal_notice", "registered_letter", 30),
    )
)


@dataclass(frozen=True)
class PolicyProblem:
    """One reason a policy is refused; `loc` follows the API's validation error `loc`."""

    loc: tuple[str | int, ...]
    msg: str


def validate_policy(policy: Policy) -> list[PolicyProblem]:
    """Every problem found (empty list: the policy is valid). Never raises."""
    problems: list[PolicyProblem] = []
    steps = policy.steps
    if not steps:
        problems.append(_problem("a policy needs at least one step", "steps"))
    seen_codes: set[str] = set()
    for i, step in enumerate(steps):
        problems += _code_problems(step, i, seen_codes)
        problems += _step_problems(steps, i)
    problems += _duration_problems(policy)
    problems += _cap_problems(steps)
    return problems


def _problem(msg: str, *loc: str | int) -> PolicyProblem:
    return PolicyProblem(tuple(loc), msg)


def _code_problems(step: PolicyStep, i: int, seen_codes: set[str]) -> list[PolicyProblem]:
    """A valid code, not used by an earlier step; adds it to `seen_codes`."""
    if not isinstance(step.code, str) or not CODE_PATTERN.fullmatch(step.code):
        return [
            _problem(
                "code must match ^[a-z][a-z0-9_]{0,39}$ (lowercase letter first, then "
                "lowercase letters, digits or underscores)",
                "steps",
                i,
                "code",
            )
        ]
    if step.code in seen_codes:
        return [_problem(f"duplicate step code {step.code!r}", "steps", i, "code")]
    seen_codes.add(step.code)
    return []


def _step_problems(steps: tuple[PolicyStep, ...], i: int) -> list[PolicyProblem]:
    """What is wrong with the step at `i`, given the steps before it (its code aside)."""
    step = steps[i]
    problems: list[PolicyProblem] = []
    if step.kind not in STEP_KINDS:
        problems.append(
            _problem(f"kind must be one of {', '.join(STEP_KINDS)}", "steps", i, "kind")
        )
    if step.channel not in CHANNELS:
        problems.append(
            _problem(f"channel must be one of {', '.join(CHANNELS)}", "steps", i, "channel")
        )
    problems += _timing_problems(steps, i)
    if i > 0 and step.offset_days <= steps[i - 1].offset_days:
        problems.append(
            _problem(
                "offset_days must be strictly increasing from one step to the next",
                "steps",
                i,
                "offset_days",
            )
        )
    problems += _formal_notice_problems(steps, i)
    if step.min_amount is not None and (
        not isinstance(step.min_amount, Decimal)
        or not step.min_amount.is_finite()
        or step.min_amount < 0
    ):
        problems.append(
            _problem("min_amount must be a non-negative amount", "steps", i, "min_amount")
        )
    return problems


def _timing_problems(steps: tuple[PolicyStep, ...], i: int) -> list[PolicyProblem]:
    """A pre-reminder before the due date and before the other steps (one only); reminders and
    the formal notice after the due date."""
    step, before = steps[i], steps[:i]
    problems: list[PolicyProblem] = []
    if step.kind == "pre_reminder":
        if step.offset_days >= 0:
            problems.append(
                _problem(
                    "a pre-reminder is sent before the due date: offset_days must be negative",
                    "steps",
                    i,
                    "offset_days",
                )
            )
        if any(s.kind in ("reminder", "formal_notice") for s in before):
            problems.append(
                _problem("pre-reminder steps must come before all other steps", "steps", i, "kind")
            )
        if any(s.kind == "pre_reminder" for s in before):
            # The engine keys the pre-reminder event per invoice ("pre_reminder"): one only.
            problems.append(
                _problem("a policy has at most one pre-reminder step", "steps", i, "kind")
            )
    elif step.kind in ("reminder", "formal_notice") and step.offset_days < 1:
        problems.append(
            _problem(
                "reminders and the formal notice come after the due date: "
                "offset_days must be at least 1",
                "steps",
                i,
                "offset_days",
            )
        )
    return problems


def _formal_notice_problems(steps: tuple[PolicyStep, ...], i: int) -> list[PolicyProblem]:
    """One formal notice, last, by a formal channel; the formal channels for it only."""
    step = steps[i]
    problems: list[PolicyProblem] = []
    if step.kind == "formal_notice":
        if any(s.kind == "formal_notice" for s in steps[:i]):
            problems.append(
                _problem("a policy has at most one formal_notice step", "steps", i, "kind")
            )
        if i != len(steps) - 1:
            problems.append(
                _problem("the formal_notice step must be the last step", "steps", i, "kind")
            )
        if step.channel not in FORMAL_NOTICE_CHANNELS:
            problems.append(
                _problem(
                    "a formal notice is sent by registered_letter, lre or commissaire_de_justice",
                    "steps",
                    i,
                    "channel",
                )
            )
    elif step.kind in AMICABLE_KINDS and step.channel in FORMAL_NOTICE_CHANNELS:
        problems.append(
            _problem(
                f"{step.channel} is reserved for the formal notice; use email, phone, letter "
                "or sms for reminders",
                "steps",
                i,
                "channel",
            )
        )
    return problems


def _duration_problems(policy: Policy) -> list[PolicyProblem]:
    problems: list[PolicyProblem] = []
    lo, hi = legal.FORMAL_NOTICE_DEADLINE_MIN_DAYS, legal.FORMAL_NOTICE_DEADLINE_MAX_DAYS
    if not lo <= policy.formal_notice_deadline_days <= hi:
        problems.append(
            _problem(
                f"formal_notice_deadline_days must be between {lo} and {hi}",
                "formal_notice_deadline_days",
            )
        )
    if not 0 <= policy.promise_grace_days <= MAX_PROMISE_GRACE_DAYS:
        problems.append(
            _problem(
                f"promise_grace_days must be between 0 and {MAX_PROMISE_GRACE_DAYS}",
                "promise_grace_days",
            )
        )
    return problems


def _cap_problems(steps: tuple[PolicyStep, ...]) -> list[PolicyProblem]:
    # Amicable caps (seeds): calls, emails and letters, each counting the pre-reminder.
    contacts: dict[str, int] = {}
    for step in steps:
        capped = CAPPED_CHANNEL.get(step.channel)
        if step.kind in AMICABLE_KINDS and capped is not None:
            contacts[capped] = contacts.get(capped, 0) + 1
    problems: list[PolicyProblem] = []
    for channel, cap in legal.AMICABLE_CAPS.items():
        count = contacts.get(channel, 0)
        if count > cap:
            problems.append(
                _problem(
                    f"{count} {channel} contacts in the amicable phase exceed the cap of {cap} "
                    "(counting the pre-reminder)",
                    "steps",
                )
            )
    return problems
