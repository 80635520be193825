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
# A half-year an operator published since the release: (kind, year, half, rate[, source]).
ExtraRate = tuple[RateKind, int, int, Decimal] | tuple[RateKind, int, int, Decimal, str]
# Which half-year, relative to today, a coverage gap is about.
Horizon = Literal["current", "next"]


@dataclass(frozen=True)
class RateForPeriod:
    rate: Decimal  # percent per year
    provisional: bool  # True when the half-year's own rate is not known
    source: str  # e.g. "published 2026H1", "last known 2026H1 (2026H2 not yet published)"


@dataclass(frozen=True)
class KnownRate:
    """A half-year whose own rate is known: published (figures or operator) or derived."""

    year: int
    half: int
    rate: Decimal
    source: str  # where the figure was read (figures.py note, operator's source, derivation)
    verified: bool  # False: read in a secondary source only (see figures.HalfYearRate)
    origin: Literal["figures", "operator", "derived"]


@dataclass(frozen=True)
class CoverageGap:
    """The current or next half-year of a kind has no published rate: claims over it use a
    provisional one until an operator records it."""

    kind: RateKind
    horizon: Horizon
    year: int
    half: int

    @property
    def label(self) -> str:
        return _label((self.year, self.half))


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
    """Rates from app.legal.figures, extended or overridden by ``extra`` (kind, year, half, rate
    [, source]) rows: the half-years an operator adds when a new rate is published."""

    def __init__(self, extra: Iterable[ExtraRate] = ()) -> None:
        self._published: dict[RateKind, dict[HalfYear, Decimal]] = {
            kind: {(r.year, r.half): r.rate for r in table} for kind, table in _TABLES.items()
        }
        self._notes: dict[tuple[RateKind, HalfYear], tuple[str, bool]] = {
            (kind, (r.year, r.half)): (r.source, r.verified)
            for kind, table in _TABLES.items()
            for r in table
        }
        self._added: set[tuple[RateKind, HalfYear]] = set()
        for row in extra:
            kind, year, half, rate = row[:4]
            if kind not in RATE_KINDS:
                raise ValueError(f"unknown rate kind: {kind!r}")
            _check_half(year, half)
            if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
                raise ValueError(f"rate must be a finite, non-negative Decimal: {rate!r}")
            self._published[kind][(year, half)] = rate
            self._added.add((kind, (year, half)))
            # An operator's record is the check of the publication itself: verified.
            self._notes[(kind, (year, half))] = (str(row[4]) if len(row) > 4 else "operator", True)
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
            estimate = self._b2b_estimate(kind, last, hy)
            if estimate is not None:
                return estimate
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

    def _b2b_estimate(self, kind: RateKind, last: HalfYear, hy: HalfYear) -> RateForPeriod | None:
        """A default B2B half-year beyond the ECB table's knowledge is estimated from the last
        ECB rate known (the rate in force on its 1 January / 1 July is not known yet), when the
        ECB table knows more than the last known half-year: 2027H1 is 2.65 (in force since
        2026-09-16) + 10 = 12.65, provisional, not 2026H2's 12.40."""
        if kind != "b2b_default" or half_year_start(*last) > legal.ECB_RATE_KNOWN_UNTIL:
            return None
        ecb = self.ecb_rate_on(legal.ECB_RATE_KNOWN_UNTIL)
        start = half_year_start(*hy)
        return RateForPeriod(
            rate=ecb + legal.B2B_PENALTY_MARGIN_POINTS,
            provisional=True,
            source=f"estimated {_label(hy)}: last known ECB {ecb} "
            f"(on {legal.ECB_RATE_KNOWN_UNTIL.isoformat()}) + {legal.B2B_PENALTY_MARGIN_POINTS}"
            f" points; the rate in force on {start.isoformat()} is not yet known",
        )

    def half_years(self, kind: RateKind) -> list[tuple[int, int, Decimal]]:
        """Every half-year whose own rate is known (rate_for is not provisional), in order."""
        if kind not in RATE_KINDS:
            raise ValueError(f"unknown rate kind: {kind!r}")
        known = self._known[kind]
        return [(y, h, known[(y, h)][0]) for (y, h) in sorted(known)]

    def known_rates(self, kind: RateKind) -> list[KnownRate]:
        """half_years() with where each figure comes from and whether it could be verified."""
        out = []
        for year, half, rate in self.half_years(kind):
            note = self._notes.get((kind, (year, half)))
            if note is None:  # derived from the ECB table, not listed in figures.py
                out.append(
                    KnownRate(year, half, rate, self._known[kind][(year, half)][1], True, "derived")
                )
                continue
            origin: Literal["figures", "operator"] = (
                "operator" if (kind, (year, half)) in self._added else "figures"
            )
            out.append(KnownRate(year, half, rate, note[0], note[1], origin))
        return out

    def coverage_gaps(self, today: dt.date) -> list[CoverageGap]:
        """The kinds whose current or next half-year (relative to ``today``) has no known rate.
        Claims over such a half-year use a provisional rate; operators are told (GET /v1/rates,
        the ``relance_rate_unpublished`` gauge, a warning in the log)."""
        horizons: tuple[tuple[Horizon, HalfYear], ...] = (
            ("current", half_year_of(today)),
            ("next", half_year_of(next_half_year_start(today))),
        )
        return [
            CoverageGap(kind, horizon, *hy)
            for kind in RATE_KINDS
            for horizon, hy in horizons
            if hy not in self._known[kind]
        ]
