"""Every model, imported once so Alembic and the drift check see the whole schema."""

from app.core.db import Base
from app.core.idempotency import IdempotencyKey
from app.tenants.models import ApiKey, Tenant

__all__ = ["ApiKey", "Base", "IdempotencyKey", "Tenant"]
