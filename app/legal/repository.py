"""The rate book as stored: the figures of app.legal.figures plus the half-years an operator
published since (`POST /v1/admin/rates`)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, Unprocessable
from app.core.metrics import RATE_UNPUBLISHED
from app.legal.figures import Half
from app.legal.interest import Claim, minimum_contractual_rate
from app.legal.models import PublishedRate
from app.legal.rates import RATE_KINDS, CoverageGap, RateBook, RateKind, half_year_of

log = logging.getLogger("relance.rates")

# The gaps already logged by this process, as (kind, "2026H2"): each is warned about once, not
# on every claim.
_warned: set[tuple[str, str]] = set()


async def rate_book(session: AsyncSession) -> RateBook:
    rows = await session.execute(select(PublishedRate).order_by(PublishedRate.id))
    return RateBook(extra=[(r.kind, r.year, r.half, r.rate, r.source) for r in rows.scalars()])


def report_coverage(book: RateBook, today: dt.date) -> list[CoverageGap]:
    """Publish which current or next half-years have no rate: the relance_rate_unpublished
    gauge (0 or 1 per kind and horizon) and one warning per gap and process. Called at
    start-up, by the scheduler's tick, by GET /v1/rates and when a rate is recorded."""
    gaps = book.coverage_gaps(today)
    missing = {(g.kind, g.horizon) for g in gaps}
    for kind in RATE_KINDS:
        for horizon in ("current", "next"):
            RATE_UNPUBLISHED.labels(kind=kind, horizon=horizon).set(
                1 if (kind, horizon) in missing else 0
            )
    for gap in gaps:
        if (gap.kind, gap.label) in _warned:
            continue
        _warned.add((gap.kind, gap.label))
        found = book.rate_for(gap.kind, gap.year, gap.half)
        log.warning(
            "no published %s rate for %s (the %s half-year): claims use %s%% (%s), flagged "
            "provisional, until an operator records it (relance rates add %s %d %d RATE "
            "--source ...)",
            gap.kind,
            gap.label,
            gap.horizon,
            found.rate,
            found.source,
            gap.kind,
            gap.year,
            gap.half,
        )
    return gaps


async def check_coverage(session: AsyncSession, today: dt.date) -> list[CoverageGap]:
    return report_coverage(await rate_book(session), today)


def warn_if_provisional(claim: Claim) -> None:
    """When computing: a claim over a half-year with no published rate is warned about once
    per (kind, half-year) and process, as report_coverage does for today's half-years."""
    # A contractual claim is provisional only where the floor (3 x taux légal) applied.
    kind = "legal_other" if claim.rate_basis == "contractual" else claim.rate_basis
    for period in claim.interest_periods:
        if not period.provisional:
            continue
        year, half = half_year_of(period.start)
        label = f"{year}H{half}"
        if (kind, label) in _warned:
            continue
        _warned.add((kind, label))
        log.warning(
            "a claim uses a provisional %s rate for %s (%s%%): no published rate yet; record it "
            "with relance rates add %s %d %d RATE --source ...",
            kind,
            label,
            period.rate,
            kind,
            year,
            half,
        )


async def publish_rate(
    session: AsyncSession, kind: RateKind, year: int, half: Half, rate: Decimal, source: str
) -> None:
    """Record (or correct) the published rate of a half-year."""
    await session.execute(
        insert(PublishedRate)
        .values(kind=kind, year=year, half=half, rate=rate, source=source)
        .on_conflict_do_update(
            index_elements=[PublishedRate.kind, PublishedRate.year, PublishedRate.half],
            set_={"rate": rate, "source": source},
        )
    )


async def check_contractual_rate(
    session: AsyncSession, rate: Decimal | None, on: dt.date, loc: list[str | int]
) -> None:
    """C. com. L441-10: a contractual rate may not be below 3 x the taux d'intérêt légal."""
    if rate is None:
        return
    floor = minimum_contractual_rate(on, await rate_book(session))
    if rate < floor:
        raise Unprocessable(
            f"A contractual late-penalty rate of {rate}% is below the legal floor of {floor}% "
            "(3 x the taux d'intérêt légal, C. com. L441-10).",
            errors=[FieldError(loc=loc, msg=f"below the legal floor of {floor}%")],
        )
