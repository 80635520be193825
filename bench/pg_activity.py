"""What PostgreSQL is busy with, by statement: samples `pg_stat_activity` every 20 ms for a while
and prints, for each statement (its start and end) and wait event, the mean number of backends
running it. Run it beside a load, e.g. during `make soak`:
`python -m bench.pg_activity [SECONDS] [DATABASE_PREFIX]` (default 60 s, `relance_soak`)
against the local PostgreSQL at 127.0.0.1:5432. This is how the fourth session found the history
read's `= ANY($1)` and the unanalyzed invoices (bench/README.md)."""

from __future__ import annotations

import asyncio
import collections
import re
import sys
import time

import asyncpg  # type: ignore[import-untyped]

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
_ACTIVE = """
SELECT query, coalesce(wait_event_type, 'cpu') AS wait_type, coalesce(wait_event, '') AS wait
FROM pg_stat_activity
WHERE state = 'active' AND datname LIKE $1 AND pid <> pg_backend_pid()
"""


async def main(seconds: float, prefix: str) -> None:
    conn = await asyncpg.connect(SERVER)
    busy: collections.Counter[tuple[str, str]] = collections.Counter()
    samples = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            for row in await conn.fetch(_ACTIVE, prefix + "%"):
                query = re.sub(r"\s+", " ", row["query"]).strip()
                shown = query if len(query) <= 130 else f"{query[:60]} ... {query[-65:]}"
                busy[shown, f"{row['wait_type']}:{row['wait']}"] += 1
            samples += 1
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    print(f"{samples} samples; mean active backends {sum(busy.values()) / max(samples, 1):.2f}")
    for (query, wait), count in busy.most_common(15):
        print(f"{count / samples:6.3f}  {wait:22s} {query}")


if __name__ == "__main__":
    asyncio.run(
        main(
            float(sys.argv[1]) if len(sys.argv) > 1 else 60.0,
            sys.argv[2] if len(sys.argv) > 2 else "relance_soak",
        )
    )
