"""Small shared pieces for tenant-scoped resources."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import flush, remember_locked
from app.core.errors import Conflict, FieldError, NotFound, Unprocessable

M = TypeVar("M")


# The statements of get_owned, built once per (model, lock): a statement built per call cost
# about 45 µs of CPU, its cache key included (bench/README.md, eighth session).
_OWNED: dict[tuple[type[Any], bool], Select[Any]] = {}


def _owned(model: type[Any], lock: bool) -> Select[Any]:
    stmt = _OWNED.get((model, lock))
    if stmt is None:
        stmt = select(model).where(
            model.id == bindparam("object_id"), model.tenant_id == bindparam("tenant_id")
        )
        if lock:
            # The row as locked, even over an object the session holds already.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        _OWNED[(model, lock)] = stmt
    return stmt


async def get_owned(
    session: AsyncSession, model: type[M], tenant_id: str, object_id: str, *, lock: bool = False
) -> M:
    """The tenant's object with that id; another tenant's answers 404 exactly like a missing one.
    `lock`: its row locked FOR UPDATE until the transaction ends (`remember_locked`)."""
    params = {"object_id": object_id, "tenant_id": tenant_id}
    found: M | None = (await session.execute(_owned(model, lock), params)).scalar_one_or_none()
    if found is None:
        label = getattr(model, "__label__", model.__name__.lower())
        raise NotFound(f"No {label} {object_id}.")
    if lock:
        remember_locked(session, found)
    return found


async def flush_or_conflict(
    session: AsyncSession,
    conflicts: dict[str, str],
    references: dict[str, FieldError] | None = None,
) -> None:
    """Flush; a unique violation named in `conflicts` (constraint -> message) becomes 409, a
    foreign key named in `references` (constraint -> the field naming the missing object) 422."""
    try:
        await flush(session)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        field = (references or {}).get(constraint or "")
        if field is not None:
            raise Unprocessable(field.msg, errors=[field]) from None
        message = conflicts.get(constraint or "") or next(
            (m for name, m in conflicts.items() if name in str(exc.orig)), None
        )
        if message is None:
            raise
        raise Conflict(message) from None


def apply_changes(target: Any, changes: dict[str, Any]) -> None:
    for field, value in changes.items():
        setattr(target, field, value)
