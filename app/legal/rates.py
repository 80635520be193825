"""Interest rates by half-year: the default B2B late-penalty rate and the taux d'intérêt légal.

Figures come from app.legal.figures only (plus half-years an operator adds later). A half-year with
no published rate is never invented silently: the last known rate is used and flagged
``provisional``, with a ``source`` saying which half-year it comes from.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

from app.legal import figures as legal

RateKind = Literal["b2b_default", "legal_individual", "legal_other"]
RATE_KINDS: tuple[RateKind, ...] = get_args(RateKind)

HalfYear = tuple[int, int]  # (year, 1 | 2)


@dataclass(frozen=True)
class RateForPeriod:
    rate: Decimal  # percent per year
    provisional: bool  # True when the half-year's own rate is not known
    source: str  # e.g. "published 2026H1", "last known 2026H1 (2026H2 not yet published)"


def half_year_of(d: dt.date) -> HalfYear:
    return (d.year, 1 if d.month <= 6 else 2)


def half_year_start(year: int, half: int) -> dt.date:
    return dt.date(year, 1 if half == 1 else 7, 1)


def next_half_year_start(d: dt.date) -> dt.date:
    """The 1 January or 1 July strictly after d."""
    return dt.date(d.year, 7, 1) if d.month <= 6 else dt.date(d.year + 1, 1, 1)


def _label(hy: HalfYear) -> str:
    return f"{hy[0]}H{hy[1]}"


def _check_half(year: int, half: int) -> None:
    if half not in (1, 2):
        raise ValueError(f"half must be 1 or 2, got {half}")
    if not 1 <= year <= 9998:
        raise ValueError(f"year out of range: {year}")


_TABLES: dict[RateKind, tuple[legal.HalfYearRate, ...]] = {
    "b2b_default": legal.B2B_DEFAULT_PENALTY_RATE,
    "legal_individual": legal.LEGAL_INTEREST_RATE_INDIVIDUAL,
    "legal_other": legal.LEGAL_INTEREST_RATE_OTHER,
}


class RateBook:
    """Rates from app.legal.figures, extended or overridden by ``extra`` (kind, year, half, rate)
    rows: the half-years an operator adds when a new rate is published."""

    def __init__(self, extra: Iterable[tuple[RateKind, int, int, Decimal]] = ()) -> None:
        self._published: dict[RateKind, dict[HalfYear, Decimal]] = {
            kind: {(r.year, r.half): r.rate for r in table} for kind, table in _TABLES.items()
        }
        self._added: set[tuple[RateKind, HalfYear]] = set()
        for kind, year, half, rate in extra:
            if kind not in RATE_KINDS:
                raise ValueError(f"unknown rate kind: {kind!r}")
            _check_half(year, half)
            if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
                raise ValueError(f"rate must be a finite, non-negative Decimal: {rate!r}")
            self._published[kind][(year, half)] = rate
            self._added.add((kind, (year, half)))
        self._ecb_dates = [d for d, _ in legal.ECB_MAIN_REFINANCING_RATE]
        self._ecb_rates = [r for _, r in legal.ECB_MAIN_REFINANCING_RATE]
        # The book is immutable: resolve every known half-year once.
        self._known = {kind: self._build_known(kind) for kind in RATE_KINDS}

    # --- ECB --------------------------------------------------------------------------------
    def ecb_known_on(self, d: dt.date) -> bool:
        """Whether the ECB table tells the rate in force on d."""
        return self._ecb_dates[0] <= d <= legal.ECB_RATE_KNOWN_UNTIL

    def ecb_rate_on(self, d: dt.date) -> Decimal:
        """ECB main refinancing rate in force on d. Raises LookupError outside the table's
        knowledge (before its first entry or after legal.ECB_RATE_KNOWN_UNTIL)."""
        if not self.ecb_known_on(d):
            raise LookupError(
                f"ECB rate on {d.isoformat()} unknown (table covers "
                f"{self._ecb_dates[0].isoformat()} to {legal.ECB_RATE_KNOWN_UNTIL.isoformat()})"
            )
        return self._ecb_rates[bisect_right(self._ecb_dates, d) - 1]

    def ecb_derived_b2b_rate(self, year: int, half: int) -> Decimal | None:
        """ECB rate on 1 January / 1 July + the legal margin, or None when that day is not
        covered by the ECB table (C. com. L441-10)."""
        _check_half(year, half)
        start = half_year_start(year, half)
        if not self.ecb_known_on(start):
            return None
        return self.ecb_rate_on(start) + legal.B2B_PENALTY_MARGIN_POINTS

    # --- Half-year rates ----------------------------------------------------------------------
    def _build_known(self, kind: RateKind) -> dict[HalfYear, tuple[Decimal, str]]:
        """Every half-year whose own rate is known, with its source."""
        known: dict[HalfYear, tuple[Decimal, str]] = {}
        if kind == "b2b_default":
            # Every half-year whose 1 Jan / 1 Jul the ECB table covers.
            hy = half_year_of(self._ecb_dates[0])
            if half_year_start(*hy) < self._ecb_dates[0]:
                hy = half_year_of(next_half_year_start(self._ecb_dates[0]))
            while self.ecb_known_on(half_year_start(*hy)):
                start = half_year_start(*hy)
                ecb = self.ecb_rate_on(start)
                known[hy] = (
                    ecb + legal.B2B_PENALTY_MARGIN_POINTS,
                    f"derived {_label(hy)}: ECB {ecb} on {start.isoformat()} "
                    f"+ {legal.B2B_PENALTY_MARGIN_POINTS} points",
                )
                hy = half_year_of(next_half_year_start(start))
        # Published (and operator-added) values win over derived ones.
        for hy, rate in self._published[kind].items():
            added = " (added)" if (kind, hy) in self._added else ""
            known[hy] = (rate, f"published {_label(hy)}{added}")
        return known

    def rate_for(self, kind: RateKind, year: int, half: int) -> RateForPeriod:
        if kind not in RATE_KINDS:
            raise ValueError(f"unknown rate kind: {kind!r}")
        _check_half(year, half)
        hy = (year, half)
        known = self._known[kind]
        if hy in known:
            rate, source = known[hy]
            return RateForPeriod(rate=rate, provisional=False, source=source)
        earlier = [k for k in known if k < hy]
        if earlier:
            last = max(earlier)
            return RateForPeriod(
                rate=known[last][0],
                provisional=True,
                source=f"last known {_label(last)} ({_label(hy)} not yet published)",
            )
        first = min(known)
        return RateForPeriod(
            rate=known[first][0],
            provisional=True,
            source=f"earliest known {_label(first)} ({_label(hy)} precedes the rate table)",
        )

    def half_years(self, kind: RateKind) -> list[tuple[int, int, Decimal]]:
        """Every half-year whose own rate is known (rate_for is not provisional), in order."""
        if kind not in RATE_KINDS:
            raise ValueError(f"unknown rate kind: {kind!r}")
        known = self._known[kind]
        return [(y, h, known[(y, h)][0]) for (y, h) in sorted(known)]
