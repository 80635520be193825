"""The service's CPU instructions per request of each kind of `bench.route_costs`, counted by
valgrind's callgrind: `python -m bench.route_instructions [COUNT] [KIND,KIND...]` (default 30 of
each). Instructions, not seconds: the same code gives the same count (within 1 %) whatever else
the machine does, where route_costs' CPU times moved by 20 % between runs of the same code on a
shared machine (bench/README.md, ninth session). Only the calls are counted (the seeding and the
warm-up are not), in this process only: the client's share (httpx, in-process) is included,
PostgreSQL's is not. About 30 s per kind of 30 calls; needs valgrind on the PATH."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.profile_request import in_process
from bench.route_costs import seeded_kinds

_CHILD = "RELANCE_ROUTE_INSTRUCTIONS_CHILD"


def _callgrind(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], capture_output=True, check=True)


async def _count(count: int, only: list[str] | None) -> None:
    """In the process valgrind runs: each kind's calls between instrumentation on and off, then
    dumped on their own (the dump is named after the kind)."""
    async with in_process(log_level="ERROR", freeze_heap=True) as (client, key):
        kinds = await seeded_kinds(client, key)
        for name in only or list(kinds):
            call = kinds[name]
            for _ in range(10):  # warm-up: caches, prepared statements
                response = await call()
                assert response.status_code < 300, (name, response.text)
            _callgrind("--instr=on")
            for _ in range(count):
                response = await call()
                assert response.status_code < 300, (name, response.text)
            _callgrind("--instr=off")
            _callgrind("--dump=" + name)
            _callgrind("--zero")


def _totals(out: Path) -> dict[str, int]:
    """Kind -> instructions, from the dumps `out.1`, `out.2`... (their trigger names the kind)."""
    found: dict[str, int] = {}
    for dump in sorted(out.parent.glob(out.name + ".*")):
        text = dump.read_text(errors="replace")
        kind = next(line for line in text.splitlines() if line.startswith("desc: Trigger"))
        total = next(line for line in text.splitlines() if line.startswith("totals:"))
        found[kind.rsplit(" ", 1)[-1]] = int(total.split()[1])
    return found


def main(count: int, only: list[str] | None) -> None:
    if os.environ.get(_CHILD):
        asyncio.run(_count(count, only))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory(prefix="relance-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.route_instructions",
            str(count),
            *([",".join(only)] if only else []),
        ]
        subprocess.run(command, env=os.environ | {_CHILD: "1"}, check=True, capture_output=True)
        print(f"{'request':10s} {'instructions':>14s}")
        for name, total in _totals(out).items():
            print(f"{name:10s} {total // count:14,d}")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 30,
        sys.argv[2].split(",") if len(sys.argv) > 2 else None,
    )
