import dataclasses
from decimal import Decimal

import pytest

from app.escalation.policy import (
    DEFAULT_POLICY,
    Policy,
    PolicyProblem,
    PolicyStep,
    validate_policy,
)
from app.legal import figures as legal


def steps(*specs: tuple[str, str, str, int]) -> tuple[PolicyStep, ...]:
    return tuple(PolicyStep(code, kind, channel, offset) for code, kind, channel, offset in specs)  # type: ignore[arg-type]


def msgs(policy: Policy) -> list[str]:
    return [p.msg for p in validate_policy(policy)]


def locs(policy: Policy) -> list[tuple[str | int, ...]]:
    return [p.loc for p in validate_policy(policy)]


def test_default_policy_is_the_seeds_one_and_valid():
    assert validate_policy(DEFAULT_POLICY) == []
    assert [(s.code, s.kind, s.channel, s.offset_days) for s in DEFAULT_POLICY.steps] == [
        ("pre_reminder", "pre_reminder", "email", -7),
        ("reminder_1", "reminder", "email", 3),
        ("reminder_2", "reminder", "letter", 15),
        ("formal_notice", "formal_notice", "registered_letter", 30),
    ]
    assert DEFAULT_POLICY.formal_notice_deadline_days == legal.FORMAL_NOTICE_DEADLINE_DEFAULT_DAYS
    assert DEFAULT_POLICY.promise_grace_days == 3


def test_needs_a_step():
    assert locs(Policy(steps=())) == [("steps",)]


def test_a_single_reminder_is_enough():
    assert validate_policy(Policy(steps=steps(("r", "reminder", "email", 1)))) == []


@pytest.mark.parametrize("code", ["", "Reminder", "1st", "r-1", "r" * 41, "é"])
def test_code_pattern(code):
    policy = Policy(steps=(PolicyStep(code, "reminder", "email", 3),))
    assert locs(policy) == [("steps", 0, "code")]


def test_codes_are_unique():
    policy = Policy(steps=steps(("r", "reminder", "email", 3), ("r", "reminder", "letter", 10)))
    assert locs(policy) == [("steps", 1, "code")]
    assert "duplicate" in msgs(policy)[0]


def test_pre_reminder_before_due_date_and_first():
    late = Policy(steps=steps(("pre", "pre_reminder", "email", 0)))
    assert locs(late) == [("steps", 0, "offset_days")]
    after = Policy(steps=steps(("r", "reminder", "email", 3), ("pre", "pre_reminder", "email", 5)))
    problems = validate_policy(after)
    assert ("steps", 1, "kind") in [p.loc for p in problems]
    assert ("steps", 1, "offset_days") in [p.loc for p in problems]  # not negative


def test_at_most_one_pre_reminder():
    policy = Policy(
        steps=steps(("pre1", "pre_reminder", "email", -10), ("pre2", "pre_reminder", "phone", -5))
    )
    assert locs(policy) == [("steps", 1, "kind")]


def test_reminder_offsets_at_least_one():
    assert locs(Policy(steps=steps(("r", "reminder", "email", 0)))) == [("steps", 0, "offset_days")]
    assert locs(Policy(steps=steps(("f", "formal_notice", "registered_letter", -1)))) == [
        ("steps", 0, "offset_days")
    ]


def test_offsets_strictly_increasing():
    policy = Policy(steps=steps(("a", "reminder", "email", 5), ("b", "reminder", "letter", 5)))
    assert locs(policy) == [("steps", 1, "offset_days")]
    policy = Policy(steps=steps(("a", "reminder", "email", 9), ("b", "reminder", "letter", 5)))
    assert locs(policy) == [("steps", 1, "offset_days")]


def test_formal_notice_once_last_and_registered():
    two = Policy(
        steps=steps(
            ("f1", "formal_notice", "registered_letter", 20),
            ("f2", "formal_notice", "registered_letter", 30),
        )
    )
    assert locs(two) == [("steps", 0, "kind"), ("steps", 1, "kind")]  # f1 not last; f2 a second
    not_last = Policy(
        steps=steps(("f", "formal_notice", "registered_letter", 20), ("r", "reminder", "email", 30))
    )
    assert locs(not_last) == [("steps", 0, "kind")]
    by_email = Policy(steps=steps(("f", "formal_notice", "email", 20)))
    assert locs(by_email) == [("steps", 0, "channel")]
    by_cdj = Policy(steps=steps(("f", "formal_notice", "commissaire_de_justice", 20)))
    assert validate_policy(by_cdj) == []


@pytest.mark.parametrize("channel", ["registered_letter", "commissaire_de_justice"])
def test_formal_channels_are_not_for_reminders(channel):
    policy = Policy(steps=steps(("r", "reminder", channel, 3)))
    assert locs(policy) == [("steps", 0, "channel")]
    policy = Policy(steps=steps(("p", "pre_reminder", channel, -3)))
    assert locs(policy) == [("steps", 0, "channel")]


def test_unknown_kind_and_channel():
    policy = Policy(steps=steps(("r", "nudge", "pigeon", 3)))
    assert locs(policy) == [("steps", 0, "kind"), ("steps", 0, "channel")]


def test_formal_notice_deadline_within_legal_bounds():
    lo, hi = legal.FORMAL_NOTICE_DEADLINE_MIN_DAYS, legal.FORMAL_NOTICE_DEADLINE_MAX_DAYS
    for days in (lo, hi):
        assert (
            validate_policy(dataclasses.replace(DEFAULT_POLICY, formal_notice_deadline_days=days))
            == []
        )
    for days in (lo - 1, hi + 1):
        policy = dataclasses.replace(DEFAULT_POLICY, formal_notice_deadline_days=days)
        assert locs(policy) == [("formal_notice_deadline_days",)]


def test_promise_grace_days_bounds():
    for days in (0, 30):
        assert validate_policy(dataclasses.replace(DEFAULT_POLICY, promise_grace_days=days)) == []
    for days in (-1, 31):
        policy = dataclasses.replace(DEFAULT_POLICY, promise_grace_days=days)
        assert locs(policy) == [("promise_grace_days",)]


def test_min_amount_non_negative():
    ok = Policy(steps=(PolicyStep("pre", "pre_reminder", "email", -7, Decimal("0")),))
    assert validate_policy(ok) == []
    for bad in (Decimal("-1"), Decimal("NaN")):
        policy = Policy(steps=(PolicyStep("pre", "pre_reminder", "email", -7, bad),))
        assert locs(policy) == [("steps", 0, "min_amount")]


def test_email_cap_counts_the_pre_reminder():
    policy = Policy(
        steps=steps(
            ("pre", "pre_reminder", "email", -7),
            ("r1", "reminder", "email", 3),
            ("r2", "reminder", "email", 10),
            ("r3", "reminder", "email", 20),
            ("f", "formal_notice", "registered_letter", 30),
        )
    )
    msg = "4 email contacts in the amicable phase exceed the cap of 3 (counting the pre-reminder)"
    assert validate_policy(policy) == [PolicyProblem(("steps",), msg)]


def test_phone_and_letter_caps_and_sms_uncapped():
    phone = Policy(steps=tuple(PolicyStep(f"c{i}", "reminder", "phone", i) for i in range(1, 5)))
    assert msgs(phone) == [
        "4 phone contacts in the amicable phase exceed the cap of 3 (counting the pre-reminder)"
    ]
    letter = Policy(steps=tuple(PolicyStep(f"l{i}", "reminder", "letter", i) for i in range(1, 5)))
    assert msgs(letter) == [
        "4 letter contacts in the amicable phase exceed the cap of 3 (counting the pre-reminder)"
    ]
    sms = Policy(steps=tuple(PolicyStep(f"s{i}", "reminder", "sms", i) for i in range(1, 8)))
    assert validate_policy(sms) == []


def test_exactly_at_the_caps_is_fine():
    policy = Policy(
        steps=(
            PolicyStep("pre", "pre_reminder", "email", -7),
            *(PolicyStep(f"e{i}", "reminder", "email", i) for i in (1, 2)),
            *(PolicyStep(f"p{i}", "reminder", "phone", i) for i in (3, 4, 5)),
            *(PolicyStep(f"l{i}", "reminder", "letter", i) for i in (6, 7, 8)),
            PolicyStep("f", "formal_notice", "registered_letter", 30),
        )
    )
    assert validate_policy(policy) == []


def test_reports_every_problem_at_once():
    policy = Policy(
        steps=steps(
            ("Bad", "reminder", "registered_letter", 0), ("f", "formal_notice", "email", 0)
        ),
        formal_notice_deadline_days=30,
        promise_grace_days=99,
    )
    assert sorted(locs(policy), key=str) == [
        ("formal_notice_deadline_days",),
        ("promise_grace_days",),
        ("steps", 0, "channel"),
        ("steps", 0, "code"),
        ("steps", 0, "offset_days"),
        ("steps", 1, "channel"),
        ("steps", 1, "offset_days"),  # not after the due date
        ("steps", 1, "offset_days"),  # not after the previous step
    ]
