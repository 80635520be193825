from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.outbox.webhooks.backoff import (
    ENDPOINT_DISABLE_AFTER,
    RETRY_AFTER_CAP,
    RETRY_SCHEDULE,
    next_attempt_at,
    parse_retry_after,
    should_disable,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
aware_instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


def test_schedule_values() -> None:
    assert (
        dt.timedelta(seconds=5),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=30),
        dt.timedelta(hours=2),
        dt.timedelta(hours=5),
        dt.timedelta(hours=10),
        dt.timedelta(hours=14),
        dt.timedelta(hours=20),
        dt.timedelta(hours=24),
    ) == RETRY_SCHEDULE
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    total = sum(RETRY_SCHEDULE, dt.timedelta())
    assert dt.timedelta(days=3) <= total <= dt.timedelta(days=3, hours=6)  # "about 3 days"


@given(
    attempt=st.integers(min_value=1, max_value=len(RETRY_SCHEDULE)),
    seed=st.integers(),
    now=aware_instants,
)
def test_next_attempt_within_jitter(attempt: int, seed: int, now: dt.datetime) -> None:
    at = next_attempt_at(attempt=attempt, now=now, rng=random.Random(seed))
    assert at is not None
    delay = RETRY_SCHEDULE[attempt - 1]
    assert now + delay * 0.8 <= at <= now + delay * 1.2
    assert at.utcoffset() == dt.timedelta(0)


@given(attempt=st.integers(min_value=len(RETRY_SCHEDULE) + 1, max_value=10_000), seed=st.integers())
def test_exhausted_schedule_gives_up(attempt: int, seed: int) -> None:
    assert next_attempt_at(attempt=attempt, now=NOW, rng=random.Random(seed)) is None
    assert next_attempt_at(attempt=attempt, now=NOW, retry_after="60") is None


def test_whole_schedule_then_none() -> None:
    rng = random.Random(1)
    planned = [next_attempt_at(attempt=n, now=NOW, rng=rng) for n in range(1, 11)]
    assert all(p is not None for p in planned[:9])
    assert planned[9] is None


def test_jitter_actually_varies() -> None:
    rng = random.Random(7)
    seen = {next_attempt_at(attempt=4, now=NOW, rng=rng) for _ in range(20)}
    assert len(seen) > 10


def test_seeded_rng_is_reproducible() -> None:
    first = next_attempt_at(attempt=3, now=NOW, rng=random.Random(42))
    assert first == next_attempt_at(attempt=3, now=NOW, rng=random.Random(42))


def test_default_rng_stays_in_bounds() -> None:
    at = next_attempt_at(attempt=2, now=NOW)
    assert at is not None
    assert NOW + dt.timedelta(minutes=4) <= at <= NOW + dt.timedelta(minutes=6)


def test_attempt_starts_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        next_attempt_at(attempt=0, now=NOW)


def test_result_is_utc_for_non_utc_now() -> None:
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    at = next_attempt_at(attempt=1, now=paris, rng=random.Random(0))
    assert at is not None
    assert at.tzinfo == dt.UTC
    assert NOW + dt.timedelta(seconds=4) <= at <= NOW + dt.timedelta(seconds=6)


def test_naive_now_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_attempt_at(attempt=1, now=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        parse_retry_after("10", dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        should_disable(None, dt.datetime(2026, 1, 1))


# --- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", NOW + dt.timedelta(seconds=120)),
        (" 120 ", NOW + dt.timedelta(seconds=120)),
        ("0", NOW),
        ("Mon, 02 Mar 2026 10:30:00 GMT", NOW + dt.timedelta(hours=1, minutes=30)),
        ("Mon, 02 Mar 2026 11:30:00 +0100", NOW + dt.timedelta(hours=1, minutes=30)),
        ("Mon, 02 Mar 2026 10:30:00 -0000", NOW + dt.timedelta(hours=1, minutes=30)),
        # In the past: "now", which next_attempt_at then ignores.
        ("Sun, 01 Mar 2026 09:00:00 GMT", NOW),
        # Capped at 24 h.
        ("86401", NOW + RETRY_AFTER_CAP),
        ("9" * 40, NOW + RETRY_AFTER_CAP),
        ("Fri, 01 Jan 2027 00:00:00 GMT", NOW + RETRY_AFTER_CAP),
    ],
)
def test_parse_retry_after(header: str, expected: dt.datetime) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "soon", "-5", "1.5", "+10", "1e3", "0x10", "Mon, 99 Foo 2026", "٣"],
)
def test_garbage_retry_after_ignored(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None
    at = next_attempt_at(attempt=2, now=NOW, retry_after=header, rng=random.Random(3))
    assert at == next_attempt_at(attempt=2, now=NOW, rng=random.Random(3))


@given(header=st.text(max_size=60), now=aware_instants)
def test_parse_retry_after_never_raises(header: str, now: dt.datetime) -> None:
    when = parse_retry_after(header, now)
    if when is not None:
        assert now <= when <= now + RETRY_AFTER_CAP


def test_retry_after_seconds_delays_the_attempt() -> None:
    # Schedule says ~5 s; the receiver asks for 10 minutes.
    at = next_attempt_at(attempt=1, now=NOW, retry_after="600", rng=random.Random(0))
    assert at == NOW + dt.timedelta(minutes=10)


def test_retry_after_date_delays_the_attempt() -> None:
    at = next_attempt_at(
        attempt=2, now=NOW, retry_after="Mon, 02 Mar 2026 12:00:00 GMT", rng=random.Random(0)
    )
    assert at == NOW + dt.timedelta(hours=3)


def test_retry_after_never_brings_the_attempt_forward() -> None:
    # Schedule says ~2 h; "retry in 1 s" does not shorten it.
    at = next_attempt_at(attempt=4, now=NOW, retry_after="1", rng=random.Random(0))
    assert at is not None
    assert at >= NOW + dt.timedelta(hours=2) * 0.8


def test_retry_after_capped_in_next_attempt() -> None:
    at = next_attempt_at(attempt=1, now=NOW, retry_after="604800", rng=random.Random(0))
    assert at == NOW + dt.timedelta(hours=24)


@given(
    attempt=st.integers(min_value=1, max_value=len(RETRY_SCHEDULE)),
    seconds=st.integers(min_value=0, max_value=10**12),
    seed=st.integers(),
)
def test_next_attempt_is_max_of_schedule_and_retry_after(
    attempt: int, seconds: int, seed: int
) -> None:
    at = next_attempt_at(
        attempt=attempt, now=NOW, retry_after=str(seconds), rng=random.Random(seed)
    )
    plain = next_attempt_at(attempt=attempt, now=NOW, rng=random.Random(seed))
    assert at is not None
    assert plain is not None
    asked = NOW + min(dt.timedelta(seconds=seconds), RETRY_AFTER_CAP)
    assert at == max(plain, asked)


# --- disabling endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_failure_at", "expected"),
    [
        (None, False),
        (NOW, False),
        (NOW - dt.timedelta(days=4, hours=23), False),
        (NOW - ENDPOINT_DISABLE_AFTER, True),
        (NOW - dt.timedelta(days=30), True),
    ],
)
def test_should_disable(first_failure_at: dt.datetime | None, expected: bool) -> None:
    assert dt.timedelta(days=5) == ENDPOINT_DISABLE_AFTER
    assert should_disable(first_failure_at, NOW) is expected


def test_should_disable_compares_instants_across_zones() -> None:
    paris_now = NOW.astimezone(ZoneInfo("Europe/Paris"))
    assert should_disable(NOW - dt.timedelta(days=5), paris_now)
    assert not should_disable(NOW - dt.timedelta(days=5) + dt.timedelta(seconds=1), paris_now)
