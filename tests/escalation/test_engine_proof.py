"""Issue 16, part 3: the pure engine reads a formal notice's proof events as inputs."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.escalation.engine import DEADLINE_KEY_PREFIX, RESEND_FORMAL_NOTICE, evaluate
from app.escalation.policy import DEFAULT_POLICY
from app.legal.calendar import FRENCH_CALENDAR
from app.legal.deadlines import PROOF_STATUSES, ProofFact
from tests.escalation.test_engine import action, invoice

D = dt.date
SENT = D(2026, 4, 20)


def _notice(*proof: ProofFact):
    return action("formal_notice", SENT, "registered_letter", "act_1", proof=proof)


def test_the_ar_reported_by_the_provider_starts_the_deadline():
    notice = _notice(ProofFact("presented", D(2026, 4, 21)), ProofFact("accepted", D(2026, 4, 22)))
    result = evaluate(invoice(), DEFAULT_POLICY, [notice], FRENCH_CALENDAR, D(2026, 4, 23))
    # Wednesday 22 April + 8 days = Thursday 30 April.
    assert result.formal_notice_deadline == D(2026, 4, 30)
    assert [o.key for o in result.planned if o.key.startswith(DEADLINE_KEY_PREFIX)] == [
        "formal_notice_deadline:act_1"
    ]
    assert result.stage == "formal_notice_sent"


def test_a_returned_notice_runs_no_deadline_and_asks_to_send_it_again():
    notice = _notice(ProofFact("returned", D(2026, 4, 24)))
    result = evaluate(invoice(), DEFAULT_POLICY, [notice], FRENCH_CALENDAR, D(2026, 6, 1))
    assert result.formal_notice_deadline is None
    assert not any(o.key.startswith(DEADLINE_KEY_PREFIX) for o in (*result.due, *result.planned))
    assert result.stage == "formal_notice_required"
    assert result.next_step == RESEND_FORMAL_NOTICE


@given(
    st.lists(
        st.builds(
            ProofFact,
            st.sampled_from(PROOF_STATUSES),
            st.dates(min_value=SENT, max_value=D(2026, 6, 30)),
        ),
        max_size=5,
    ),
    st.dates(min_value=SENT, max_value=D(2027, 6, 30)),
)
def test_no_sequence_of_reports_runs_a_deadline_for_a_returned_letter(proof, today):
    result = evaluate(invoice(), DEFAULT_POLICY, [_notice(*proof)], FRENCH_CALENDAR, today)
    if result.next_step == RESEND_FORMAL_NOTICE:
        assert result.formal_notice_deadline is None
        assert not any(o.key.startswith(DEADLINE_KEY_PREFIX) for o in result.due)
    if result.formal_notice_deadline is None:
        assert result.stage != "litigation"
