"""JSON logs carrying the request id of the request being served."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC with microseconds (2026-12-01T09:00:00.123456+00:00).
            timestamp="time",
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # RequestContextMiddleware logs each request once (relance.access: JSON, with its id, route
    # and duration); uvicorn's access line was a second, unstructured copy. Without handlers
    # uvicorn does not even format it. (`relance serve` also passes access_log=False; this holds
    # in each --workers process too, which configures its logging after uvicorn's.)
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    # APScheduler says "Running job ..." and "... executed successfully" at INFO on every tick
    # (every 10 s): only its warnings (missed runs, skipped instances) and errors are news.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
