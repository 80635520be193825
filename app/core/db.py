"""Database engine, the declarative base, and the request's unit of work (one commit boundary)."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import (
    DateTime,
    Delete,
    MetaData,
    Numeric,
    String,
    Table,
    Update,
    event,
    func,
    inspect,
)
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import TextClause

from app.core.clock import Clock
from app.core.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(14, 2)
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        Decimal: MONEY,
        dt.datetime: DateTime(timezone=True),
        str: String(),
    }


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


def async_url(url: str) -> str:
    """`postgresql://...` as given by the operator -> the asyncpg driver URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(
            f"RELANCE_DATABASE_URL must be a postgresql:// URL, got {parsed.drivername}"
        )
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


# The execution option that marks an engine whose connections go through a transaction pooler.
POOLER_OPTION = "relance_pooler"


def _pooler_connect_args() -> dict[str, Any]:
    """Behind PgBouncer in transaction mode (1.18 in Debian 12: no `max_prepared_statements`),
    consecutive transactions of one client may run on different server connections: asyncpg
    must keep no prepared statement across them (no statement cache), and SQLAlchemy's must be
    named uniquely, so that two clients' statements never collide on one server connection."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__relance_{uuid.uuid4().hex}__",
    }


def create_engine(
    url: str, *, pool_size: int = 10, pooler: str | None = None, **kwargs: Any
) -> AsyncEngine:
    """The service's engine. `pooler`: "pgbouncer" when `url` is a transaction pooler (default:
    the RELANCE_DB_POOLER setting)."""
    pooler = pooler or get_settings().db_pooler
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 30}
    if pooler:
        connect_args |= _pooler_connect_args()
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        # No overflow: an overflow connection is closed as soon as it is returned, so under a
        # load above the pool every request would pay a new connection (the TLS probe included).
        # Past the pool, requests wait for a connection instead (pool_timeout).
        max_overflow=0,
        # No ping before every checkout (a round trip per request): a connection broken by a
        # database restart fails its request with 503 (retryable, nothing done) and is dropped.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args=connect_args,
        execution_options={POOLER_OPTION: bool(pooler)},
        **kwargs,
    )


def behind_pooler(engine: AsyncEngine) -> bool:
    """Whether this engine's connections go through a transaction pooler (`create_engine`)."""
    return bool(engine.get_execution_options().get(POOLER_OPTION))


async def on_driver(conn: AsyncConnection, call: Callable[[Any], Awaitable[T]]) -> T:
    """`call(driver)` on the connection's asyncpg connection, in its transaction if it has one:
    for the hot statements, where SQLAlchemy's execution layer cost several times the driver's
    CPU (bench/README.md)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if conn.in_transaction() and not driver.is_in_transaction():
        # SQLAlchemy sends BEGIN with its first statement: when the driver's comes first, it
        # would run on its own, committed whatever the transaction then does. Its adapter's
        # BEGIN does nothing in autocommit (`one_statement`, `read_engine`).
        await raw.dbapi_connection._start_transaction()  # type: ignore[union-attr]
    try:
        if behind_pooler(conn.engine) and not driver.is_in_transaction():
            # Its prepare and its execution in one transaction: on one server connection.
            async with driver.transaction():
                return await call(driver)
        return await call(driver)
    except Exception as exc:
        # SQLAlchemy did not see this error: a connection the database dropped must leave the
        # pool here, or it would fail the requests after this one too; the request gets a 503.
        if not driver.is_closed():
            raise
        await conn.invalidate()
        raise ConnectionError("the database closed the connection") from exc


@functools.cache
def _driver_statement(statement: TextClause) -> tuple[str, tuple[str, ...]]:
    compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), tuple(compiled.positiontup or ())


async def driver_fetch(
    conn: AsyncConnection, statement: TextClause, params: dict[str, Any]
) -> list[Any]:
    """A `text()` statement's rows through the driver (`on_driver`), its `:name` parameters
    taken from `params`, compiled once: asyncpg records (JSON decoded by the codec SQLAlchemy's
    dialect sets on each connection)."""
    sql, names = _driver_statement(statement)
    args = [params[name] for name in names]
    records: list[Any] = await on_driver(conn, lambda driver: driver.fetch(sql, *args))
    return records


def _rows_in(table: Table, column: str, param: str) -> tuple[str, str]:
    """Every column of `table` (in its order, as `named_rows` names them) and the FROM of its
    rows whose `column` is one of the array parameter `param` (e.g. "$1"). Joined as a set, not
    `= ANY($1)`: see _HISTORY in app/escalation/service.py."""
    assert isinstance(table.c[column].type, String), "the array is cast to varchar[]"
    columns = ", ".join(f"t.{c.name}" for c in table.columns)
    source = (
        f"FROM (SELECT DISTINCT unnest({param}::varchar[]) AS value) v "
        f"JOIN {table.name} t ON t.{column} = v.value"
    )
    return columns, source


@functools.cache
def _select_where(table: Table, column: str) -> str:
    columns, source = _rows_in(table, column, "$1")
    return f"SELECT {columns} {source}"


def named_rows(model: Any, records: Iterable[Any] | None) -> list[SimpleNamespace]:
    """Records of every column of `model` in its table's order (`rows_where`'s, or
    `rows_as_array`'s), each with its columns as attributes."""
    names = [c.name for c in model.__table__.columns]
    return [SimpleNamespace(**dict(zip(names, record, strict=True))) for record in records or ()]


async def rows_where(
    conn: AsyncConnection, model: Any, column: str, values: Iterable[str]
) -> list[SimpleNamespace]:
    """The rows of `model` whose `column` is one of `values`, through the driver (one round
    trip), each with its columns as attributes as the ORM object would have them (JSON decoded
    by the codec SQLAlchemy's dialect sets on each connection): for readers only, in no
    particular order."""
    sql = _select_where(model.__table__, column)
    return named_rows(model, await on_driver(conn, lambda driver: driver.fetch(sql, list(values))))


async def rows_by_id(
    conn: AsyncConnection, model: Any, ids: Iterable[str]
) -> list[SimpleNamespace]:
    """`rows_where` by primary key."""
    return await rows_where(conn, model, "id", ids)


@functools.cache
def _named_tuple(fields: tuple[str, ...]) -> Any:
    return collections.namedtuple("Row", fields)


def named_tuples(result: Result[Any]) -> list[Any]:
    """A Core result's rows as named tuples, for readers that take attributes: SQLAlchemy's
    `Row` answers each attribute through a lookup in Python, which made `to_out` of an invoice
    cost 24 µs instead of 6 (bench/README.md)."""
    make = _named_tuple(tuple(result.keys()))._make
    return list(map(make, result.all()))


@functools.cache
def rows_as_array(table: Table, column: str, param: str) -> str:
    """A scalar subquery: `rows_where`'s rows as an array of anonymous records, which asyncpg
    decodes into tuples of native values (`named_rows` names them); NULL when there are none.
    `param`: the array parameter, e.g. "$2"."""
    columns, source = _rows_in(table, column, param)
    return f"(SELECT array_agg(ROW({columns})) {source})"


async def rows_where_many(
    conn: AsyncConnection, queries: Sequence[tuple[Any, str, Iterable[str]]]
) -> list[list[SimpleNamespace]]:
    """`rows_where` of each (model, column, values), all in one round trip."""
    sql = "SELECT " + ", ".join(
        rows_as_array(model.__table__, column, f"${n}")
        for n, (model, column, _) in enumerate(queries, 1)
    )
    args = [list(values) for _, _, values in queries]
    record = await on_driver(conn, lambda driver: driver.fetchrow(sql, *args))
    return [named_rows(model, record[n]) for n, (model, _, _) in enumerate(queries)]


# --- the unit of work ----------------------------------------------------------------------------
# One commit boundary for requests, the sweep and the CLI. Ledger writes end with
# `mark_invoice_changed`; `flush` (always run before the commit) hands every invoice marked since
# the last flush, with the events it causes, to the before-commit hooks that the composition root
# registered on the sessionmaker (the escalation's refresh, in one batch). So services and
# repositories only flush, and the ledger never calls the escalation.


@dataclass(frozen=True)
class QueuedEvent:
    """An event a ledger change causes, written once the invoice is refreshed: its `data` gets
    the invoice as the API shows it (`data.invoice`) besides what is given here."""

    type: str
    occurrence: str  # unique per invoice: the event is written once
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class InvoiceChanges:
    """What a unit of work changed since its last flush: invoice -> the events it causes."""

    clock: Clock
    invoices: dict[Any, list[QueuedEvent]] = field(default_factory=dict)


BeforeCommit = Callable[[AsyncSession, InvoiceChanges], Awaitable[None]]

_HOOKS = "relance.before_commit"
_CHANGES = "relance.invoice_changes"


class UnitOfWorkSession(Session):
    """The service's sessions (`make_sessionmaker`): they know which rows their transaction
    locked (`remember_locked`)."""


@event.listens_for(UnitOfWorkSession, "after_commit")
@event.listens_for(UnitOfWorkSession, "after_soft_rollback")
def _forget_locks(session: Session, *_: Any) -> None:
    # The transaction's locks end with it; a savepoint's rollback may have released some.
    session.info.pop(_LOCKED, None)


def make_sessionmaker(
    engine: AsyncEngine, before_commit: Sequence[BeforeCommit] = ()
) -> async_sessionmaker[AsyncSession]:
    """Sessions that run `before_commit` on the invoices marked changed, at each `flush`."""
    return async_sessionmaker(
        engine,
        sync_session_class=UnitOfWorkSession,
        expire_on_commit=False,
        autoflush=False,
        info={_HOOKS: tuple(before_commit)},
    )


def mark_invoice_changed(
    session: AsyncSession, invoice: Any, clock: Clock, event: QueuedEvent | None = None
) -> None:
    """The one seam for ledger writes: this invoice (an ORM object; new ones are planned before
    their INSERT) changed, maybe causing `event`. Its dunning state is refreshed at the next
    flush, in one batch with every other invoice marked meanwhile."""
    changes: InvoiceChanges = session.info.setdefault(_CHANGES, InvoiceChanges(clock))
    events = changes.invoices.setdefault(invoice, [])
    if event is not None:
        events.append(event)


_LOADED = "relance.loaded"


def remember_loaded(session: AsyncSession, model: type[Any], row: Any) -> None:
    """A row the caller read without the ORM (its columns as attributes, `id` among them), for
    the before-commit hooks to find as they find the session's own objects: no second query."""
    session.info.setdefault(_LOADED, {})[model, row.id] = row


def loaded(session: AsyncSession, model: type[Any], object_id: str) -> Any | None:
    """What `remember_loaded` kept of that model and id, else the session's object, else None."""
    found = session.info.get(_LOADED, {}).get((model, object_id))
    if found is not None:
        return found
    identity_map = session.sync_session.identity_map
    return identity_map.get(inspect(model).identity_key_from_primary_key((object_id,)))


_LOCKED = "relance.locked"


def remember_locked(session: AsyncSession, obj: Any) -> None:
    """`obj` was just read from its row locked FOR UPDATE (populate_existing): until the
    transaction ends only this session can change the row, so the object is the row."""
    session.info.setdefault(_LOCKED, {})[type(obj), inspect(obj).identity] = obj


def is_locked_and_current(session: AsyncSession, obj: Any) -> bool:
    """Whether `obj` is what this transaction locked (`remember_locked`) and has every attribute
    loaded: after a flush (which RETURNs what the server set) it is its row as stored, and a
    before-commit hook need not read it again. A commit or any rollback forgets the locks."""
    state = inspect(obj)
    locked = session.info.get(_LOCKED, {}).get((type(obj), state.identity))
    return locked is obj and not state.expired_attributes


async def flush(session: AsyncSession) -> None:
    """Run the before-commit hooks on what was marked changed since the last time, then flush.
    The hooks see the session unflushed: new invoices can be planned before their INSERT."""
    while (changes := session.info.pop(_CHANGES, None)) is not None:
        for hook in session.info.get(_HOOKS, ()):
            await hook(session, changes)
    await session.flush()


async def commit(session: AsyncSession) -> None:
    await flush(session)
    await session.commit()


@contextlib.asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session committed (hooks first) when the block ends, rolled back on any error."""
    async with sessionmaker() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            raise


async def delete_in_batches(
    sessionmaker: async_sessionmaker[AsyncSession], stmt: Delete | Update, batch_size: int
) -> int:
    """Run a DELETE (or UPDATE) limited to `batch_size` rows again and again, one transaction
    each, until a batch comes back short: no long lock, and the work resumes where it stopped."""
    total = 0
    while True:
        async with sessionmaker() as session:
            result = await session.execute(stmt)
            await session.commit()
        done = int(getattr(result, "rowcount", 0) or 0)
        total += done
        if done < batch_size:
            return total


# The ASGI scope key under which a middleware that owns the request's transaction (the
# idempotency layer) hands its session to the route.
SHARED_SESSION = "relance.session"


@contextlib.asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the block ends, rolls back on any error.

    Services and repositories only flush. As `SessionDep` (scope="function") the commit happens
    before the response is sent: a client never sees a success that was not committed. A hot
    route uses it as `async with request_session(request) as session:`, which costs less per
    request than a yield dependency.

    Under a middleware that owns the transaction, the route runs in a savepoint of it instead: an
    error undoes the route's work only, and the middleware commits (with what it adds).
    """
    shared: AsyncSession | None = request.scope.get(SHARED_SESSION)
    if shared is not None:
        async with shared.begin_nested():
            yield shared
            await flush(shared)
        return
    if request.method in _READS:
        # A read has nothing to commit: no BEGIN and COMMIT round trips around its queries.
        # Under READ COMMITTED each statement sees its own snapshot anyway.
        async with request.app.state.read_sessionmaker() as session:
            yield session
        return
    async with unit_of_work(request.app.state.sessionmaker) as session:
        yield session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request_session(request) as session:
        yield session


_READS = frozenset({"GET", "HEAD"})


async def one_statement(session: AsyncSession) -> None:
    """Let `session` run its statements each on its own (autocommit): for work whose only write
    is a single statement, which is atomic by itself, no BEGIN and COMMIT round trips. A session
    already in a transaction (a request's shared one, under the idempotency layer) stays in it,
    and so does one behind a transaction pooler (see `read_engine`)."""
    bind = session.bind
    if session.in_transaction() or not isinstance(bind, AsyncEngine) or behind_pooler(bind):
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, in autocommit: each statement on its own, no transaction to open. Not
    behind a transaction pooler: there the prepare and the execution of a statement outside a
    transaction may reach two different server connections, so reads run in one."""
    if behind_pooler(engine):
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


_STATEMENT_ENGINES: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], AsyncEngine] = (
    weakref.WeakKeyDictionary()
)


def statement_connection(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncConnection:
    """A Core connection of the sessionmaker's pool, as `read_engine` makes them, for background
    work done one statement at a time (the delivery worker's claims and records), without an ORM
    session around it: `async with statement_connection(sm) as conn: ...; await conn.commit()`
    (the commit is for a transaction pooler; nothing to commit otherwise)."""
    engine = _STATEMENT_ENGINES.get(sessionmaker)
    if engine is None:  # execution_options() costs 75 us: once per sessionmaker
        engine = _STATEMENT_ENGINES[sessionmaker] = read_engine(sessionmaker.kw["bind"])
    return engine.connect()


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads (see `read_engine`)."""
    return make_sessionmaker(read_engine(engine))


def read_connection(request: Request) -> AsyncConnection:
    """A Core connection for a hot read (one round trip, no ORM session, no transaction), to use
    as `async with read_connection(request) as conn:`. Not a dependency: a yield dependency costs
    more per request than the query it serves."""
    connection: AsyncConnection = request.app.state.read_engine.connect()
    return connection


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
