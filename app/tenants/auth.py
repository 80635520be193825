"""Bearer authentication: API keys scope every request to one tenant; a separate admin token
guards /v1/admin/*. And the request's clock: a sandbox tenant's own test clock, else the
service clock."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.clock import Clock
from app.core.db import SHARED_SESSION
from app.core.errors import NotFound, Unauthorized
from app.core.settings import Settings
from app.tenants.idempotency import IDEMPOTENCY_TENANT
from app.tenants.service import KnownTenant, authenticate, known_tenant, tenant_clock

_bearer = HTTPBearer(auto_error=False, description="API key of a tenant: `Bearer rk_...`")
_admin_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminToken", description="RELANCE_ADMIN_TOKEN"
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="relance"'}


async def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> KnownTenant:
    # Already authenticated by the idempotency layer (from the same header): not twice.
    known: KnownTenant | None = request.scope.get(IDEMPOTENCY_TENANT)
    if known is not None:
        return known
    if credentials is None:
        raise Unauthorized(
            "Missing API key: send `Authorization: Bearer <api_key>`.", headers=_CHALLENGE
        )
    # A key verified a moment ago needs no session at all (the hot path).
    tenant = known_tenant(credentials.credentials)
    if tenant is None:
        async with request.app.state.read_sessionmaker() as session:
            tenant = await authenticate(session, credentials.credentials)
    if tenant is None:
        raise Unauthorized("Invalid or revoked API key.", headers=_CHALLENGE)
    return tenant


CurrentTenant = Annotated[KnownTenant, Depends(current_tenant)]


async def require_tenant(tenant: CurrentTenant) -> str:
    return tenant.id


# async: a plain `def` dependency would run in the thread pool on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_service_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_tenant_clock(request: Request, tenant: CurrentTenant) -> Clock:
    """The request's "today": a sandbox tenant's test clock, read at each request (never from
    the key cache); a live tenant's is the service clock, with no query."""
    service: Clock = request.app.state.clock
    if not tenant.sandbox:
        return service
    shared = request.scope.get(SHARED_SESSION)  # the idempotency layer's transaction
    if shared is not None:
        return await tenant_clock(shared, tenant, service)
    async with request.app.state.read_engine.connect() as conn:
        return await tenant_clock(conn, tenant, service)


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)],
) -> None:
    token: str | None = request.app.state.settings.admin_token
    if not token:
        # Admin API disabled: answer as if it did not exist.
        raise NotFound("The admin API is disabled (RELANCE_ADMIN_TOKEN is not set).")
    if credentials is None or not hmac.compare_digest(
        credentials.credentials.encode(), token.encode()
    ):
        raise Unauthorized("Missing or invalid admin token.", headers=_CHALLENGE)


TenantId = Annotated[str, Depends(require_tenant)]
AdminDep = Depends(require_admin)
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# The tenant's time: every "today" of the domain (due dates, future-date checks, letters, reports,
# events). Requires a tenant's key.
ClockDep = Annotated[Clock, Depends(get_tenant_clock)]
# The real time of the service: what infrastructure compares with the real world (webhook
# deliveries and secrets, retention, key revocation), and the admin routes.
ServiceClockDep = Annotated[Clock, Depends(get_service_clock)]
