"""Issue 16, part 3: what a registered letter's proof events say about when a mise en demeure took
effect (app.legal.deadlines.letter_effect), in any order."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.legal import deadlines
from app.legal.calendar import FRENCH_CALENDAR
from app.legal.deadlines import PROOF_STATUSES, ProofFact

DEPOSITED = ProofFact("deposited", dt.date(2026, 3, 2))
PRESENTED = ProofFact("presented", dt.date(2026, 3, 3))  # Tuesday
ACCEPTED = ProofFact("accepted", dt.date(2026, 3, 5))  # Thursday


def _deadline(*facts: ProofFact, presented_on: dt.date | None = None) -> dt.date | None:
    return deadlines.formal_notice_deadline(
        served_on=None,
        acknowledged_on=None,
        presented_on=presented_on,
        days=8,
        calendar=FRENCH_CALENDAR,
        proof=facts,
    )


def test_accepted_starts_at_the_ar():
    # 5 March + 8 days = Friday 13 March.
    assert _deadline(DEPOSITED, PRESENTED, ACCEPTED) == dt.date(2026, 3, 13)


@pytest.mark.parametrize(
    ("status", "on"),
    [
        ("refused", dt.date(2026, 3, 4)),
        ("neglected", dt.date(2026, 3, 18)),  # an LRE left 15 days
        ("not_claimed", dt.date(2026, 3, 18)),  # an LRAR left at the post office
    ],
)
def test_a_letter_not_taken_starts_at_its_first_presentation(status, on):
    # Presented on Tuesday 3 March: + 8 days = Wednesday 11 March, whatever came later.
    assert _deadline(DEPOSITED, PRESENTED, ProofFact(status, on)) == dt.date(2026, 3, 11)


def test_the_first_presentation_counts_when_there_were_several():
    second = ProofFact("presented", dt.date(2026, 3, 6))
    refused = ProofFact("refused", dt.date(2026, 3, 6))
    assert _deadline(second, refused, PRESENTED) == dt.date(2026, 3, 11)


def test_a_presentation_alone_starts_nothing_the_letter_may_still_be_accepted():
    assert _deadline(DEPOSITED, PRESENTED) is None
    assert _deadline(DEPOSITED) is None


def test_a_refusal_without_a_presentation_counts_from_its_own_day():
    # Never earlier than the (unknown) presentation: the debtor loses no day.
    assert _deadline(ProofFact("refused", dt.date(2026, 3, 4))) == dt.date(2026, 3, 12)


def test_a_presentation_typed_in_is_the_first_presentation_of_a_refused_letter():
    refused = ProofFact("refused", dt.date(2026, 3, 6))
    assert _deadline(refused, presented_on=dt.date(2026, 3, 3)) == dt.date(2026, 3, 11)


def test_a_returned_letter_starts_no_deadline_and_must_be_sent_again():
    returned = ProofFact("returned", dt.date(2026, 3, 6))
    effect = deadlines.letter_effect((DEPOSITED, returned), None)
    assert effect == deadlines.NoticeEffect(None, resend=True)
    assert _deadline(DEPOSITED, returned) is None


def test_an_acceptance_reported_after_a_return_wins():
    returned = ProofFact("returned", dt.date(2026, 3, 4))
    effect = deadlines.letter_effect((returned, ACCEPTED), None)
    assert effect == deadlines.NoticeEffect(ACCEPTED.on, resend=False)


def test_an_ar_typed_in_takes_precedence_over_the_events():
    effect = deadlines.notice_effect(
        served_on=None,
        acknowledged_on=dt.date(2026, 3, 4),
        presented_on=None,
        proof=(ProofFact("returned", dt.date(2026, 3, 6)),),
    )
    assert effect == deadlines.NoticeEffect(dt.date(2026, 3, 4))


def test_the_earliest_ar_counts_when_a_provider_reports_it_twice():
    later = ProofFact("accepted", dt.date(2026, 3, 9))
    assert _deadline(later, ACCEPTED) == dt.date(2026, 3, 13)


def test_a_deadline_ending_on_a_weekend_extends_to_monday():
    # Accepted Friday 6 March + 8 days = Saturday 14 -> Monday 16 March.
    assert _deadline(ProofFact("accepted", dt.date(2026, 3, 6))) == dt.date(2026, 3, 16)


facts = st.lists(
    st.builds(
        ProofFact,
        st.sampled_from(PROOF_STATUSES),
        st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)),
    ),
    max_size=6,
)


@given(facts)
def test_the_order_of_arrival_never_matters(events):
    expected = deadlines.letter_effect(events, None)
    for order in itertools.islice(itertools.permutations(events), 24):
        assert deadlines.letter_effect(order, None) == expected


@given(facts)
def test_a_returned_letter_never_runs_a_deadline(events):
    effect = deadlines.letter_effect(events, None)
    assert not (effect.resend and effect.start is not None)
