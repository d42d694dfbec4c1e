# Ärendeflöde developer commands. `make test` is the one command CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The tests use the real PostgreSQL and Redis of the machine (defaults in tests/settings.py).
export HF_HUB_OFFLINE := 1

.PHONY: venv test lint format validate-corpus run

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate-corpus: venv
	$(BIN)/python -m ml validate ml/data/reports_sv.jsonl --stats

# Everything a newcomer needs for a first look: virtualenv, migrations, a trained baseline,
# demo reports and users, then web server, worker and beat (SQLite unless DATABASE_URL is set;
# without Redis, tasks run in-process).
run: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runlocal
