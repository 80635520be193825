from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, Index, Numeric, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.ledger.invoices.schemas import DunningStage, InvoiceStatus, PauseReason
from app.legal.einvoicing import LifecycleFacts, Outcome, claimable


class Invoice(Base):
    __tablename__ = "invoices"
    # Server defaults (created_at, updated_at) come back with the INSERT/UPDATE (RETURNING).
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        # Also the index on creditor_id, its leading column (a creditor's invoices, the foreign
        # key's checks): one on creditor_id alone only cost every write (migration 0021).
        UniqueConstraint("creditor_id", "number"),
        # The sweep's index: only open, unpaused invoices with work ahead are in it, so finding
        # due work costs O(due), whatever the number of invoices.
        Index(
            "ix_invoices_due_work",
            "next_action_at",
            postgresql_where=text("status = 'open' AND next_action_at IS NOT NULL"),
        ),
        # The same work per tenant: the sweep claims a share of each tenant's due invoices
        # (one index probe per tenant), so a tenant's month-end never delays another's ten.
        Index(
            "ix_invoices_tenant_due_work",
            "tenant_id",
            "next_action_at",
            postgresql_where=text("status = 'open' AND next_action_at IS NOT NULL"),
        ),
        Index("ix_invoices_tenant_id_id", "tenant_id", "id"),
        # Lookups of GET /v1/invoices by number or external_id across the tenant's creditors
        # (the unique (creditor_id, number) serves only a lookup within one creditor).
        Index("ix_invoices_tenant_id_number", "tenant_id", "number"),
        Index(
            "ix_invoices_tenant_id_external_id",
            "tenant_id",
            "external_id",
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    creditor_id: Mapped[str] = mapped_column(ForeignKey("creditors.id"))
    debtor_id: Mapped[str] = mapped_column(ForeignKey("debtors.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    issue_date: Mapped[dt.date]
    due_date: Mapped[dt.date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    late_penalty_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    external_id: Mapped[str | None] = mapped_column(String(200))
    paid_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    status: Mapped[InvoiceStatus] = mapped_column(String(16), default="open")
    closed_reason: Mapped[str | None] = mapped_column(String(2000))
    closed_on: Mapped[dt.date | None]
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the e-invoice lifecycle statuses say (app.legal.einvoicing.LifecycleFacts).
    received_on: Mapped[dt.date | None]
    approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    approved_amount: Mapped[Decimal | None]
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    payment_announced_until: Mapped[dt.date | None]
    lifecycle_outcome: Mapped[Outcome | None] = mapped_column(String(16))
    tracked_since: Mapped[dt.date]  # first local day the service knew it (no catch-up before)
    # Dunning state, kept current by the escalation engine whenever the invoice changes.
    dunning_stage: Mapped[DunningStage] = mapped_column(String(32), default="not_due")
    last_step: Mapped[str | None] = mapped_column(String(40))
    next_step: Mapped[str | None] = mapped_column(String(40))
    next_action_at: Mapped[dt.datetime | None]
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[PauseReason | None] = mapped_column(String(32))
    formal_notice_deadline: Mapped[dt.date | None]
    limitation_ends_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def balance(self) -> Decimal:
        return self.amount - self.paid_amount

    @property
    def claimable_balance(self) -> Decimal:
        """What is still claimable: the balance, limited to the approved part (status 206)."""
        return claimable(self.amount, self.approved_amount) - self.paid_amount

    @property
    def lifecycle_facts(self) -> LifecycleFacts:
        return LifecycleFacts(
            received_on=self.received_on,
            approved=bool(self.approved),
            approved_amount=self.approved_amount,
            suspended=bool(self.suspended),
            payment_announced_until=self.payment_announced_until,
            outcome=self.lifecycle_outcome,
        )

    def set_lifecycle_facts(self, facts: LifecycleFacts) -> None:
        self.received_on = facts.received_on
        self.approved = facts.approved
        self.approved_amount = facts.approved_amount
        self.suspended = facts.suspended
        self.payment_announced_until = facts.payment_announced_until
        self.lifecycle_outcome = facts.outcome


# Every column of the table, by name (what a NewInvoice holds, what a GET by id reads).
COLUMNS = tuple(column.name for column in Invoice.__table__.columns)
# The model's Python-side defaults (`approved=False`...), which the ORM applies at its INSERT.
COLUMN_DEFAULTS: dict[str, Any] = {
    column.name: column.default.arg
    for column in Invoice.__table__.columns
    if column.default is not None and column.default.is_scalar
}


# A new invoice's attributes before any is given: None, or the model's default.
_BLANK: dict[str, Any] = dict.fromkeys(COLUMNS) | COLUMN_DEFAULTS
_COLUMN_NAMES = frozenset(COLUMNS)


class NewInvoice:
    """An invoice about to be INSERTed through the driver (the repository), not by the ORM: its
    columns as plain attributes, None or the model's default where not given. The seam plans
    it like a new ORM invoice and `to_out` reads it. Building an ORM object per row cost a
    batch more than the row's INSERT (bench/README.md). Its attributes are its `__dict__`, made
    in one step: setting them one by one on slots cost a batch of 1,000 about 8 ms."""

    def __init__(self, **values: Any) -> None:
        if not values.keys() <= _COLUMN_NAMES:
            raise TypeError(f"not columns of invoices: {sorted(values.keys() - _COLUMN_NAMES)}")
        self.__dict__ = _BLANK | {
            name: value for name, value in values.items() if value is not None
        }

    if TYPE_CHECKING:  # the columns, as on Invoice

        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...
