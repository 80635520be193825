from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class GroupedStep(Base):
    """An invoice's step sent as part of its debtor's grouped event (or passed over: beyond the
    debtor's cap, `event_id` null). The engine reads these as the invoice's emitted occurrences,
    so the invoice's own escalation moves on as if it had been sent alone; the primary key makes
    each (invoice, occurrence) happen once, as the events' unique key does per invoice."""

    __tablename__ = "grouped_steps"

    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence: Mapped[str] = mapped_column(String(120), primary_key=True)
    occurred_on: Mapped[dt.date]
    # The grouped event (events.id); null for a step skipped beyond the debtor's cap.
    event_id: Mapped[str | None] = mapped_column(String(40), index=True)
