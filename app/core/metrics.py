"""Prometheus metrics. One registry per process; the names are the operators' contract.

With several server processes (`relance serve --workers N`), PROMETHEUS_MULTIPROC_DIR is set
and every process writes its values there: `/metrics` then answers the sum over processes
(`exposition`), whichever process serves the scrape. Each gauge says how its per-process values
combine (`multiprocess_mode`); the `live*` modes forget a process once it has exited
(`mark_process_dead`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# No `*_created` series: a timestamp per counter and histogram that no dashboard reads.
disable_created_metrics()

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "relance_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "relance_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SWEEP_DURATION = Histogram(
    "relance_sweep_duration_seconds",
    "Duration of one sweep",
    registry=REGISTRY,
)
SWEEP_DUE_ROWS = Counter(
    "relance_sweep_due_invoices_total",
    "Invoices claimed as due by sweeps",
    registry=REGISTRY,
)
EVENTS_CREATED = Counter(
    "relance_events_created_total",
    "Events created, by type",
    ["type"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "relance_webhook_deliveries_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "relance_webhook_delivery_duration_seconds",
    "Webhook delivery attempt duration",
    registry=REGISTRY,
)
PENDING_DELIVERIES = Gauge(
    "relance_webhook_pending_deliveries",
    "Deliveries waiting to be sent",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",  # read from the database: the latest reading counts
)
OLDEST_PENDING_AGE = Gauge(
    "relance_webhook_oldest_pending_age_seconds",
    "Age of the oldest pending delivery",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
DUE_BACKLOG_TOP_ENDPOINTS = 20
DUE_BACKLOG_OTHER = "_other"
DUE_BACKLOG = Gauge(
    "relance_webhook_due_deliveries",
    f"Deliveries due and not yet delivered, by endpoint id: the {DUE_BACKLOG_TOP_ENDPOINTS} "
    f'endpoints with the most, the others summed under endpoint="{DUE_BACKLOG_OTHER}"',
    ["endpoint"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
ENDPOINTS_DISABLED = Counter(
    "relance_webhook_endpoints_disabled_total",
    "Endpoints disabled automatically",
    ["reason"],
    registry=REGISTRY,
)
RATE_UNPUBLISHED = Gauge(
    "relance_rate_unpublished",
    "1 when the current or next half-year of a rate kind has no published rate (claims over it "
    "use a provisional one until an operator records it: relance rates add)",
    ["kind", "horizon"],
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
DB_POOL_SIZE = Gauge(
    "relance_db_pool_size",
    "Connections the database pool keeps open (summed over server processes)",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "relance_db_pool_checked_out",
    "Pool connections in use by a request or job (summed over server processes)",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "relance_db_pool_overflow",
    "Connections open beyond the pool size (up to as many again), summed over server processes",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
SCHEDULER_LAG = Gauge(
    "relance_scheduler_lag_seconds",
    "How late the last scheduler tick started each job, after the tick's scheduled time (the "
    "worst over server processes)",
    ["job"],
    registry=REGISTRY,
    multiprocess_mode="livemax",
)


def observe_pool(pool: Any) -> None:
    """The gauges of a SQLAlchemy QueuePool (the engine's `pool`); other pools have no size."""
    if not all(hasattr(pool, name) for name in ("size", "checkedout", "overflow")):
        return
    DB_POOL_SIZE.set(pool.size())
    DB_POOL_CHECKED_OUT.set(pool.checkedout())
    # SQLAlchemy counts from -size while the pool is not full yet: only the excess matters here.
    DB_POOL_OVERFLOW.set(max(pool.overflow(), 0))


_due_backlog_labels: set[str] = set()


def observe_due_backlog(top: Iterable[tuple[str, int]], total: int) -> None:
    """The due backlog per endpoint: `top` (the endpoints with the most, at most
    DUE_BACKLOG_TOP_ENDPOINTS) and the rest of `total` as one series, so the number of series
    stays bounded whatever the number of endpoints. An endpoint that left the top reads 0 (in
    multiprocess mode a series cannot be removed from the shared files, only set)."""
    shown = dict(top)
    shown[DUE_BACKLOG_OTHER] = max(total - sum(shown.values()), 0)
    for endpoint in _due_backlog_labels - shown.keys():
        DUE_BACKLOG.labels(endpoint=endpoint).set(0)
    for endpoint, count in shown.items():
        DUE_BACKLOG.labels(endpoint=endpoint).set(count)
    # Forgotten once at 0: the labels this process tracks stay the top and those just left.
    _due_backlog_labels.clear()
    _due_backlog_labels.update(shown)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def exposition() -> bytes:
    """The text format of /metrics: this process's registry, or with several server processes
    the values all of them wrote to the shared directory, combined."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def forget_process(pid: int) -> None:
    """At a server process's exit: its `live*` gauges stop counting."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)
