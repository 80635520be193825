"""Cursor pagination: `{"data", "has_more", "next_cursor"}`, ordered by id (ids are time-ordered,
so the order is stable and new rows never shift earlier pages)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import FieldError, Unprocessable

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200).")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


_CURSOR_PREFIX = "v1:"


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_CURSOR_PREFIX) or not decoded[len(_CURSOR_PREFIX) :].isprintable():
        raise Unprocessable(
            "Invalid cursor: pass the next_cursor of the previous page.",
            errors=[FieldError(loc=["query", "cursor"], msg="invalid cursor")],
        )
    return decoded[len(_CURSOR_PREFIX) :]


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
) -> tuple[Sequence[Any], bool, str | None]:
    """Run `stmt` (already filtered by tenant) one page at a time, keyed on `id_column`."""
    if params.cursor:
        stmt = stmt.where(id_column > decode_cursor(params.cursor))
    rows = (await session.execute(stmt.order_by(id_column).limit(params.limit + 1))).scalars().all()
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor(getattr(rows[-1], id_column.key)) if has_more and rows else None
    return rows, has_more, next_cursor


async def page_of(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
    out: Callable[[Any], T],
) -> Page[T]:
    """`paginate`, answered as a page of `out(row)` for each row."""
    rows, has_more, cursor = await paginate(session, stmt, id_column, params)
    return Page(data=[out(r) for r in rows], has_more=has_more, next_cursor=cursor)
