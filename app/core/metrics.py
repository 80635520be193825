"""Prometheus metrics. One registry per process; the names are the operators' contract."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
)
OLDEST_PENDING_AGE = Gauge(
    "relance_webhook_oldest_pending_age_seconds",
    "Age of the oldest pending delivery",
    registry=REGISTRY,
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
)
