# outdial: `make run` starts the demo, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATABASE_URL ?= sqlite:///var/outdial.db
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint format bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: set up, migrate var/outdial.db and serve the demo account on http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/outdial migrate --database-url $(DATABASE_URL) > /dev/null
	$(BIN)/outdial demo --database-url $(DATABASE_URL) --host $(HOST) --port $(PORT)

## test: set up (Debian packages too, when root) and run the whole suite, lint included
test: $(STAMP) system-deps lint
	$(BIN)/pytest

system-deps:
	./scripts/system-deps

# Test folders that mypy checks one at a time, as pytest imports them (see [tool.mypy]).
MYPY_TEST_DIRS = $(shell find tests -name '*.py' -not -path 'tests/unit/*' -printf '%h\n' | sort -u)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	for dir in $(MYPY_TEST_DIRS); do $(BIN)/mypy $$dir/*.py || exit 1; done
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

## bench: the benchmarks behind docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py --rows 100000
	$(BIN)/python benchmarks/dispatch.py --calls 20000
	$(BIN)/python benchmarks/concurrency.py --calls 5000
	$(BIN)/python benchmarks/detect.py
	$(BIN)/python benchmarks/sip.py --calls 1000
	$(BIN)/python benchmarks/flow.py --calls 400
	$(BIN)/python benchmarks/spoken.py --calls 100
	$(BIN)/python benchmarks/speech.py
	$(BIN)/python benchmarks/voices.py --rounds 3
	$(BIN)/python benchmarks/mediaclock.py --sessions 1000 --seconds 4

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
