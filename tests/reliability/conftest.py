"""Reliability tests: each one provokes a fault and counts what was lost or duplicated.

Each test records its counts with the `counts` fixture; they are printed together at the end of
the run (and written as JSON to $RELANCE_RELIABILITY_RESULTS when set), so a run's closing lines
are the evidence docs/reliability.md quotes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

_RESULTS: dict[str, dict[str, Any]] = {}


def record(name: str, **figures: Any) -> None:
    """Figures for the closing summary, under `name`."""
    _RESULTS.setdefault(name, {}).update(figures)


@pytest.fixture
def counts(request: pytest.FixtureRequest) -> Callable[..., None]:
    """`counts(lost=0, duplicated=0, ...)`: this test's figures for the closing summary."""
    name = request.node.nodeid.split("::", 1)[-1]

    def record_here(**figures: Any) -> None:
        record(name, **figures)

    return record_here


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RESULTS:
        return
    terminalreporter.section("reliability counts")
    for name, figures in _RESULTS.items():
        shown = ", ".join(f"{k}={v}" for k, v in figures.items())
        terminalreporter.write_line(f"{name}: {shown}")
    target = os.environ.get("RELANCE_RELIABILITY_RESULTS")
    if target:
        existing: dict[str, Any] = {}
        try:
            with open(target) as f:
                existing = json.load(f)
        except (OSError, ValueError):
            pass
        existing.update(_RESULTS)
        with open(target, "w") as f:
            json.dump(existing, f, indent=2, sort_keys=True, default=str)
