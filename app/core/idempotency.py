"""`Idempotency-Key` on POST: the same key and body within 24 h replays the first answer; the same
key with another body is 422; while the first request is in flight, 409. Keys are scoped to the
tenant (or to the admin).

A pure ASGI middleware, so it wraps the route's own transaction: the key is claimed in a short
transaction of its own before the route runs, and the answer is stored after the route committed.
A claim left behind by a crashed process is taken over after `STALE_CLAIM`."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.clock import Clock
from app.core.db import Base
from app.core.errors import problem_response
from app.tenants.service import authenticate

log = logging.getLogger("relance.idempotency")

REPLAY_WINDOW = dt.timedelta(hours=24)
STALE_CLAIM = dt.timedelta(minutes=5)
MAX_KEY_LENGTH = 255
# When the database is down, a claim cannot be released (the request failed) nor its answer
# stored (the request succeeded just before): both are retried in the background (about 2
# minutes in all, well within STALE_CLAIM), so a client retrying after the outage is neither
# told 409 for 5 minutes nor, once the claim goes stale, served a second execution.
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0)
# Each try is bounded, and none starts once the claim could be taken over (STALE_CLAIM after
# it was made): from then on it may belong to another request.
RETRY_ATTEMPT_TIMEOUT = 10.0
RETRY_UNTIL = STALE_CLAIM - dt.timedelta(seconds=30)
_RETRYING: set[asyncio.Task[None]] = set()


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Who holds the claim: a release or a store retried late touches only its own claim, never
    # one a later request made after it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


def _fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    try:  # the same JSON written with other spacing or key order is the same request
        digest.update(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode())
    except ValueError:
        digest.update(body)
    return digest.hexdigest()


async def _owner(session: AsyncSession, headers: Headers, admin_token: str | None) -> str | None:
    auth = headers.get("authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() != "bearer" or not credentials:
        return None
    if admin_token and hmac.compare_digest(credentials.encode(), admin_token.encode()):
        return "admin"
    return await authenticate(session, credentials)


async def _receive_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


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
            response = problem_response(
                422,
                "validation-error",
                "Invalid request",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            )
            await response(scope, receive, send)
            return

        body = await _receive_all(receive)
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        state = scope["app"].state
        sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
        clock: Clock = state.clock
        async with sessionmaker() as session:
            owner = await _owner(session, headers, state.settings.admin_token)
        if owner is None:  # the route's own auth answers 401
            await self.app(scope, replay_receive, send)
            return

        fingerprint = _fingerprint(scope["method"], scope["path"], body)
        token = secrets.token_hex(16)
        claimed = time.monotonic()
        outcome = await self._claim(sessionmaker, clock, owner, key, fingerprint, token)
        if outcome is not None:
            await outcome(scope, receive, send)
            return
        release = functools.partial(self._release, sessionmaker, owner, key, token)

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            await _now_or_later(release, "release", claimed)
            raise
        status = int(start.get("status", 500))
        if status >= 500:  # nothing was done for sure: let the client retry with the same key
            await _now_or_later(release, "release", claimed)
            return
        response_headers = {
            k.decode(): v.decode()
            for k, v in start.get("headers", [])
            if k.decode().lower() in ("content-type", "location")
        }
        values = {"status": status, "headers": response_headers, "body": b"".join(chunks)}
        # The answer was sent: a failure to store it must not reach the server (it would drop
        # the connection) but be retried.
        store = functools.partial(self._store, sessionmaker, owner, key, token, values)
        await _now_or_later(store, "store the answer of", claimed)

    async def _store(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        owner: str,
        key: str,
        token: str,
        values: dict[str, object],
    ) -> None:
        async with sessionmaker() as session:
            await session.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.owner == owner,
                    IdempotencyKey.key == key,
                    IdempotencyKey.claim_token == token,
                )
                .values(**values)
            )
            await session.commit()

    async def _claim(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        owner: str,
        key: str,
        fingerprint: str,
        token: str,
    ) -> Response | None:
        """Claim the key for this request (returns None), or the response to send instead."""
        now = clock.now()
        async with sessionmaker() as session:
            # A key past its replay window is forgotten, then claimed afresh.
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.owner == owner,
                    IdempotencyKey.key == key,
                    IdempotencyKey.expires_at <= now,
                )
            )
            claimed = await session.execute(
                insert(IdempotencyKey)
                .values(
                    owner=owner,
                    key=key,
                    fingerprint=fingerprint,
                    claimed_at=now,
                    claim_token=token,
                    expires_at=now + REPLAY_WINDOW,
                )
                .on_conflict_do_nothing()
                .returning(IdempotencyKey.key)
            )
            if claimed.scalar_one_or_none() is not None:
                await session.commit()
                return None
            row = (
                await session.execute(
                    select(IdempotencyKey)
                    .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
                    .with_for_update()
                )
            ).scalar_one()
            if row.fingerprint != fingerprint:
                await session.commit()
                return problem_response(
                    422,
                    "idempotency-key-reused",
                    "Idempotency key reused",
                    "This Idempotency-Key was already used with another request body or path.",
                )
            if row.status is None:
                if row.claimed_at > now - STALE_CLAIM:
                    await session.commit()
                    return problem_response(
                        409,
                        "idempotency-in-flight",
                        "Request in flight",
                        "A request with this Idempotency-Key is still in flight; retry later.",
                        headers={"Retry-After": "1"},
                    )
                # Abandoned by a crashed process: take it over.
                row.claimed_at, row.claim_token = now, token
                await session.commit()
                return None
            await session.commit()
            headers = dict(row.headers or {})
            headers["Idempotent-Replayed"] = "true"
            return Response(content=row.body or b"", status_code=row.status, headers=headers)

    async def _release(
        self, sessionmaker: async_sessionmaker[AsyncSession], owner: str, key: str, token: str
    ) -> None:
        async with sessionmaker() as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.owner == owner,
                    IdempotencyKey.key == key,
                    IdempotencyKey.claim_token == token,
                    IdempotencyKey.status.is_(None),  # never a stored answer
                )
            )
            await session.commit()


async def _now_or_later(attempt: Callable[[], Awaitable[None]], what: str, claimed: float) -> None:
    """Run `attempt`; if the database fails it, retry it in the background for as long as the
    claim (made at `claimed`, monotonic time) is surely ours."""
    give_up_at = claimed + RETRY_UNTIL.total_seconds()
    try:
        await attempt()
        return
    except Exception as exc:
        log.warning("idempotency: could not %s a request (%r); retrying", what, exc)

    async def later() -> None:
        for delay in RETRY_DELAYS:
            await asyncio.sleep(delay)
            if time.monotonic() + RETRY_ATTEMPT_TIMEOUT > give_up_at:
                break
            try:
                async with asyncio.timeout(RETRY_ATTEMPT_TIMEOUT):
                    await attempt()
                return
            except Exception as exc:  # the database is still away: try again later
                log.info("idempotency: %s a request failed again (%r)", what, exc)
        log.error("idempotency: gave up trying to %s a request; its key expires", what)

    task = asyncio.create_task(later())
    _RETRYING.add(task)
    task.add_done_callback(_RETRYING.discard)
