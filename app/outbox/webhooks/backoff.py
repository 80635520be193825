"""When to retry a failed webhook delivery, and when to give up on an endpoint.

Pure functions: the instant is a parameter, randomness comes from an injectable `random.Random`.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from email.utils import parsedate_to_datetime

# Standard Webhooks' schedule: the n-th retry waits RETRY_SCHEDULE[n-1] after the n-th failure.
# 9 retries, 10 attempts, about 3 days from the first attempt to the last.
RETRY_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
    dt.timedelta(hours=20),
    dt.timedelta(hours=24),
)
# +/- 20 %: spreads the retries of many deliveries that failed together (receiver outage), so
# they do not all come back at the same instant.
JITTER = 0.2
# A receiver may ask us to wait, but not to hold a delivery for days.
RETRY_AFTER_CAP = dt.timedelta(hours=24)
# An endpoint that has failed without a single success for this long is disabled.
ENDPOINT_DISABLE_AFTER = dt.timedelta(days=5)

_DELTA_SECONDS = re.compile(r"[0-9]+")
# Shared default: jitter needs spread, not unpredictability, so a seeded PRNG is fine.
_DEFAULT_RNG = random.Random()  # noqa: S311


def _require_aware(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """The instant a `Retry-After` header asks us to wait until, or None if absent or garbage.

    Accepts delta-seconds (`120`) and an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`).
    The result is clamped to [now, now + 24 h] and is in UTC.
    """
    _require_aware("now", now)
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    now_utc = now.astimezone(dt.UTC)
    if _DELTA_SECONDS.fullmatch(text):
        # Clamp before building the timedelta: a 30-digit value would overflow it.
        seconds = min(int(text), int(RETRY_AFTER_CAP.total_seconds()))
        return now_utc + dt.timedelta(seconds=seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        # Python 3.11 raises TypeError on unparseable text; later versions ValueError.
        return None
    if when.tzinfo is None:
        # "-0000" yields a naive datetime; HTTP dates are always GMT (RFC 9110).
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return min(max(when, now_utc), now_utc + RETRY_AFTER_CAP)


def next_attempt_at(
    *,
    attempt: int,
    now: dt.datetime,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> dt.datetime | None:
    """When to make the next attempt after `attempt` failed ones (1 after the first failure).

    None once the schedule is exhausted: give up. Otherwise `now` + the scheduled delay +/- 20 %,
    but never earlier than what the receiver's `Retry-After` asked for. UTC.
    """
    _require_aware("now", now)
    if attempt < 1:
        raise ValueError("attempt counts the attempts already made and starts at 1")
    if attempt > len(RETRY_SCHEDULE):
        return None
    factor = (rng or _DEFAULT_RNG).uniform(1 - JITTER, 1 + JITTER)
    at = now.astimezone(dt.UTC) + RETRY_SCHEDULE[attempt - 1] * factor
    asked = parse_retry_after(retry_after, now)
    return max(at, asked) if asked is not None else at


def should_disable(first_failure_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether an endpoint failing continuously since `first_failure_at` should be disabled.

    `first_failure_at` is None when the last attempt succeeded (any success resets it).
    """
    _require_aware("now", now)
    if first_failure_at is None:
        return False
    _require_aware("first_failure_at", first_failure_at)
    return now - first_failure_at >= ENDPOINT_DISABLE_AFTER
