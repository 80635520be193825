"""The ids: ULIDs as python-ulid reads them, in the real time, monotonic, unique across threads."""

from __future__ import annotations

import datetime as dt
import threading
import time

from ulid import ULID

from app.core import ids
from app.core.ids import new_id


def test_an_id_is_a_prefixed_ulid_of_the_real_time():
    before = dt.datetime.now(dt.UTC)
    made = new_id("inv")
    after = dt.datetime.now(dt.UTC)
    prefix, _, rest = made.partition("_")
    assert prefix == "inv"
    assert len(rest) == 26
    parsed = ULID.from_str(rest)
    assert str(parsed) == rest  # canonical: upper case, no confusable letters
    assert before - dt.timedelta(milliseconds=1) <= parsed.datetime <= after


def test_ids_are_strictly_increasing_and_unique():
    made = [new_id("x") for _ in range(20_000)]  # many in each millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    values = [int(ULID.from_str(m[2:])) for m in made[:2]]
    if values[0] >> 80 == values[1] >> 80:  # the same millisecond: the next random part
        assert values[1] == values[0] + 1


def test_a_clock_stepping_back_keeps_the_order(monkeypatch):
    first = new_id("x")
    monkeypatch.setattr(time, "time_ns", lambda: 1_000_000_000_000_000)  # 2001
    second = new_id("x")
    assert second > first
    assert ULID.from_str(second[2:]).milliseconds == ULID.from_str(first[2:]).milliseconds


def test_the_random_part_overflowing_moves_to_the_next_millisecond(monkeypatch):
    new_id("x")
    monkeypatch.setattr(ids, "_last_random", (1 << 80) - 1)
    millis = ids._last_millis
    after = ULID.from_str(new_id("x")[2:])
    assert after.milliseconds == millis + 1


def test_threads_never_make_the_same_id():
    made: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        out.extend(new_id("x") for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [m for out in made for m in out]
    assert len(set(every)) == len(every)
    assert all(out == sorted(out) for out in made)
