from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Timestamps
from app.outbox.webhooks.schemas import DeliveryStatus


class WebhookEndpoint(Timestamps, Base):
    """A tenant's receiver. Deleting one only marks it (`deleted_at`): its delivery history stays
    until housekeeping purges it with the events it carried."""

    __tablename__ = "webhook_endpoints"
    __label__ = "webhook endpoint"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    # ["*"] or a list of event types; matched with the JSONB `?` operator by the fan-out.
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # Kept in clear: HMAC signing needs the secret itself, not a hash of it.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(64))
    failing_since: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]


class WebhookDelivery(Timestamps, Base):
    """One event to one endpoint: claimed by workers with SKIP LOCKED plus a lease.

    Partitioned by month of its id (like events and attempts, docs/partitioning.md). No foreign
    key to its event: deliveries are only ever inserted from existing events, and retention
    drops a month of events only once no pending delivery refers to it."""

    __tablename__ = "webhook_deliveries"
    __label__ = "webhook delivery"
    __table_args__ = (
        # The claim walks each endpoint's own queue in (next_attempt_at, id) order, so one
        # endpoint's backlog never hides another's due deliveries and no sort is needed. No
        # global index on next_attempt_at: the planner preferred it and then filtered out every
        # other endpoint's backlog at each claim (bench/README.md).
        Index(
            "ix_webhook_deliveries_endpoint_due",
            "endpoint_id",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # Deliveries in flight (leased), counted per endpoint to bound its concurrency.
        Index(
            "ix_webhook_deliveries_leased",
            "endpoint_id",
            postgresql_where=text("locked_until IS NOT NULL"),
        ),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        # The oldest pending delivery: the claim reads no partition older than it, and
        # retention keeps every partition from it on.
        Index(
            "ix_webhook_deliveries_pending_id",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        {"postgresql_partition_by": "RANGE (id)"},
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # pending | succeeded | failed (gave up) | cancelled (endpoint disabled or deleted)
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)


class WebhookAttempt(Base):
    """One HTTP attempt (or one refused before sending), as the receiver answered it.
    Partitioned by month of its id; no foreign key to its delivery (see WebhookDelivery)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = ({"postgresql_partition_by": "RANGE (id)"},)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    attempted_at: Mapped[dt.datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 2 KB, as text
