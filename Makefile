# The two set-up commands: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck pytest test-db openapi migration bench reliability soak clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install  ## serve on 127.0.0.1:8000 (embedded PostgreSQL unless RELANCE_DATABASE_URL is set)
	$(BIN)/relance serve --host 127.0.0.1 --port 8000

test: install lint typecheck pytest  ## lint, types, then the whole suite

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy app tests

pytest: install
	$(BIN)/pytest

test-db: install  ## the suite again, e.g. against RELANCE_TEST_DATABASE_URL
	$(BIN)/pytest -q

openapi: install  ## rewrite openapi/openapi.json from the app
	$(BIN)/relance openapi > openapi/openapi.json

migration: install  ## make migration m="what changed" (needs RELANCE_DATABASE_URL or uses the embedded db)
	$(BIN)/relance makemigration "$(m)"

clean:
	rm -rf $(VENV) .relance .mypy_cache .ruff_cache .pytest_cache
