from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Tenant(Base):
    """A tenant. A sandbox tenant lives at its own test clock (`clock_now`), which only
    `POST /v1/test-clock/advance` moves; a live tenant lives at the real time."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("sandbox = (clock_now IS NOT NULL)", name="sandbox_has_clock"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sandbox: Mapped[bool] = mapped_column(server_default=false())
    clock_now: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class ApiKey(Base):
    """An API key, stored only as a hash; `prefix` is the visible part used to find it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[dt.datetime | None]
