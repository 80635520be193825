"""RFC 9457 problem details: one base exception, one renderer, handlers for everything else."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.logging import request_id_var

log = logging.getLogger("relance.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://relance.dev/problems/"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """An expected failure: rendered as problem+json with its status."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extra = extra


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(ProblemError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(ProblemError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(ProblemError):
    status, code, title = 422, "validation-error", "Invalid request"


class ServiceUnavailable(ProblemError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = _body(status, code, title, detail, errors, extra)
    if request is not None:
        body["instance"] = request.url.path
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _body(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] | None,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update(extra)
    return body


def problem_body(exc: ProblemError) -> dict[str, Any]:
    """The problem of `exc` as a JSON object, for a problem embedded in an answer (a batch
    item's), as the handler renders it but without the request's instance and id."""
    return _body(exc.status, exc.code, exc.title, exc.detail, exc.errors, exc.extra)


_STATUS_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
    503: ("service-unavailable", "Service unavailable"),
}


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def field_errors(
    details: Iterable[Mapping[str, Any]], root: Sequence[str | int] = ()
) -> list[FieldError]:
    """Pydantic's error details as field errors, each `loc` under `root`."""
    return [
        FieldError(
            loc=[*root, *_clean_loc(err.get("loc", ()))],
            # Pydantic prefixes messages from our own validators with "Value error, ".
            msg=str(err.get("msg", "invalid")).removeprefix("Value error, "),
        )
        for err in details
    ]


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return field_errors(exc.errors())


def errors_summary(errors: Sequence[FieldError], *, skip: int = 0) -> str:
    """`path: message; ...` for the first five errors, each path without its first `skip`
    parts; an error on the whole object (no path left) is its message alone."""
    parts = []
    for error in errors[:5]:
        path = ".".join(str(p) for p in error.loc[skip:])
        parts.append(f"{path}: {error.msg}" if path else error.msg)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            request=request,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        return problem_response(
            422,
            "validation-error",
            "Invalid request",
            errors_summary(errors),
            request=request,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _STATUS_CODES.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code,
            code,
            title,
            detail,
            request=request,
            headers=dict(exc.headers) if exc.headers else None,
        )


def unexpected_error_response(exc: BaseException, method: str, path: str) -> JSONResponse:
    """The catch-all: 503 when the database is unreachable or rolled the transaction back, else
    a 500 logged with the request id and no internals in the body."""
    states = _sqlstates(exc)
    if states & _TEXT_NOT_STORABLE:
        # A NUL (\u0000) in a body, query or path: PostgreSQL text cannot hold it.
        return problem_response(
            422,
            "validation-error",
            "Invalid request",
            "Text must not contain NUL (\\u0000) characters.",
        )
    if states & _CONCURRENCY_FAILURES:
        # PostgreSQL rolled the transaction back (a deadlock it broke, a serialization
        # failure): nothing was done, and the same request again can succeed.
        log.warning("transaction rolled back on %s %s: %s", method, path, sorted(states))
        return problem_response(
            503,
            "service-unavailable",
            "Service unavailable",
            "A concurrent request conflicted with this one; nothing was done, retry.",
            headers={"Retry-After": "1"},
        )
    if _is_database_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", method, path, type(exc).__name__)
        return problem_response(
            503,
            "service-unavailable",
            "Service unavailable",
            "The database is unavailable; retry later.",
            headers={"Retry-After": "5"},
        )
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return problem_response(
        500,
        "internal-error",
        "Internal server error",
        "An unexpected error occurred; it has been logged with the request id.",
    )


def _is_database_unavailable(exc: BaseException) -> bool:
    # PoolTimeout: every connection of the pool stayed busy for pool_timeout (an overload):
    # retryable like an outage, nothing was done.
    if isinstance(
        exc,
        OperationalError | InterfaceError | ConnectionError | OSError | TimeoutError | PoolTimeout,
    ):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # The driver's own error, as SQLAlchemy wrapped it: e.g. "the database system is shutting
    # down" (57P03) while connecting is a plain DBAPIError, not an OperationalError.
    if any(s.startswith("08") or s in _UNAVAILABLE_SQLSTATES for s in _sqlstates(exc)):
        return True
    names = {type(e).__name__ for e in _causes(exc)}
    return bool(
        names & {"ConnectionDoesNotExistError", "CannotConnectNowError", "TooManyConnectionsError"}
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """The error and the driver's errors SQLAlchemy wrapped in it."""
    found = [exc, getattr(exc, "orig", None), exc.__cause__]
    return [e for e in found if isinstance(e, BaseException)]


def _sqlstates(exc: BaseException) -> set[str]:
    return {str(s) for e in _causes(exc) if (s := getattr(e, "sqlstate", None))}


# Admin/crash shutdown, cannot connect now, too many connections (class 08 is connection errors).
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# serialization_failure, deadlock_detected: the transaction was rolled back, retryable.
_CONCURRENCY_FAILURES = {"40001", "40P01"}
# character_not_in_repertoire, untranslatable_character: a NUL in text.
_TEXT_NOT_STORABLE = {"22021", "22P05"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: documents its expected problem statuses in OpenAPI."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        _, title = _STATUS_CODES.get(status, ("error", "Error"))
        out[status] = {
            "model": Problem,
            "description": title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out
