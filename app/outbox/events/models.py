from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.outbox.events.schemas import EventType


class Event(Base):
    """The transactional outbox: written in the same transaction as the change that causes it.
    (invoice_id, occurrence) is unique, so an occurrence becomes an event exactly once."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("invoice_id", "occurrence"),
        # A grouped event (invoice_id null) exists once per debtor and occurrence.
        UniqueConstraint("debtor_id", "occurrence"),
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    debtor_id: Mapped[str | None] = mapped_column(String(40))  # grouped events only
    occurrence: Mapped[str] = mapped_column(String(120))
    type: Mapped[EventType] = mapped_column(String(64))
    occurred_on: Mapped[dt.date | None]  # the local day the occurrence fell due
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
