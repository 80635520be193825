"""The rate book as stored: the figures of app.legal.figures plus the half-years an operator
published since (`POST /v1/admin/rates`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import FieldError, Unprocessable
from app.legal.figures import Half
from app.legal.interest import minimum_contractual_rate
from app.legal.models import PublishedRate
from app.legal.rates import RateBook, RateKind


async def rate_book(session: AsyncSession) -> RateBook:
    rows = await session.execute(select(PublishedRate).order_by(PublishedRate.id))
    return RateBook(extra=[(r.kind, r.year, r.half, r.rate) for r in rows.scalars()])


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
