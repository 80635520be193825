"""The `relance` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

from app.core.database_server import DatabaseStartError, database_url
from app.core.db import create_engine
from app.core.logging import configure_logging
from app.core.metrics import MULTIPROC_DIR_ENV
from app.core.migrate import make_revision, migrate
from app.core.settings import get_settings
from app.ledger.invoices.csv_import import COLUMNS
from app.legal.rates import RATE_KINDS


@contextlib.contextmanager
def _shared_metrics_dir() -> Iterator[None]:
    """For several server processes: the directory where each writes its metrics, so that
    /metrics answers them all (prometheus_client's multiprocess mode). A fresh one per run
    (values of an earlier run must not add up), unless the operator chose one."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="relance-metrics-") as directory:
        os.environ[MULTIPROC_DIR_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROC_DIR_ENV]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    # No uvicorn access log: RequestContextMiddleware logs each request once, in JSON, with
    # its id, route and duration (uvicorn's line was a second, unstructured copy).
    options = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
    }
    with database_url(settings.database_url, settings.data_dir) as url:
        if args.workers > 1:
            # Processes of their own, each with its pool and scheduler: safe as replicas are.
            # They read their settings from the environment, the (embedded) database's URL too.
            os.environ["RELANCE_DATABASE_URL"] = url
            with _shared_metrics_dir():
                uvicorn.run("app.main:app_factory", factory=True, workers=args.workers, **options)
        else:
            settings = settings.model_copy(update={"database_url": url})
            # The lifespan migrates under the advisory lock.
            uvicorn.run(create_app(settings), **options)
    return 0


async def _with_engine(coro_fn: object, *args: object) -> None:
    settings = get_settings()
    with database_url(settings.database_url, settings.data_dir) as url:
        engine = create_engine(url, pool_size=2)
        try:
            await coro_fn(engine, *args)  # type: ignore[operator]
        finally:
            await engine.dispose()


def _migrate(_: argparse.Namespace) -> int:
    asyncio.run(_with_engine(migrate))
    print("database migrated to head")
    return 0


def _makemigration(args: argparse.Namespace) -> int:
    asyncio.run(_with_engine(make_revision, args.message))
    return 0


def _tenant_create(args: argparse.Namespace) -> int:
    from app.tenants.service import create_tenant

    async def run(engine: object) -> None:
        from sqlalchemy.ext.asyncio import AsyncEngine

        from app.core.db import make_sessionmaker

        assert isinstance(engine, AsyncEngine)
        await migrate(engine)
        async with make_sessionmaker(engine)() as session:
            sandbox_from = dt.datetime.now(dt.UTC) if args.sandbox else None
            tenant, key = await create_tenant(session, args.name, sandbox_from=sandbox_from)
            await session.commit()
        out = {"id": tenant.id, "name": tenant.name, "api_key": key}
        print(json.dumps(out | {"sandbox": True} if args.sandbox else out))

    asyncio.run(_with_engine(run))
    return 0


def _import_invoices(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.core.clock import Clock
    from app.core.db import make_sessionmaker
    from app.ledger.invoices.csv_import import import_invoices
    from app.main import BEFORE_COMMIT
    from app.tenants.service import authenticate, tenant_clock

    path = Path(args.file)
    if not path.is_file():
        print(f"relance: no such file: {path}", file=sys.stderr)
        return 2
    outcome: dict[str, object] = {}

    async def run(engine: object) -> None:
        assert isinstance(engine, AsyncEngine)
        await migrate(engine)
        sessionmaker = make_sessionmaker(engine, BEFORE_COMMIT)
        async with sessionmaker() as session:
            tenant = await authenticate(session, args.tenant_key)
            if tenant is None:
                outcome["error"] = "invalid or revoked API key (--tenant-key)"
                return
            # A sandbox tenant imports at its test clock.
            clock = await tenant_clock(session, tenant, Clock(get_settings().tz))
        summary = await import_invoices(
            path, sessionmaker, tenant.id, clock, progress=not args.quiet
        )
        outcome["summary"] = summary

    asyncio.run(_with_engine(run))
    if "error" in outcome:
        print(f"relance: {outcome['error']}", file=sys.stderr)
        return 2
    summary = outcome["summary"]
    from app.ledger.invoices.csv_import import ImportSummary

    assert isinstance(summary, ImportSummary)
    print(
        f"{summary.rows} rows: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.rejected} rejected"
    )
    if summary.unknown_columns:
        print(f"ignored columns: {', '.join(summary.unknown_columns)}")
    if summary.rejected_file:
        print(f"rejected rows and reasons: {summary.rejected_file}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    try:
        as_of = dt.datetime.fromisoformat(args.as_of)
    except ValueError:
        print(f"relance: --as-of is not an RFC 3339 timestamp: {args.as_of}", file=sys.stderr)
        return 2
    if as_of.tzinfo is None:
        print(
            "relance: --as-of needs a UTC offset, e.g. 2026-03-02T06:00:00+01:00", file=sys.stderr
        )
        return 2

    from app.core.clock import FixedInstant
    from app.escalation.tasks import deliver_all_due, sweep
    from app.main import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    outcome: dict[str, object] = {}

    async def run() -> None:
        with database_url(settings.database_url, settings.data_dir) as url:
            app = create_app(
                settings.model_copy(update={"database_url": url, "scheduler_enabled": False})
            )
            async with app.router.lifespan_context(app):
                clock = FixedInstant(app.state.clock, as_of)
                stats = await sweep(app.state.sessionmaker, clock)
                outcome.update(
                    as_of=as_of.isoformat(),
                    invoices_swept=stats.invoices,
                    events_created=stats.events,
                    events_by_type=stats.by_type,
                    deliveries=await deliver_all_due(app, clock, budget=None),
                )

    asyncio.run(run())
    print(json.dumps(outcome))
    return 0


def _rates_add(args: argparse.Namespace) -> int:
    """Record (or correct) a half-year's published rate: what POST /v1/admin/rates does, with
    the same validation and the same code (app.claims.service.publish_rate, which stores it
    through app.legal.repository)."""
    from pydantic import ValidationError
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.claims.schemas import RatePublish, RatesOut
    from app.claims.service import publish_rate
    from app.core.clock import Clock
    from app.core.db import make_sessionmaker

    try:
        body = RatePublish.model_validate(
            {
                "kind": args.kind,
                "year": args.year,
                "half": args.half,
                "rate": args.rate,
                "source": args.source,
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "input"
            print(f"relance: {where}: {error['msg']}", file=sys.stderr)
        return 2
    outcome: dict[str, RatesOut] = {}

    async def run(engine: object) -> None:
        assert isinstance(engine, AsyncEngine)
        await migrate(engine)
        async with make_sessionmaker(engine)() as session:
            outcome["rates"] = await publish_rate(session, body, Clock(get_settings().tz).today())
            await session.commit()

    asyncio.run(_with_engine(run))
    rates = outcome["rates"]
    print(
        json.dumps(
            {
                "recorded": body.model_dump(mode="json"),
                "current": rates.current,
                "unpublished": [gap.model_dump(mode="json") for gap in rates.unpublished],
            }
        )
    )
    return 0


def _openapi(_: argparse.Namespace) -> int:
    from app.openapi_export import openapi_json

    sys.stdout.write(openapi_json())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relance", description="Relance debt-recovery service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); /metrics sums them all",
    )
    serve.set_defaults(func=_serve)

    sub.add_parser("migrate", help="migrate the database to head").set_defaults(func=_migrate)

    sweep = sub.add_parser("sweep", help="run the scheduler's work as of an instant, then exit")
    sweep.add_argument("--as-of", required=True, help="RFC 3339 timestamp with offset")
    sweep.set_defaults(func=_sweep)

    mk = sub.add_parser("makemigration", help="(developers) autogenerate an Alembic revision")
    mk.add_argument("message")
    mk.set_defaults(func=_makemigration)

    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_cmd", required=True
    )
    create = tenant.add_parser("create", help="create a tenant; prints {id, name, api_key}")
    create.add_argument("name")
    create.add_argument(
        "--sandbox", action="store_true", help="a sandbox tenant with its own test clock"
    )
    create.set_defaults(func=_tenant_create)

    importer = sub.add_parser("import", help="bulk imports").add_subparsers(
        dest="import_cmd", required=True
    )
    invoices = importer.add_parser(
        "invoices", help="upsert invoices from a CSV export (rejected rows to FILE.rejected.csv)"
    )
    invoices.add_argument("file", help="CSV with a header row: " + ", ".join(COLUMNS))
    invoices.add_argument("--tenant-key", required=True, help="the tenant's API key")
    invoices.add_argument("--quiet", action="store_true", help="no progress bar")
    invoices.set_defaults(func=_import_invoices)

    rates = sub.add_parser("rates", help="the rate book").add_subparsers(
        dest="rates_cmd", required=True
    )
    add = rates.add_parser(
        "add",
        help="record (or correct) a newly published half-year rate, as POST /v1/admin/rates; "
        "prints the rates in force and the half-years still unpublished",
    )
    add.add_argument("kind", choices=RATE_KINDS, help="which rate")
    add.add_argument("year", type=int, help="e.g. 2027")
    add.add_argument("half", type=int, help="1 (from 1 January) or 2 (from 1 July)")
    add.add_argument("rate", help="percent per year, e.g. 12.65")
    add.add_argument(
        "--source", required=True, help="where it was published, e.g. 'arrêté du ..., JORF du ...'"
    )
    add.set_defaults(func=_rates_add)

    sub.add_parser("openapi", help="print the OpenAPI schema").set_defaults(func=_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except DatabaseStartError as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
