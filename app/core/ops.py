"""Operator endpoints outside /v1: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import problem_responses
from app.core.metrics import exposition, observe_pool
from app.core.migrate import current_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrated to head",
    responses=problem_responses(503),
)
async def readyz(request: Request) -> JSONResponse:
    head = request.app.state.head_revision
    try:
        current = await asyncio.wait_for(current_revision(request.app.state.engine), timeout=3)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        # Any failure to reach the database means not ready: the driver's errors (wrapped by
        # SQLAlchemy), a refused or reset connection, or no answer within the 3 s.
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__},
            status_code=503,
        )
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "ok",
                "migrations": {"current": current, "head": head},
            },
            status_code=503,
        )
    return JSONResponse(
        {"status": "ok", "database": "ok", "migrations": {"current": current, "head": head}}
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="The Prometheus text format: requests, sweeps, events, webhook deliveries, the "
    "database pool (`relance_db_pool_*`), the scheduler's lag per job "
    "(`relance_scheduler_lag_seconds`), unpublished rates. With `relance serve --workers N`, "
    "the values of all N processes, combined.",
    response_class=Response,
)
async def metrics(request: Request) -> Response:
    observe_pool(request.app.state.engine.pool)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
