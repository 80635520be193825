"""Every model, imported once so Alembic and the drift check see the whole schema."""

from app.actions.models import Action
from app.claims.models import PublishedRate
from app.core.db import Base
from app.core.idempotency import IdempotencyKey
from app.creditors.models import Creditor
from app.debtors.models import Debtor
from app.disputes.models import Dispute
from app.documents.models import Document
from app.events.models import Event
from app.invoices.models import Invoice
from app.payment_plans.models import Installment, PaymentPlan
from app.payments.models import Payment
from app.policies.models import DunningPolicy
from app.tenants.models import ApiKey, Tenant
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Action",
    "ApiKey",
    "Base",
    "Creditor",
    "Debtor",
    "Dispute",
    "Document",
    "DunningPolicy",
    "Event",
    "IdempotencyKey",
    "Installment",
    "Invoice",
    "Payment",
    "PaymentPlan",
    "PublishedRate",
    "Tenant",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
