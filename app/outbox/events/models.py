from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.outbox.events.schemas import EventType


class Event(Base):
    """The transactional outbox: written in the same transaction as the change that causes it.

    Partitioned by month of its id (a ULID: the real time it was written, whatever the tenant's
    clock says), so retention drops whole months (docs/partitioning.md). Its exactly-once key
    lives in `event_keys`, which outlives the partitions."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_created_at", "created_at"),
        {"postgresql_partition_by": "RANGE (id)"},
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


class EventKey(Base):
    """What an invoice's occurrence became: (invoice_id, occurrence) is the primary key, so an
    occurrence becomes an event exactly once, even after its event's month was dropped. Small
    and unpartitioned; the engine, the timeline and the reports read history from here."""

    __tablename__ = "event_keys"

    invoice_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(120), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[EventType] = mapped_column(String(64))
    occurred_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime]  # the event's created_at (the tenant's clock)


class DebtorEventKey(Base):
    """What a debtor's grouped occurrence became (an event with no invoice): (debtor_id,
    occurrence) is the primary key, so a grouped event is written exactly once, as `EventKey`
    does for an invoice's; and, like it, the history the grouped sweep and the timeline read,
    which outlives the events' partitions."""

    __tablename__ = "debtor_event_keys"

    debtor_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    occurrence: Mapped[str] = mapped_column(String(120), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[EventType] = mapped_column(String(64))
    occurred_on: Mapped[dt.date]
    # The step's channel: the debtor's amicable contacts are counted by channel (caps).
    channel: Mapped[str | None] = mapped_column(String(32))
