"""The application factory. The lifespan owns the database (embedded or configured), the engine,
one shared httpx.AsyncClient and the in-process scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import __version__
from app.claims.letters.router import debtor_router as debtor_letters_router
from app.claims.letters.router import router as letters_router
from app.claims.litigation.router import router as litigation_router
from app.claims.router import router as claims_router
from app.claims.service import claim_json
from app.claims.tasks import check_rates, rate_coverage_tick
from app.core.clock import Clock
from app.core.database_server import database_url
from app.core.db import (
    BeforeCommit,
    create_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    read_engine,
)
from app.core.docs import install_docs
from app.core.errors import PROBLEM_JSON, install_error_handlers
from app.core.logging import configure_logging
from app.core.metrics import forget_process
from app.core.middleware import BodyLimitMiddleware, RequestContextMiddleware
from app.core.migrate import head_revision, migrate
from app.core.ops import router as ops_router
from app.core.query_params import QUERY_PARAMS_GUARD
from app.core.scheduler import TickJob, build_scheduler
from app.core.settings import Settings, get_settings
from app.escalation.actions.router import router as actions_router
from app.escalation.payment_plans.router import router as payment_plans_router
from app.escalation.policies.router import router as policies_router
from app.escalation.proof.router import router as proof_router
from app.escalation.router import admin_router as sweep_admin_router
from app.escalation.router import router as escalation_router
from app.escalation.service import refresh_changed
from app.escalation.tasks import sweep_tick
from app.escalation.test_clock.router import router as test_clock_router
from app.ledger.creditors.router import router as creditors_router
from app.ledger.debtors.router import router as debtors_router
from app.ledger.disputes.router import router as disputes_router
from app.ledger.documents.router import router as documents_router
from app.ledger.invoices.router import IMPORT_PATH
from app.ledger.invoices.router import router as invoices_router
from app.ledger.lifecycle.router import router as lifecycle_router
from app.ledger.payments.router import router as payments_router
from app.outbox.events.router import router as events_router
from app.outbox.events.tasks import purge_history
from app.outbox.partitions import ensure_partitions
from app.outbox.webhooks.router import router as webhooks_router
from app.outbox.webhooks.tasks import delivery_client, dispatcher, run_delivery_tick
from app.reports.router import router as reports_router
from app.tenants.idempotency import IdempotencyMiddleware
from app.tenants.router import me_router
from app.tenants.router import router as tenants_router
from app.tenants.tasks import purge_expired_keys
from app.webhook_payloads import install_webhooks, webhook_schemas

log = logging.getLogger("relance")

SHUTDOWN_DRAIN_SECONDS = 15.0

DESCRIPTION = """
Relance chases unpaid invoices for French creditors, as French law says: payment terms, late
interest, the 40 EUR recovery indemnity, consumer rules, prescription, mise en demeure and the
road to an injonction de payer.

An invoicing platform pushes its creditors, their debtors, invoices and payments; Relance tells
it, by **signed webhooks** (Standard Webhooks), when each invoice must be chased and how, and
records what was done.

* **Auth**: `Authorization: Bearer <api_key>`; a key belongs to one tenant, which sees only its
  own objects (another tenant's id answers 404).
* **Errors**: RFC 9457 `application/problem+json`.
* **Lists**: cursor pagination `{data, has_more, next_cursor}`, `order=asc` (oldest first, the
  default) or `order=desc` (newest first), filters such as `external_id`.
* **Query parameters**: one a route does not declare answers 422 (never silently ignored).
* **Retries**: send an `Idempotency-Key` header on any POST; the same key and body within 24 h
  replays the first answer.
* **Money**: decimal strings with two decimals (`"1250.00"`).
"""

TAGS = [
    {"name": "admin", "description": "Operator API: tenants, API keys, sweeps (admin token)."},
    {"name": "tenant", "description": "The tenant an API key belongs to."},
    {"name": "creditors", "description": "Créanciers: the companies owed money."},
    {"name": "debtors", "description": "Débiteurs: their clients, businesses or consumers."},
    {"name": "invoices", "description": "Factures, their balance, status and dunning state."},
    {"name": "payments", "description": "Règlements recorded against an invoice."},
    {"name": "disputes", "description": "Litiges: they pause the escalation until resolved."},
    {
        "name": "actions",
        "description": "What was done: reminders, calls, mises en demeure, "
        "promises, court filings; and the documents proving the claim.",
    },
    {
        "name": "claims",
        "description": "What may be claimed: late interest, the 40 EUR "
        "indemnity, rates, debtor statements, readiness for court.",
    },
    {
        "name": "letters",
        "description": "Reminder letters and the mise en demeure, in French or in English.",
    },
    {"name": "dunning policies", "description": "When and how invoices are chased."},
    {"name": "webhooks", "description": "Webhook endpoints, their secrets and deliveries."},
    {"name": "events", "description": "Events written for each deadline and state change."},
    {"name": "reports", "description": "Aged balance, DSO, payment-terms table, recovery."},
    {
        "name": "test clock",
        "description": "Sandbox tenants only: their own clock, advanced day by day with the "
        "scheduler's work (as Stripe's test clocks).",
    },
    {"name": "operations", "description": "Health, readiness and metrics."},
]


# The unit of work's before-commit hooks: invoices the ledger marked changed are refreshed (and
# the events their changes cause written) in one batch before every commit.
BEFORE_COMMIT: tuple[BeforeCommit, ...] = (refresh_changed,)


@dataclass
class HousekeepingStats:
    idempotency_keys: int = 0
    history_months: int = 0
    webhook_endpoints: int = 0


HOUSEKEEPING_BATCH = 1000
HOUSEKEEPING_INTERVAL_SECONDS = 3600.0
# Monotonic time of this process's last housekeeping; None: never ran.
_last_housekeeping: float | None = None


async def housekeeping(
    *,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    batch_size: int = HOUSEKEEPING_BATCH,
) -> HousekeepingStats:
    """Each part purges its own rows: the tenants their expired idempotency keys, the outbox
    its history's months past retention (creating the months ahead) and long-deleted
    endpoints. `clock` is the service's (real time): partitions follow the ids' real time."""
    now = clock.now()
    stats = HousekeepingStats()
    stats.idempotency_keys = await purge_expired_keys(sessionmaker, now, batch_size)
    cutoff = now - dt.timedelta(days=settings.event_retention_days)
    purged = await purge_history(
        engine, sessionmaker, now=now, cutoff=cutoff, batch_size=batch_size
    )
    stats.history_months, stats.webhook_endpoints = purged.months, purged.endpoints
    if stats.idempotency_keys or stats.history_months or stats.webhook_endpoints:
        log.info("housekeeping: %s", stats)
    return stats


async def run_housekeeping_tick(app: FastAPI) -> HousekeepingStats | None:
    """The scheduler job: housekeeping at most once an hour per process."""
    global _last_housekeeping
    started = time.monotonic()
    if (
        _last_housekeeping is not None
        and started - _last_housekeeping < HOUSEKEEPING_INTERVAL_SECONDS
    ):
        return None
    _last_housekeeping = started
    state = app.state
    return await housekeeping(
        engine=state.engine,
        sessionmaker=state.sessionmaker,
        clock=state.clock,
        settings=state.settings,
    )


# What each scheduler tick runs, in order: deadlines first, so their events go out in the same
# tick; then deliveries; then the purge of old history.
TICK_JOBS: tuple[tuple[str, TickJob], ...] = (
    ("sweep", sweep_tick),
    ("webhook_deliveries", run_delivery_tick),
    ("housekeeping", run_housekeeping_tick),
    ("rate_coverage", rate_coverage_tick),
)


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate_on_start: bool = True,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app. `freeze_heap`: for a served process (`relance serve`), gc.freeze() once started;
    not for the apps of tests and commands, which come and go in one process."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(database_url(settings.database_url, settings.data_dir))
            engine = create_engine(url, pool_size=settings.db_pool_size)
            app.state.engine = engine
            app.state.sessionmaker = make_sessionmaker(engine, BEFORE_COMMIT)
            app.state.read_engine = read_engine(engine)
            app.state.read_sessionmaker = make_read_sessionmaker(engine)
            app.state.head_revision = head_revision()
            if migrate_on_start:
                await migrate(engine)
                # The history's partitions for this month and the next ones, before any write
                # (real time: the partitions follow the ids, and ids carry real time).
                await ensure_partitions(engine, dt.datetime.now(dt.UTC))
                # Operators learn at start-up when a half-year has no published rate yet.
                await check_rates(app.state.sessionmaker, app.state.clock)
            async with delivery_client() as http:
                app.state.http = http
                scheduler = build_scheduler(app, TICK_JOBS) if settings.scheduler_enabled else None
                if scheduler is not None:
                    scheduler.start()
                if freeze_heap:
                    # FastAPI builds an included router's routes at the first request that
                    # reaches it (about 90 ms for all of ours, paid by the first requests);
                    # the OpenAPI schema walks every route: build both now, before serving.
                    app.openapi()
                    # What start-up built lives as long as the process: out of the cyclic
                    # collector's way, or every full collection walks it and stalls requests
                    # (GET p99 218 ms -> 40 ms under 32 clients, bench/README.md).
                    gc.freeze()
                try:
                    yield
                finally:
                    if scheduler is not None:
                        scheduler.shutdown(wait=False)
                    # Let the webhook requests in flight finish (their leases would otherwise
                    # expire and they would be sent again, which is allowed but avoidable).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(SHUTDOWN_DRAIN_SECONDS):
                            await dispatcher(app).drain()
                    await engine.dispose()
                    forget_process(os.getpid())

    app = FastAPI(
        title="Relance",
        version=__version__,
        summary="Debt recovery (recouvrement de créances) for the French market",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # First on every API route: an unknown query parameter is 422, never ignored.
        dependencies=[QUERY_PARAMS_GUARD],
        docs_url=None,  # served with local assets by install_docs
        redoc_url=None,
    )
    install_webhooks(app)
    app.state.settings = settings
    app.state.claim_of = claim_json  # what the sweep puts in invoice.formal_notice_required
    app.state.clock = clock or Clock(settings.tz)
    app.state.clock.tz = settings.tz
    install_error_handlers(app)
    # Routes are matched in order, one by one: the hot ones (an invoice, its payments) first.
    for router in (
        invoices_router,
        payments_router,
        creditors_router,
        debtors_router,
        disputes_router,
        lifecycle_router,
        payment_plans_router,
        actions_router,
        proof_router,
        escalation_router,
        claims_router,
        letters_router,
        debtor_letters_router,
        litigation_router,
        documents_router,
        policies_router,
        webhooks_router,
        events_router,
        reports_router,
        test_clock_router,
        me_router,
        tenants_router,
        sweep_admin_router,
        ops_router,
    ):
        app.include_router(router)
    install_docs(app)

    _document_problems_and_idempotency(app)

    # Outermost first: request id and metrics see everything, the body limit runs before the
    # idempotency layer reads the body.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={IMPORT_PATH: settings.max_import_bytes},
    )
    app.add_middleware(RequestContextMiddleware)
    return app


def _document_problems_and_idempotency(app: FastAPI) -> None:
    """What the generated schema cannot know: every 422 is a problem+json (FastAPI documents its
    own `HTTPValidationError` where a route did not list 422), every route may answer 422 (an
    unknown query parameter, app.core.query_params), every POST takes an `Idempotency-Key`
    header (handled by a middleware, invisible to the routes), and the webhooks' payloads as the
    service sends them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.get("responses", {})
                if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                    responses["422"] = INVALID_REQUEST_RESPONSE
                responses.setdefault("422", INVALID_REQUEST_RESPONSE)
                if method == "post":
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in webhook_schemas().items():
            components.setdefault(name, definition)  # the same resources in the same mode
        if "HTTPValidationError" not in json.dumps(schema["paths"]):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_SCHEMA = {"schema": {"$ref": "#/components/schemas/Problem"}}
INVALID_REQUEST_RESPONSE: dict[str, Any] = {
    "description": "Invalid request",
    "content": {PROBLEM_JSON: _PROBLEM_SCHEMA, "application/json": _PROBLEM_SCHEMA},
}
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (1 to 255 characters), e.g. a UUID: the same key and body "
    "within 24 hours replays the first answer instead of acting twice; another body gets 422, "
    "a request still in flight 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def app_factory() -> FastAPI:
    """For `uvicorn --factory app.main:app_factory` and each `relance serve --workers N` process:
    settings from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, freeze_heap=True)
