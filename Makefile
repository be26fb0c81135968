# Birge: `make run` serves the embedded app, `make test` runs the whole suite.
# Only Python 3.11+ and make are needed; everything else is installed into .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
WEB_WORKERS ?= 3
# The suite runs in this many processes (pytest-xdist; tests/conftest.py keeps each file, and
# files that must not overlap, in one process). TEST_PROCESSES=0 runs it in this one.
TEST_PROCESSES ?= 2

.PHONY: help install install-dev run test stack lint migrate seed messages lock bench clean

help:
	@echo "make run    install, migrate, seed Almaty's demo data, serve http://$(HOST):$(PORT) (embedded demo; DJANGO_DEBUG=true for debug)"
	@echo "make test   install and run the whole test suite"
	@echo "make stack  full stack on production settings, local PostgreSQL + Redis, under supervisord:"
	@echo "            $(WEB_WORKERS) ASGI workers, Celery worker and beat (BIRGE_LOCAL_TRIAL=true to try it here)"
	@echo "make lint   ruff check";  echo "make messages  update and compile kk/ru/en catalogues"
	@echo "make lock   re-pin requirements.lock from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Birge needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo "Birge is starting at http://$(HOST):$(PORT)/"
	$(BIN)/uvicorn civic.asgi:application --ws-per-message-deflate false --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

stack: install
	HOST=$(HOST) PORT=$(PORT) WEB_WORKERS=$(WEB_WORKERS) ./scripts/stack.sh

lint: install-dev
	$(BIN)/ruff check .

messages: install-dev
	$(BIN)/python manage.py makemessages -l kk -l ru -l en --ignore=.venv --ignore=tests --ignore=bench --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

lock: install-dev
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o requirements.lock pyproject.toml

# The vote benchmark runs twice in one go: on BENCH_BEFORE's code (the commit before issue 14's
# fast intake, in a git worktree under var/bench/), then on this code; both tables and a side by
# side comparison are printed (bench/README.md).
BENCH_BEFORE ?= 4ea0ded
bench: install-dev
	$(BIN)/python -m bench --before $(BENCH_BEFORE) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm
