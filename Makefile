# finsys: `make run` to start the demo bank, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt migrate seed serve bench-transfers bench-ledger-scale bench-settlement clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv

# Installs are stamped by requirement-file content, so an edit re-installs and nothing else does.
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/uv pip install --python $(BIN)/python -q -r requirements.txt || $(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/uv pip install --python $(BIN)/python -q -r requirements-dev.txt || $(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

migrate: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	$(BIN)/python manage.py demo_logins --host $(HOST) --port $(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

fmt: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-transfers: $(VENV)/.dev-installed
	$(BIN)/python bench/transfers.py $(BENCH_ARGS)

# Transfer, balance and point-in-time latency at 10 thousand, 1 million and 10 million postings.
bench-ledger-scale: $(VENV)/.dev-installed
	$(BIN)/python bench/ledger_scale.py $(BENCH_ARGS)

# Settled payments per second of the settlement batch (20,000 payments; batches of 1000, 500, 100).
bench-settlement: $(VENV)/.dev-installed
	$(BIN)/python bench/settlement.py $(BENCH_ARGS)

# Refresh the zh-hans and en catalogues after changing user-facing strings, translate, compile.
messages: $(VENV)/.dev-installed
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-location --ignore ".venv/*" --ignore "var/*" --ignore "bench/*" --ignore "*/tests/*" --ignore "tests/*" --ignore conftest.py
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"

clean:
	rm -rf $(VENV) var/finsys.sqlite3 var/staticfiles .pytest_cache .mypy_cache .ruff_cache
