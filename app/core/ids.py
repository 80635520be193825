"""Opaque, time-ordered ids with a type prefix (`inv_01J...`): sortable, so lists can page by id.

The 26 characters after the prefix are a ULID (https://github.com/ulid/spec): 48 bits of the
real time in milliseconds, then 80 random bits, in Crockford's base 32, monotonic within this
process (a second id in the same millisecond takes the first's random part plus one). Made here
rather than by python-ulid (which reads them, and made them until 2026-12-03): its `str(ULID())`
cost 6 to 12 us, where this costs 2, and a batch of 1,000 invoices makes 1,000 ids
(bench/README.md, tenth session). `tests/core/test_ids.py` checks them against python-ulid.
"""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every pair of characters, for each 10 bits: 13 lookups make the 130 bits of 26 characters.
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_SHIFTS = range(120, -1, -10)
_RANDOM_BITS = 80

_lock = threading.Lock()  # the sweep's threads make ids too
_last_millis = 0
_last_random = 0


def _next_ulid() -> int:
    global _last_millis, _last_random
    millis = time.time_ns() // 1_000_000
    with _lock:
        if millis <= _last_millis:  # the same millisecond (or the clock stepped back)
            millis, random = _last_millis, _last_random + 1
            if random >> _RANDOM_BITS:  # 2^80 ids in one millisecond: the next one's
                millis, random = millis + 1, int.from_bytes(os.urandom(10))
        else:
            random = int.from_bytes(os.urandom(10))
        _last_millis, _last_random = millis, random
    return millis << _RANDOM_BITS | random


def new_id(prefix: str) -> str:
    value = _next_ulid()
    return f"{prefix}_{''.join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])}"
