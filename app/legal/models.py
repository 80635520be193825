from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Integer, Numeric, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.legal.figures import Half
from app.legal.rates import RateKind


class PublishedRate(Base):
    """A half-year rate published after the release (operators add them each June and December);
    it extends or overrides the sourced table in app/core/legal.py."""

    __tablename__ = "published_rates"
    __table_args__ = (UniqueConstraint("kind", "year", "half"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[RateKind] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    half: Mapped[Half] = mapped_column(Integer)
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    source: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
