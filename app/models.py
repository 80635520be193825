"""Every model, imported once so Alembic and the drift check see the whole schema."""

from app.core.db import Base
from app.escalation.actions.models import Action
from app.escalation.grouping.models import GroupedStep
from app.escalation.payment_plans.models import Installment, PaymentPlan
from app.escalation.policies.models import DunningPolicy
from app.escalation.proof.models import ProofEvent, RegisteredMailCallback
from app.ledger.creditors.models import Creditor
from app.ledger.debtors.models import Debtor
from app.ledger.disputes.models import Dispute
from app.ledger.documents.models import Document
from app.ledger.invoices.models import Invoice
from app.ledger.lifecycle.models import LifecycleStatus
from app.ledger.payments.models import Payment
from app.legal.models import PublishedRate
from app.outbox.events.models import DebtorEventKey, Event, EventKey
from app.outbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.tenants.idempotency import IdempotencyKey
from app.tenants.models import ApiKey, Tenant

__all__ = [
    "Action",
    "ApiKey",
    "Base",
    "Creditor",
    "Debtor",
    "DebtorEventKey",
    "Dispute",
    "Document",
    "DunningPolicy",
    "Event",
    "EventKey",
    "GroupedStep",
    "IdempotencyKey",
    "Installment",
    "Invoice",
    "LifecycleStatus",
    "Payment",
    "PaymentPlan",
    "ProofEvent",
    "PublishedRate",
    "RegisteredMailCallback",
    "Tenant",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
