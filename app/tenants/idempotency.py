"""`Idempotency-Key` on POST: the same key and body within 24 h replays the first answer; the same
key with another body is 422; while the first request is in flight, 409. Keys are scoped to the
tenant (or to the admin).

A pure ASGI middleware that owns the request's transaction, so the stored answer commits with the
route's effect, in one commit: after a crash either both are there (a retry replays the answer)
or neither is (a retry runs, once). The route's unit of work (`app.core.db.get_session`) joins
this transaction instead of committing its own.

"In flight" is a transaction-scoped advisory lock on the key, taken before the route runs. It
dies with the request's connection: a concurrent same-key request gets 409 at once, and a retry
after a crash finds the lock free and no answer, and runs. No timestamp decides anything."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.clock import Clock
from app.core.db import SHARED_SESSION, Base
from app.core.errors import problem_response
from app.core.middleware import receive_body, replaying
from app.tenants.service import KnownTenant, authenticate

REPLAY_WINDOW = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
# The ASGI scope key of the tenant found here: the route's tenant dependency reuses it instead of
# authenticating again.
IDEMPOTENCY_TENANT = "relance.idempotency_tenant"
ADMIN_OWNER = "admin"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


def _fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    try:  # the same JSON written with other spacing or key order is the same request
        digest.update(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode())
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: the bytes
        digest.update(body)
    return digest.hexdigest()


def lock_id(owner: str, key: str) -> int:
    """The advisory lock of (owner, key): 64 bits of its SHA-256, as PostgreSQL's signed bigint."""
    digest = hashlib.sha256(f"idempotency\n{owner}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:id)")


async def _owner(
    session: AsyncSession, headers: Headers, admin_token: str | None
) -> str | KnownTenant | None:
    """ADMIN_OWNER, the key's tenant, or None."""
    auth = headers.get("authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    if admin_token and hmac.compare_digest(credentials.encode(), admin_token.encode()):
        return ADMIN_OWNER
    return await authenticate(session, credentials)


class _BufferedResponse:
    """The app's response, held back until the transaction that produced it has committed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        for message in self.messages:
            if message["type"] == "http.response.start":
                return int(message["status"])
        return 500

    def stored(self) -> tuple[dict[str, str], bytes]:
        """The headers a replay needs and the whole body."""
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        for message in self.messages:
            if message["type"] == "http.response.start":
                headers = {
                    k.decode(): v.decode()
                    for k, v in message.get("headers", [])
                    if k.decode().lower() in ("content-type", "location")
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
        return headers, b"".join(chunks)

    async def flush(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            invalid = problem_response(
                422,
                "validation-error",
                "Invalid request",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            )
            await invalid(scope, receive, send)
            return

        body = await receive_body(receive)
        state = scope["app"].state
        sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
        async with sessionmaker() as session:
            found = await _owner(session, headers, state.settings.admin_token)
            owner = found.id if isinstance(found, KnownTenant) else found
            if owner is None:  # no key to scope it to: the route's own auth answers 401
                await session.rollback()
                await self.app(scope, replaying(body, receive), send)
                return
            fingerprint = _fingerprint(scope["method"], scope["path"], body)
            earlier = await self._begin(session, state.clock, owner, key, fingerprint)
            if earlier is not None:
                await session.rollback()
                await earlier(scope, receive, send)
                return

            scope[SHARED_SESSION] = session
            if isinstance(found, KnownTenant):
                scope[IDEMPOTENCY_TENANT] = found
            response = _BufferedResponse()
            try:
                await self.app(scope, replaying(body, receive), response.send)
            except BaseException:
                await session.rollback()
                raise
            if response.status >= 500:
                # Nothing was done for sure: the client may retry with the same key.
                await session.rollback()
            else:
                stored_headers, stored_body = response.stored()
                await session.execute(
                    insert(IdempotencyKey).values(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        expires_at=state.clock.now() + REPLAY_WINDOW,
                        status=response.status,
                        headers=stored_headers,
                        body=stored_body,
                    )
                )
                # The one commit of the request: its effect and its answer together. If it
                # fails, the error reaches the request context, which answers 503.
                await session.commit()
        await response.flush(send)

    async def _begin(
        self, session: AsyncSession, clock: Clock, owner: str, key: str, fingerprint: str
    ) -> Response | None:
        """Take the key's lock for this transaction (None: run the request), or the response to
        send instead: 409 while another request holds it, 422 for another body, the replay."""
        if not (await session.execute(_TRY_LOCK, {"id": lock_id(owner, key)})).scalar_one():
            return problem_response(
                409,
                "idempotency-in-flight",
                "Request in flight",
                "A request with this Idempotency-Key is still in flight; retry later.",
                headers={"Retry-After": "1"},
            )
        # A key past its replay window is forgotten (with this request's commit), then reused.
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.owner == owner,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at <= clock.now(),
            )
        )
        row = (
            await session.execute(
                select(IdempotencyKey).where(
                    IdempotencyKey.owner == owner, IdempotencyKey.key == key
                )
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            return problem_response(
                422,
                "idempotency-key-reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used with another request body or path.",
            )
        headers = dict(row.headers)
        headers["Idempotent-Replayed"] = "true"
        return Response(content=row.body, status_code=row.status, headers=headers)
