"""Bearer authentication: API keys scope every request to one tenant; a separate admin token
guards /v1/admin/*."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.clock import Clock
from app.core.errors import NotFound, Unauthorized
from app.core.settings import Settings
from app.tenants.idempotency import ADMIN_OWNER, IDEMPOTENCY_OWNER
from app.tenants.service import authenticate, known_tenant

_bearer = HTTPBearer(auto_error=False, description="API key of a tenant: `Bearer rk_...`")
_admin_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminToken", description="RELANCE_ADMIN_TOKEN"
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="relance"'}


async def require_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    # Already authenticated by the idempotency layer (from the same header): not twice.
    owner: str | None = request.scope.get(IDEMPOTENCY_OWNER)
    if owner is not None and owner != ADMIN_OWNER:
        return owner
    if credentials is None:
        raise Unauthorized(
            "Missing API key: send `Authorization: Bearer <api_key>`.", headers=_CHALLENGE
        )
    # A key verified a moment ago needs no session at all (the hot path).
    tenant_id = known_tenant(credentials.credentials)
    if tenant_id is None:
        async with request.app.state.read_sessionmaker() as session:
            tenant_id = await authenticate(session, credentials.credentials)
    if tenant_id is None:
        raise Unauthorized("Invalid or revoked API key.", headers=_CHALLENGE)
    return tenant_id


# async: a plain `def` dependency would run in the thread pool on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


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
ClockDep = Annotated[Clock, Depends(get_clock)]
