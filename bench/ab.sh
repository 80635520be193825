#!/usr/bin/env bash
# Before/after: `bench/ab.sh REV_BEFORE REV_AFTER [ROUNDS]` clones both revisions next to each
# other, installs each, and runs `BENCH_SCALE=small` benchmarks alternately (before, after, ...),
# so that both see the same machine (BENCH_ONLY=sweep narrows it to one phase). Results: /tmp/relance-ab/<side>_<round>.json.
set -euo pipefail
before=$1 after=$2 rounds=${3:-2}
out=/tmp/relance-ab
mkdir -p "$out"
for side in before after; do
  rev=$([ "$side" = before ] && echo "$before" || echo "$after")
  rm -rf "$out/$side" && git clone -q "$(git rev-parse --show-toplevel)" "$out/$side"
  (cd "$out/$side" && git checkout -q "$rev" && make install >/dev/null 2>&1 && .venv/bin/pip install -q -e '.[bench]')
done
for round in $(seq "$rounds"); do
  for side in before after; do
    (cd "$out/$side" && BENCH_SCALE=small .venv/bin/python -m bench.run > "$out/${side}_$round.out" 2>&1)
    # The newest result: latest.json, or only-<stamp>.json under BENCH_ONLY.
    cp "$(ls -t "$out/$side"/bench/results/*.json | head -1)" "$out/${side}_$round.json"
  done
done
ls "$out"/*.json
