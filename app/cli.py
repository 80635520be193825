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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.database_server import DatabaseStartError, database_url
from app.core.db import create_engine
from app.core.logging import configure_logging
from app.core.metrics import MULTIPROC_DIR_ENV
from app.core.migrate import make_revision, migrate
from app.core.settings import Settings, get_settings
from app.ledger.invoices.csv_import import COLUMNS
from app.legal.rates import RATE_KINDS

# --- which database -------------------------------------------------------------------------------

# Commands that may start a new, empty embedded database; the others refuse to, since an empty one
# only answers "invalid or revoked API key" far from the cause (run from the wrong directory).
_CREATES_DATABASE = "creates_database"


class NoDatabase(RuntimeError):
    pass


@dataclass(frozen=True)
class DatabaseChoice:
    url: str | None  # a server (--database-url, RELANCE_DATABASE_URL); None: embedded
    data_dir: Path  # the embedded PostgreSQL's directory, absolute

    def describe(self) -> str:
        if self.url is not None:
            return mask_password(self.url)
        return f"embedded PostgreSQL in {self.data_dir}"


def mask_password(url: str) -> str:
    """The URL with its password as `***` (an empty one is no secret: shown as it is)."""
    try:
        parsed = make_url(url)
        return parsed.render_as_string(hide_password=bool(parsed.password))
    except ArgumentError:
        return "(an unparsable RELANCE_DATABASE_URL)"


def choose_database(args: argparse.Namespace) -> DatabaseChoice:
    """--database-url, else RELANCE_DATABASE_URL, else the embedded PostgreSQL under --data-dir,
    else RELANCE_DATA_DIR, else ./.relance, resolved against the current directory."""
    settings = get_settings()
    url = getattr(args, "database_url", None) or settings.database_url
    data_dir = Path(getattr(args, "data_dir", None) or settings.data_dir)
    return DatabaseChoice(url=url or None, data_dir=data_dir.expanduser().resolve())


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The URL of the database the command uses, said on stderr (password masked)."""
    choice = choose_database(args)
    print(f"relance: database: {choice.describe()}", file=sys.stderr)
    if (
        choice.url is None
        and not getattr(args, _CREATES_DATABASE, False)
        and not (choice.data_dir / "pgdata").is_dir()
    ):
        raise NoDatabase(
            f"no database in {choice.data_dir}: this command does not create one. Run it where "
            "`relance serve` (or `make run`) keeps its data, or pass --data-dir DIR or "
            "--database-url URL (or set RELANCE_DATA_DIR / RELANCE_DATABASE_URL); "
            "`relance migrate` creates a new one."
        )
    with database_url(choice.url, choice.data_dir) as url:
        yield url


def _settings_for(url: str, **changes: object) -> Settings:
    return get_settings().model_copy(update={"database_url": url, **changes})


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

    configure_logging(get_settings().log_level)
    # No uvicorn access log: RequestContextMiddleware logs each request once, in JSON, with
    # its id, route and duration (uvicorn's line was a second, unstructured copy).
    options = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
    }
    with _database(args) as url:
        if args.workers > 1:
            # Processes of their own, each with its pool and scheduler: safe as replicas are.
            # They read their settings from the environment, the (embedded) database's URL too.
            os.environ["RELANCE_DATABASE_URL"] = url
            with _shared_metrics_dir():
                uvicorn.run("app.main:app_factory", factory=True, workers=args.workers, **options)
        else:
            # The lifespan migrates under the advisory lock.
            uvicorn.run(create_app(_settings_for(url), freeze_heap=True), **options)
    return 0


async def _with_engine(cli_args: argparse.Namespace, coro_fn: object, *args: object) -> None:
    with _database(cli_args) as url:
        engine = create_engine(url, pool_size=2)
        try:
            await coro_fn(engine, *args)  # type: ignore[operator]
        finally:
            await engine.dispose()


def _migrate(args: argparse.Namespace) -> int:
    asyncio.run(_with_engine(args, migrate))
    print("database migrated to head")
    return 0


def _makemigration(args: argparse.Namespace) -> int:
    asyncio.run(_with_engine(args, make_revision, args.message))
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

    asyncio.run(_with_engine(args, run))
    return 0


# Exit codes of `relance import invoices`: what a script can branch on.
EXIT_OK = 0  # every row imported (or unchanged)
EXIT_REJECTED = 1  # the file was read; some rows were rejected (FILE.rejected.csv)
EXIT_ERROR = 2  # nothing imported: bad arguments, unreadable file, unknown key, no database


def _import_invoices(args: argparse.Namespace) -> int:
    from app.ledger.invoices.csv_import import CsvFormatError, ImportOptions, ImportSummary

    path = Path(args.file)
    if not path.is_file():
        print(f"relance: no such file: {path}", file=sys.stderr)
        return EXIT_ERROR
    options = ImportOptions(mapping=args.map, creditor=args.creditor, progress=not args.quiet)
    outcome: dict[str, ImportSummary | str] = {}
    try:
        asyncio.run(_with_engine(args, _run_import, path, args.tenant_key, options, outcome))
    except (CsvFormatError, OSError) as exc:
        print(f"relance: cannot import {path}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    summary = outcome.get("summary")
    if not isinstance(summary, ImportSummary):
        print(f"relance: {outcome.get('error')}", file=sys.stderr)
        return EXIT_ERROR
    _print_import(path, summary)
    return EXIT_REJECTED if summary.rejected else EXIT_OK


async def _run_import(
    engine: object, path: Path, key: str, options: object, outcome: dict[str, object]
) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.core.clock import Clock
    from app.core.db import make_sessionmaker
    from app.ledger.invoices.csv_import import ImportOptions, import_invoices
    from app.main import BEFORE_COMMIT
    from app.tenants.service import authenticate, tenant_clock

    assert isinstance(engine, AsyncEngine)
    assert isinstance(options, ImportOptions)
    await migrate(engine)
    sessionmaker = make_sessionmaker(engine, BEFORE_COMMIT)
    async with sessionmaker() as session:
        tenant = await authenticate(session, key)
        if tenant is None:
            outcome["error"] = "invalid or revoked API key (--tenant-key) for this database"
            return
        # A sandbox tenant imports at its test clock.
        clock = await tenant_clock(session, tenant, Clock(get_settings().tz))
    outcome["summary"] = await import_invoices(path, sessionmaker, tenant.id, clock, options)


def _print_import(path: Path, summary: object) -> None:
    from app.ledger.invoices.csv_import import ImportSummary

    assert isinstance(summary, ImportSummary)
    separator = {"\t": "tab", ";": "';'", ",": "','"}[summary.delimiter]
    columns = ", ".join(f"{header} -> {name}" for name, header in summary.columns.items())
    print(
        f"relance: read {path.name} as {summary.encoding}, {separator}-separated; {columns}",
        file=sys.stderr,
    )
    print(
        f"{summary.rows} rows: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.rejected} rejected"
    )
    if summary.debtors_created:
        print(f"{summary.debtors_created} new debtors created")
    if summary.unknown_columns:
        print(f"ignored columns: {', '.join(summary.unknown_columns)}")
    if summary.rejected_file:
        print(f"rejected rows and reasons: {summary.rejected_file}")


def _parse_as_of(raw: str) -> dt.datetime | str:
    """The instant, or what is wrong with it."""
    try:
        as_of = dt.datetime.fromisoformat(raw)
    except ValueError:
        return f"--as-of is not an RFC 3339 timestamp: {raw}"
    if as_of.tzinfo is None:
        return "--as-of needs a UTC offset, e.g. 2026-03-02T06:00:00+01:00"
    return as_of


def _sweep(args: argparse.Namespace) -> int:
    from app.core.clock import Clock
    from app.escalation.tasks import is_future

    as_of = _parse_as_of(args.as_of)
    if isinstance(as_of, str):
        print(f"relance: {as_of}", file=sys.stderr)
        return 2
    settings = get_settings()
    now = Clock(settings.tz).now()
    if is_future(as_of, now) and not (args.force or args.dry_run):
        print(
            f"relance: --as-of {as_of.isoformat()} is in the future (now "
            f"{now.isoformat(timespec='seconds')}): the reminders due by then would be sent "
            "now. See them with --dry-run, or send them anyway with --force.",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level)
    outcome: dict[str, object] = {}
    with _database(args) as url:
        asyncio.run(_run_sweep(_settings_for(url, scheduler_enabled=False), as_of, args, outcome))
    print(json.dumps(outcome))
    return 0


async def _run_sweep(
    settings: Settings, as_of: dt.datetime, args: argparse.Namespace, outcome: dict[str, object]
) -> None:
    from app.core.clock import FixedInstant
    from app.escalation.tasks import deliver_all_due, preview_sweep, sweep_app
    from app.main import create_app

    # A dry run does not even migrate: it writes nothing.
    app = create_app(settings, migrate_on_start=not args.dry_run)
    async with app.router.lifespan_context(app):
        clock = FixedInstant(app.state.clock, as_of)
        if args.dry_run:
            preview = await preview_sweep(app.state.sessionmaker, clock)
            outcome.update(
                as_of=as_of.isoformat(),
                dry_run=True,
                invoices_due=preview.invoices,
                events_by_type=preview.by_type,
                would_emit=[
                    {
                        "invoice_id": e.invoice_id,
                        "debtor_id": e.debtor_id,
                        "type": e.type,
                        "occurrence": e.occurrence,
                        "due_on": e.due_on.isoformat(),
                    }
                    for e in preview.events
                ],
            )
            return
        stats = await sweep_app(app, clock)
        outcome.update(
            as_of=as_of.isoformat(),
            invoices_swept=stats.invoices,
            events_created=stats.events,
            events_by_type=stats.by_type,
            deliveries=await deliver_all_due(app, clock, budget=None),
        )


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

    asyncio.run(_with_engine(args, run))
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


def _version() -> str:
    try:
        return metadata.version("relance")
    except metadata.PackageNotFoundError:  # run from a source tree never installed
        return "unknown"


def _database_options() -> argparse.ArgumentParser:
    """--database-url and --data-dir, accepted before or after the command. SUPPRESS: a
    subcommand's parser must not overwrite with its default what was given before it."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="postgresql://user:password@host:port/db (default: RELANCE_DATABASE_URL, else the "
        "embedded PostgreSQL)",
    )
    options.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="the embedded PostgreSQL's directory (default: RELANCE_DATA_DIR, else ./.relance "
        "of the current directory)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    db = _database_options()
    parser = argparse.ArgumentParser(
        prog="relance",
        description="Relance debt-recovery service. Every command that uses the database says "
        "which on stderr; only serve, migrate and tenant create start a new embedded one.",
        parents=[db],
    )
    parser.add_argument("--version", action="version", version=f"relance {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[db], help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); /metrics sums them all",
    )
    serve.set_defaults(func=_serve, **{_CREATES_DATABASE: True})

    migrate_cmd = sub.add_parser("migrate", parents=[db], help="migrate the database to head")
    migrate_cmd.set_defaults(func=_migrate, **{_CREATES_DATABASE: True})

    sweep = sub.add_parser(
        "sweep", parents=[db], help="run the scheduler's work as of an instant, then exit"
    )
    sweep.add_argument("--as-of", required=True, help="RFC 3339 timestamp with offset")
    sweep.add_argument(
        "--force",
        action="store_true",
        help="sweep a future instant for real: the reminders due by then are sent now",
    )
    sweep.add_argument(
        "--dry-run",
        action="store_true",
        help="write and send nothing; print the events the sweep would emit",
    )
    sweep.set_defaults(func=_sweep)

    mk = sub.add_parser(
        "makemigration", parents=[db], help="(developers) autogenerate an Alembic revision"
    )
    mk.add_argument("message")
    mk.set_defaults(func=_makemigration, **{_CREATES_DATABASE: True})

    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_cmd", required=True
    )
    create = tenant.add_parser(
        "create", parents=[db], help="create a tenant; prints {id, name, api_key}"
    )
    create.add_argument("name")
    create.add_argument(
        "--sandbox", action="store_true", help="a sandbox tenant with its own test clock"
    )
    create.set_defaults(func=_tenant_create, **{_CREATES_DATABASE: True})

    importer = sub.add_parser("import", help="bulk imports").add_subparsers(
        dest="import_cmd", required=True
    )
    _add_import_invoices(importer, db)

    rates = sub.add_parser("rates", help="the rate book").add_subparsers(
        dest="rates_cmd", required=True
    )
    add = rates.add_parser(
        "add",
        parents=[db],
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


def _add_import_invoices(importer: Any, db: argparse.ArgumentParser) -> None:
    invoices = importer.add_parser(
        "invoices",
        parents=[db],
        help="upsert invoices from a CSV export (rejected rows to FILE.rejected.csv); exit 0: "
        "all imported, 1: rows rejected, 2: nothing imported",
    )
    invoices.add_argument(
        "file",
        help="CSV with a header row, in any encoding, ';', ',' or tab separated; French or "
        "English headers (N° facture, Date, Échéance, Montant TTC, Client, SIREN, Nom client, "
        "...); fields: " + ", ".join(COLUMNS),
    )
    invoices.add_argument("--tenant-key", required=True, help="the tenant's API key")
    invoices.add_argument(
        "--map",
        metavar='"HEADER=FIELD,..."',
        help='name columns the aliases do not know, e.g. --map "N° pièce=number,Client=debtor"',
    )
    invoices.add_argument(
        "--creditor",
        help="the creditor (cred_... id, SIREN or SIRET) of rows without a creditor column",
    )
    invoices.add_argument("--quiet", action="store_true", help="no progress bar")
    invoices.set_defaults(func=_import_invoices)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (DatabaseStartError, NoDatabase) as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
