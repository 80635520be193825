"""The delivery worker: claims due deliveries, sends them signed, records every attempt.

Claims happen in short transactions (SKIP LOCKED plus a lease, committed before any HTTP
request), so no database transaction is ever held open while a receiver answers, and any number
of workers or replicas can run at once without sending a delivery twice. Each endpoint has at
most `PER_ENDPOINT_CONCURRENCY` deliveries in flight across all workers, so a slow or dead
endpoint ties up its own slots and nobody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Literal, get_args

import aiohttp
import httpx
from fastapi import FastAPI
from httpx_aiohttp import AiohttpTransport
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import __version__
from app.core.clock import Clock
from app.core.db import statement_connection
from app.core.ids import new_id
from app.core.metrics import (
    DELIVERIES,
    DELIVERY_LATENCY,
    DUE_BACKLOG_TOP_ENDPOINTS,
    ENDPOINTS_DISABLED,
    OLDEST_PENDING_AGE,
    PENDING_DELIVERIES,
    observe_due_backlog,
)
from app.core.settings import Settings
from app.outbox.events.schemas import WebhookPayload
from app.outbox.partitions import analyze_stale_tables
from app.outbox.webhooks import repository, service
from app.outbox.webhooks.backoff import next_attempt_at, should_disable
from app.outbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.outbox.webhooks.repository import ClaimedDelivery
from app.outbox.webhooks.signing import sign_headers
from app.outbox.webhooks.url_safety import UnsafeUrl, resolve_and_check

log = logging.getLogger("relance.webhooks")

PER_ENDPOINT_CONCURRENCY = 8
# The scheduler tick's bound on requests in flight in this process (all endpoints together).
MAX_IN_FLIGHT = 64
# How long one tick keeps claiming; requests still running then finish in the background.
TICK_BUDGET_SECONDS = 5.0
# "A 2xx within 15 s" (API.md) is a deadline for the whole attempt: httpx's timeout applies to
# each read separately, so a receiver trickling bytes could otherwise hold a slot for ever.
ATTEMPT_DEADLINE_SECONDS = 15.0
RESPONSE_BODY_LIMIT = 2048
USER_AGENT = f"Relance-Webhooks/{__version__}"

Outcome = Literal["succeeded", "retrying", "failed", "gone", "cancelled", "lost"]


@dataclass
class DeliveryStats:
    """What one run did. `retrying`: failed attempts with a retry scheduled; `failed`: retries
    exhausted; `lost`: the result could not be recorded (the lease expires, it is retried)."""

    claimed: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0
    gone: int = 0
    cancelled: int = 0
    lost: int = 0
    endpoints_disabled: int = 0

    @property
    def by_outcome(self) -> dict[str, int]:
        """Outcome -> number of deliveries, the outcomes that occurred only."""
        return {name: n for name in get_args(Outcome) if (n := getattr(self, name))}

    def count(self, outcome: Outcome, disabled: bool) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.endpoints_disabled += int(disabled)


@dataclass
class AttemptResult:
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = None
    response_body: str | None = None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _aiohttp_session() -> aiohttp.ClientSession:
    # What AiohttpTransport builds by default (httpx's default limits and certificate checks),
    # with a cookie jar that keeps nothing.
    limits = httpx.Limits(max_connections=100, keepalive_expiry=5.0)
    connector = aiohttp.TCPConnector(
        limit=limits.max_connections or 0,
        keepalive_timeout=limits.keepalive_expiry,
        ssl=httpx.create_ssl_context(),
    )
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


def delivery_client() -> httpx.AsyncClient:
    """The process's one client for webhooks. aiohttp's transport under httpx's API: httpx's own
    was 80 % of a delivery's CPU (bench/README.md). Redirects are never followed. No cookie is
    ever kept, by httpx or by aiohttp: the client is shared by every tenant's endpoints, and a
    cookie set by one receiver went with the deliveries to every endpoint on its host (tested)."""
    return httpx.AsyncClient(
        transport=AiohttpTransport(client=_aiohttp_session),
        timeout=httpx.Timeout(15.0),
        follow_redirects=False,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def _payload(job: ClaimedDelivery) -> bytes:
    body = WebhookPayload(
        id=job.event_id, type=job.event_type, created_at=job.event_created_at, data=job.event_data
    )
    return body.model_dump_json().encode()


def _secrets(job: ClaimedDelivery, now: dt.datetime) -> list[str]:
    secrets = [job.secret]
    if (
        job.previous_secret
        and job.previous_secret_expires_at is not None
        and job.previous_secret_expires_at > now
    ):
        secrets.append(job.previous_secret)
    return secrets


def _as_text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a cut multi-byte character becomes U+FFFD.
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def _read_prefix(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` bytes of the body, without reading (or buffering) the rest."""
    buf = bytearray()
    async for chunk in response.aiter_bytes():
        buf += chunk
        if len(buf) >= limit:
            break
    return bytes(buf[:limit])


def _targets(url: str, addresses: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(URL to connect to, extra headers) in order of preference.

    Plain http connects to the addresses just checked (with the original Host header), so a DNS
    answer changing between the check and the connection cannot lead it elsewhere. https keeps
    the name: the certificate check already ties the connection to it, and reusing a TLS
    connection opened for another name on the same address would skip that check.
    """
    if not addresses:
        return [(url, {})]
    parsed = httpx.URL(url)
    if parsed.scheme != "http":
        return [(url, {})]
    host = {"Host": parsed.netloc.decode("ascii")}
    return [(str(parsed.copy_with(host=address)), host) for address in addresses]


@functools.lru_cache(maxsize=4096)
def _url(target: str) -> httpx.URL:
    return httpx.URL(target)


def _request(
    http: httpx.AsyncClient, target: str, body: bytes, headers: dict[str, str]
) -> httpx.Request:
    """The POST as `http.stream` would build it, without merging the client's defaults into it
    (a third of httpx's CPU per delivery, bench/README.md): the headers are all ours, the
    endpoint's URL is parsed once, the client's timeout applies."""
    return httpx.Request(
        "POST",
        _url(target),
        content=body,
        headers=headers,
        extensions={"timeout": http.timeout.as_dict()},
    )


async def send_attempt(
    job: ClaimedDelivery, *, http: httpx.AsyncClient, clock: Clock, settings: Settings
) -> AttemptResult:
    """One signed POST of the delivery's event. Never raises for a receiver's behaviour."""
    result = AttemptResult()
    addresses: list[str] = []
    if not settings.webhook_allow_private_urls:
        # Again at every attempt: the name may resolve elsewhere since the endpoint was created.
        try:
            addresses = await resolve_and_check(
                job.url, allow_private=False, resolver=service.RESOLVER
            )
        except UnsafeUrl:
            result.error = "unsafe url"
            return result
    body = _payload(job)
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    # Signed with the real sending time (receivers refuse stale timestamps), never the service
    # clock, which a sweep `as_of` or a test may have set elsewhere.
    headers |= sign_headers(
        msg_id=job.event_id,
        body=body,
        secrets=_secrets(job, clock.now()),
        timestamp=dt.datetime.now(dt.UTC),
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(ATTEMPT_DEADLINE_SECONDS):
            targets = _targets(job.url, addresses)
            for index, (target, extra) in enumerate(targets):
                try:
                    request = _request(http, target, body, headers | extra)
                    response = await http.send(request, stream=True)
                    try:
                        result.status_code = response.status_code
                        result.retry_after = response.headers.get("retry-after")
                        raw = await _read_prefix(response, RESPONSE_BODY_LIMIT)
                        result.response_body = _as_text(raw)
                    finally:
                        await response.aclose()
                    break
                except httpx.ConnectError:
                    # The next address of the name, if any (e.g. IPv6 then IPv4).
                    if index == len(targets) - 1 or result.status_code is not None:
                        raise
    except (TimeoutError, httpx.TimeoutException):
        result.error = "timeout" if result.status_code is None else "timeout reading the body"
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt, not retried unrecorded
        # Whatever else fails while sending: e.g. httpx.InvalidURL or StreamError (not HTTPErrors).
        log.warning("webhook delivery %s: unexpected %r", job.delivery_id, exc)
        result.error = f"unexpected error: {type(exc).__name__}"
    finally:
        result.duration_ms = round((time.perf_counter() - started) * 1000)
    if result.status_code is not None:
        DELIVERY_LATENCY.observe(result.duration_ms / 1000)
    return result


async def _lock_endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: the FK checks are not blocked
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_attempt(
    session: AsyncSession, job: ClaimedDelivery, result: AttemptResult, now: dt.datetime
) -> tuple[Outcome, bool]:
    """Store the attempt and its consequences; returns (outcome, whether the endpoint was just
    disabled). Locks the endpoint before the delivery, in the order the API uses. The general
    path: `_record` has already tried the one-statement success (a failure, a failing endpoint
    to clear or a purged delivery comes here)."""
    endpoint = await session.get(WebhookEndpoint, job.endpoint_id)
    if not result.ok or (endpoint is not None and endpoint.failing_since is not None):
        endpoint = await _lock_endpoint(session, job.endpoint_id)
    delivery = (
        await session.execute(
            select(WebhookDelivery).where(WebhookDelivery.id == job.delivery_id).with_for_update()
        )
    ).scalar_one_or_none()
    if delivery is None:  # its event was purged meanwhile
        return "cancelled", False
    _add_attempt(session, delivery, result, now)
    # A delivery cancelled while in flight stays cancelled, unless it got through after all.
    pending = delivery.status == "pending"
    outcome: Outcome
    disabled = False
    if result.ok:
        outcome = _succeeded(delivery, endpoint)
    elif result.status_code == 410:
        outcome, disabled = await _gone(session, delivery, endpoint, pending=pending)
    else:
        outcome, disabled = await _failed(session, delivery, endpoint, result, now, pending=pending)
    await session.flush()
    return outcome, disabled


def _add_attempt(
    session: AsyncSession, delivery: WebhookDelivery, result: AttemptResult, now: dt.datetime
) -> None:
    session.add(
        WebhookAttempt(
            id=new_id("wha"),
            delivery_id=delivery.id,
            tenant_id=delivery.tenant_id,
            attempted_at=now,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            response_body=result.response_body,
        )
    )
    delivery.attempts += 1
    delivery.locked_until = None
    delivery.last_status_code = result.status_code


def _succeeded(delivery: WebhookDelivery, endpoint: WebhookEndpoint | None) -> Outcome:
    if delivery.status in ("pending", "cancelled"):
        delivery.status = "succeeded"
        delivery.next_attempt_at = None
    if endpoint is not None:
        endpoint.failing_since = None
    return "succeeded"


async def _gone(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint | None,
    *,
    pending: bool,
) -> tuple[Outcome, bool]:
    # The receiver says the endpoint is gone for good: stop sending it anything.
    if pending:
        delivery.status, delivery.next_attempt_at = "failed", None
    disabled = False
    if endpoint is not None and endpoint.enabled:
        await service.disable_endpoint(session, endpoint, "gone")
        ENDPOINTS_DISABLED.labels("gone").inc()
        disabled = True
    return "gone", disabled


async def _failed(
    session: AsyncSession,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint | None,
    result: AttemptResult,
    now: dt.datetime,
    *,
    pending: bool,
) -> tuple[Outcome, bool]:
    if endpoint is not None and endpoint.failing_since is None:
        endpoint.failing_since = now
    outcome: Outcome = "cancelled"
    if pending:
        retry_at = next_attempt_at(
            attempt=delivery.attempts, now=now, retry_after=result.retry_after
        )
        if retry_at is None:
            delivery.status, delivery.next_attempt_at = "failed", None
            outcome = "failed"
        else:
            delivery.next_attempt_at = retry_at
            outcome = "retrying"
    disabled = False
    if endpoint is not None and endpoint.enabled and should_disable(endpoint.failing_since, now):
        await service.disable_endpoint(session, endpoint, "failing for 5 days")
        ENDPOINTS_DISABLED.labels("failing").inc()
        disabled = True
        if outcome == "retrying":
            outcome = "cancelled"
    return outcome, disabled


class LeaseKeeper:
    """Renews, in one statement every LEASE_RENEWAL, the leases of the deliveries this process
    is sending, for as long as it sends them. One per sessionmaker (database) and event loop."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.held: set[str] = set()
        self.task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def hold(self, delivery_id: str) -> AsyncIterator[None]:
        self.held.add(delivery_id)
        task = self.task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self.task = asyncio.create_task(self._renew())
        try:
            yield
        finally:
            self.held.discard(delivery_id)

    async def _renew(self) -> None:
        # On a fixed cadence (a slow renewal does not push the next one back), each in one
        # statement on its own: a round trip, where a transaction took three.
        period = repository.LEASE_RENEWAL.total_seconds()
        next_at = time.monotonic() + period
        while self.held:
            await asyncio.sleep(max(next_at - time.monotonic(), 0))
            next_at += period
            ids = list(self.held)
            if not ids:
                return
            try:
                async with statement_connection(self.sessionmaker) as conn:
                    await repository.renew_leases(conn, ids)
                    await conn.commit()
            except (SQLAlchemyError, OSError) as exc:
                # Tried again at the next renewal; past LEASE + TAKEOVER_GRACE the delivery may
                # be sent twice.
                log.warning("webhook leases of %d deliveries not renewed: %r", len(ids), exc)
            next_at = max(next_at, time.monotonic())


_KEEPERS: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], LeaseKeeper] = (
    weakref.WeakKeyDictionary()
)


def lease_keeper(sessionmaker: async_sessionmaker[AsyncSession]) -> LeaseKeeper:
    keeper = _KEEPERS.get(sessionmaker)
    if keeper is None:
        keeper = _KEEPERS[sessionmaker] = LeaseKeeper(sessionmaker)
    return keeper


async def deliver_one(
    job: ClaimedDelivery,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    clock: Clock,
    settings: Settings,
) -> tuple[Outcome, bool]:
    """Send one claimed delivery and record the attempt. Never raises: a result that cannot be
    recorded leaves the lease to expire, and the delivery is sent again (at least once)."""
    try:
        async with lease_keeper(sessionmaker).hold(job.delivery_id):
            result = await send_attempt(job, http=http, clock=clock, settings=settings)
            outcome, disabled = await _record(sessionmaker, job, result, clock.now())
    except Exception:
        log.exception("webhook delivery %s: attempt not recorded", job.delivery_id)
        DELIVERIES.labels("lost").inc()
        return "lost", False
    DELIVERIES.labels(outcome).inc()
    if not result.ok:
        log.info(
            "webhook delivery %s to endpoint %s: %s (%s)",
            job.delivery_id,
            job.endpoint_id,
            result.status_code or result.error,
            outcome,
        )
    return outcome, disabled


class SuccessRecorder:
    """Records the successful attempts that finish together in one statement: each waits for the
    statement in progress, if any, and the next one takes every success that came meanwhile (a
    group commit), so a busy dispatcher pays one round trip per batch, not per delivery. One per
    sessionmaker (database) and event loop."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.loop = asyncio.get_running_loop()
        self.waiting: list[tuple[repository.Success, asyncio.Future[bool]]] = []
        self.task: asyncio.Task[None] | None = None

    async def record(self, success: repository.Success) -> bool:
        """Whether it was recorded (see `repository.record_successes`); raises if the statement
        failed."""
        future: asyncio.Future[bool] = self.loop.create_future()
        self.waiting.append((success, future))
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_IN_FLIGHT], self.waiting[MAX_IN_FLIGHT:]
            try:
                async with statement_connection(self.sessionmaker) as conn:
                    recorded = await repository.record_successes(
                        conn, [success for success, _ in batch]
                    )
                    await conn.commit()
            except Exception as exc:  # noqa: BLE001 - handed to each waiting delivery
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for success, future in batch:
                    if not future.done():
                        future.set_result(success.delivery_id in recorded)
            finally:
                for _, future in batch:
                    future.cancel()  # only if this task was cancelled: nothing is left waiting


_RECORDERS: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], SuccessRecorder] = (
    weakref.WeakKeyDictionary()
)


def success_recorder(sessionmaker: async_sessionmaker[AsyncSession]) -> SuccessRecorder:
    recorder = _RECORDERS.get(sessionmaker)
    if recorder is None or recorder.loop is not asyncio.get_running_loop():
        recorder = _RECORDERS[sessionmaker] = SuccessRecorder(sessionmaker)
    return recorder


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: ClaimedDelivery,
    result: AttemptResult,
    now: dt.datetime,
) -> tuple[Outcome, bool]:
    """Store the attempt. The common case, a success on a healthy endpoint, is one statement
    shared with the other successes of the moment (`SuccessRecorder`), without the BEGIN and
    COMMIT round trips of a transaction. Anything else takes `record_attempt` in a transaction."""
    if result.ok:
        success = repository.Success(
            attempt_id=new_id("wha"),
            delivery_id=job.delivery_id,
            endpoint_id=job.endpoint_id,
            attempted_at=now,
            status_code=result.status_code or 0,  # never None when ok
            duration_ms=result.duration_ms,
            response_body=result.response_body,
        )
        if await success_recorder(sessionmaker).record(success):
            return "succeeded", False
    async with sessionmaker() as session:
        recorded = await record_attempt(session, job, result, now)
        await session.commit()
    return recorded


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    limit: int,
    tenant_id: str | None = None,
) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries (of one tenant's endpoints only, if given), committed
    before anything is sent. The claim is one statement: it runs on its own (autocommit), one
    round trip where a transaction took three, and the dispatcher claims as each request ends."""
    async with statement_connection(sessionmaker) as conn:
        jobs = await repository.claim_due(
            conn,
            now=clock.now(),
            limit=limit,
            per_endpoint=PER_ENDPOINT_CONCURRENCY,
            tenant_id=tenant_id,
        )
        await conn.commit()
    return jobs


async def refresh_gauges(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    now = clock.now()
    async with sessionmaker() as session:
        stats = await repository.pending_stats(session, now, DUE_BACKLOG_TOP_ENDPOINTS)
    PENDING_DELIVERIES.set(stats.pending)
    # How late the most overdue delivery is: grows when workers fall behind or are down.
    oldest = stats.oldest_due
    OLDEST_PENDING_AGE.set(max((now - oldest).total_seconds(), 0) if oldest else 0)
    # Which endpoints the backlog is on: a slow or dead one shows up on its own.
    observe_due_backlog(stats.due_by_endpoint, stats.due)


async def deliver_due(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    clock: Clock,
    settings: Settings,
    limit: int = 200,
) -> DeliveryStats:
    """Claim up to `limit` due deliveries (at most PER_ENDPOINT_CONCURRENCY per endpoint,
    counting those already in flight elsewhere), send them concurrently, record each attempt.

    Due means `next_attempt_at <= clock.now()`. Returns when all of them are recorded; call it
    again until `claimed` is 0 to drain a backlog.
    """
    jobs = await claim(sessionmaker, clock, limit)
    stats = DeliveryStats(claimed=len(jobs))
    results = await asyncio.gather(
        *(
            deliver_one(job, sessionmaker=sessionmaker, http=http, clock=clock, settings=settings)
            for job in jobs
        )
    )
    for outcome, disabled in results:
        stats.count(outcome, disabled)
    await refresh_gauges(sessionmaker, clock)
    return stats


@dataclass
class Dispatcher:
    """Per process: the deliveries in flight, which may outlive the run that started them, and
    the process's bound on them (MAX_IN_FLIGHT), shared by the scheduler tick and admin sweeps."""

    in_flight: set[asyncio.Task[tuple[Outcome, bool]]] = field(default_factory=set)

    async def run(
        self,
        app: FastAPI,
        budget: float | None = TICK_BUDGET_SECONDS,
        clock: Clock | None = None,
        tenant_id: str | None = None,
    ) -> DeliveryStats:
        """Keep every free slot busy for `budget` seconds (None: no limit): claim as slots free
        up, never wait for a slow request before starting the others. Returns when nothing is
        due and none of the requests this run started is in flight, or when the budget is spent
        (its requests still running then finish in the background). Counts only its own
        requests. `clock`: the instant deliveries are due at (default the service clock; an
        admin sweep passes its `as_of`). `tenant_id`: that tenant's deliveries only (a sandbox
        advance)."""
        state = app.state
        clock = clock or state.clock
        stats = DeliveryStats()
        mine: set[asyncio.Task[tuple[Outcome, bool]]] = set()

        def reap() -> None:
            for task in [t for t in mine if t.done()]:
                mine.discard(task)
                if not task.cancelled():
                    stats.count(*task.result())

        deadline = None if budget is None else time.monotonic() + budget
        while True:
            reap()
            free = MAX_IN_FLIGHT - len(self.in_flight)
            jobs = await claim(state.sessionmaker, clock, free, tenant_id) if free > 0 else []
            stats.claimed += len(jobs)
            for job in jobs:
                task = asyncio.create_task(
                    deliver_one(
                        job,
                        sessionmaker=state.sessionmaker,
                        http=state.http,
                        clock=clock,
                        settings=state.settings,
                    )
                )
                mine.add(task)
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
            remaining = None if deadline is None else deadline - time.monotonic()
            if not mine or (remaining is not None and remaining <= 0):
                break
            # A finished request frees a slot (maybe of a saturated endpoint): claim again.
            await asyncio.wait(mine, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        reap()
        await refresh_gauges(state.sessionmaker, clock)
        return stats

    async def drain(self) -> None:
        """Wait for the requests in flight (graceful shutdown, tests); bound it with
        asyncio.timeout if needed."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight))


def dispatcher(app: FastAPI) -> Dispatcher:
    found: Dispatcher | None = getattr(app.state, "webhook_dispatcher", None)
    if found is None:
        found = app.state.webhook_dispatcher = Dispatcher()
    return found


async def run_delivery_tick(app: FastAPI) -> DeliveryStats:
    """The scheduler job: deliver what is due for about TICK_BUDGET_SECONDS, on statistics that
    know about the last burst of deliveries (see `analyze_stale_tables`)."""
    try:
        await analyze_stale_tables(app.state.engine)
    except DBAPIError as exc:  # deliveries go on, on whatever statistics there are
        log.warning("could not analyze the stale tables: %s", exc)
    return await dispatcher(app).run(app)
