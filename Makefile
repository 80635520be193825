# The two set-up commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lock run test lint typecheck pytest test-db openapi migration bench reliability soak clean

# Exact versions with their hashes from the lock (requirements-dev.lock: the service, the
# embedded PostgreSQL and the dev tools), then the project itself without resolving anything.
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

lock: install  ## re-resolve requirements.lock (image) and requirements-dev.lock after a pyproject change
	@$(BIN)/python -c "import uv" 2>/dev/null || $(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip compile pyproject.toml --universal --python-version 3.11 \
	  --generate-hashes --quiet -o requirements.lock
	$(BIN)/python -m uv pip compile pyproject.toml --universal --python-version 3.11 \
	  --generate-hashes --quiet --extra dev -o requirements-dev.lock

run: install  ## serve on 127.0.0.1:8000 (embedded PostgreSQL unless RELANCE_DATABASE_URL is set)
	$(BIN)/relance serve --host 127.0.0.1 --port 8000

test: install lint typecheck pytest  ## lint, types, then the whole suite

lint: install  ## ruff, and the parts' dependency order (import-linter, pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy app tests

pytest: install  ## the suite without the slow reliability tests (those run in make reliability)
	$(BIN)/pytest -m "not reliability"

test-db: install  ## the suite again, e.g. against RELANCE_TEST_DATABASE_URL
	$(BIN)/pytest -q -m "not reliability"

openapi: install  ## rewrite openapi/openapi.json from the app
	$(BIN)/relance openapi > openapi/openapi.json

migration: install  ## make migration m="what changed" (needs RELANCE_DATABASE_URL or uses the embedded db)
	$(BIN)/relance makemigration "$(m)"

bench: install  ## benchmarks against raw-database baselines (BENCH_SCALE=small: under 5 min)
	@$(BIN)/python -c "import pyinstrument, aiohttp" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.run

reliability: install  ## faults, races, fuzz: kill -9, replicas, database outage, full fuzz (docs/reliability.md)
	$(BIN)/pytest tests/reliability

soak: install  ## 10 minutes of mixed load on the real service; SOAK_SECONDS=60 for a short one (not in CI)
	$(BIN)/python -m tests.reliability.soak --duration $(or $(SOAK_SECONDS),600)

clean:
	rm -rf $(VENV) .relance .mypy_cache .ruff_cache .pytest_cache
