"""Cursor pagination: `{"data", "has_more", "next_cursor"}`, ordered by id (ids are time-ordered,
so the order is stable and new rows never shift earlier pages), oldest or newest first.

A cursor is the last id of a page and the order it was read in: a cursor given with the other
order is refused (422) rather than silently read from the wrong side of its position."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.db import named_tuples
from app.core.errors import FieldError, Unprocessable

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None


Order = Literal["asc", "desc"]


class PageParams(BaseModel):
    limit: int
    cursor: str | None
    order: Order = "asc"


# async, as every dependency here: FastAPI runs a plain `def` dependency in a worker thread, a
# hop that cost a list about 0.2 ms (bench/README.md, eighth session).
async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200).", examples=[50])
    ] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="`next_cursor` of the previous page, with the same `order` and filters.",
            examples=["djI6YTpjcmVkXzAxSjlaM1E0"],
        ),
    ] = None,
    order: Annotated[
        Order,
        Query(
            description="Creation order: `asc` oldest first (the default), `desc` newest first.",
            examples=["desc"],
        ),
    ] = "asc",
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor, order=order)


# v2 cursors carry the order they were read in; v1 ones (before `order` existed) were all `asc`.
_CURSOR_PREFIXES: dict[str, Order] = {"v2:a:": "asc", "v2:d:": "desc", "v1:": "asc"}
_WRITTEN_PREFIX: dict[Order, str] = {"asc": "v2:a:", "desc": "v2:d:"}


def encode_cursor(last_id: str, order: Order = "asc") -> str:
    raw = _WRITTEN_PREFIX[order] + last_id
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order = "asc") -> str:
    """The last id a cursor names; 422 if it is not one of ours or was read in the other order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    prefix = next((p for p in _CURSOR_PREFIXES if decoded.startswith(p)), None)
    last_id = decoded[len(prefix) :] if prefix else ""
    if prefix is None or not last_id or not last_id.isprintable():
        raise Unprocessable(
            "Invalid cursor: pass the next_cursor of the previous page.",
            errors=[FieldError(loc=["query", "cursor"], msg="invalid cursor")],
        )
    if _CURSOR_PREFIXES[prefix] != order:
        written = _CURSOR_PREFIXES[prefix]
        raise Unprocessable(
            f"This cursor continues a list read with order={written}; pass order={written} "
            "with it, or start again without a cursor.",
            errors=[FieldError(loc=["query", "cursor"], msg=f"cursor of an order={written} list")],
        )
    return last_id


async def paginate(
    session: AsyncSession | AsyncConnection,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
) -> tuple[Sequence[Any], bool, str | None]:
    """Run `stmt` (already filtered by tenant) one page at a time, keyed on `id_column`, in
    `params.order`. The rows are ORM objects on a session, Core rows on a connection (a hot
    list: no unit of work, no object per row)."""
    descending = params.order == "desc"
    if params.cursor:
        last_id = decode_cursor(params.cursor, params.order)
        stmt = stmt.where(id_column < last_id if descending else id_column > last_id)
    ordered = stmt.order_by(id_column.desc() if descending else id_column)
    result = await session.execute(ordered.limit(params.limit + 1))
    rows = result.scalars().all() if isinstance(session, AsyncSession) else named_tuples(result)
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = (
        encode_cursor(getattr(rows[-1], id_column.key), params.order) if has_more and rows else None
    )
    return rows, has_more, next_cursor


async def page_of(
    session: AsyncSession | AsyncConnection,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
    out: Callable[[Any], T],
) -> Page[T]:
    """`paginate`, answered as a page of `out(row)` for each row."""
    rows, has_more, cursor = await paginate(session, stmt, id_column, params)
    return Page(data=[out(r) for r in rows], has_more=has_more, next_cursor=cursor)
