# The two commands: `make run` (the app with demo data, embedded default) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test test-fast services stack lint format clean screenshots bench bench-quick lock

# Where `make run` and `make stack` serve the app: `make run PORT=8000 HOST=0.0.0.0`. Plain
# assignments, so only the command line overrides them (csh sets HOST to the machine's name).
HOST = 127.0.0.1
PORT = 5000
# `make stack`'s Socket.IO process; pages served on PORT connect to it (OMS_SOCKET_URL).
SOCKET_PORT = 5001
# Links in emails point where `make run` and `make stack` serve, unless OMS_PUBLIC_URL is set.
PUBLIC_URL_ENV = OMS_PUBLIC_URL=$${OMS_PUBLIC_URL:-http://$(HOST):$(PORT)}

# `make stack`: the production topology without Docker, against a local PostgreSQL and Redis.
STACK_DATABASE_URL ?= postgresql+psycopg2://postgres@127.0.0.1:5432/oms
STACK_REDIS_URL    ?= redis://127.0.0.1:6379/0
STACK_FLOWER_AUTH  ?= ops:ops-pass-123
# The Procfile names gunicorn and celery bare: the venv goes first on PATH, activated or not.
STACK_ENV = PATH="$(abspath $(BIN)):$$PATH" \
            OMS_DATABASE_URL=$${OMS_DATABASE_URL:-$(STACK_DATABASE_URL)} \
            OMS_REDIS_URL=$${OMS_REDIS_URL:-$(STACK_REDIS_URL)} \
            FLOWER_BASIC_AUTH=$${FLOWER_BASIC_AUTH:-$(STACK_FLOWER_AUTH)} \
            OMS_SOCKET_PORT=$(SOCKET_PORT) \
            OMS_SOCKET_URL=$${OMS_SOCKET_URL:-http://$(HOST):$(SOCKET_PORT)} \
            OMS_SOCKET_ALLOWED_ORIGINS=$${OMS_SOCKET_ALLOWED_ORIGINS:-http://$(HOST):$(PORT)} \
            $(PUBLIC_URL_ENV)

# The dependencies come from uv.lock (`make lock` after a change of pyproject.toml), installed
# by a pinned uv that the Makefile gets itself: a fresh machine needs only python3.
UV_VERSION = 0.13.8
TOOLS := .tools
UV    := $(TOOLS)/bin/uv
# uv makes .venv from this machine's python3 and never downloads a Python of its own; it
# trusts the system's certificates, as pip does (a proxy's own CA included)
export UV_PYTHON_DOWNLOADS = never
export UV_SYSTEM_CERTS = 1

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Synced again on a change of pyproject.toml or uv.lock; the dev stamp implies the runtime one.
# --locked: exactly the lock, and an error (not an older set) when it no longer matches
# pyproject.toml: run `make lock`.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON)
	touch $@

$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra dev
	touch $@ $(VENV)/.installed

# Resolve pyproject.toml's dependencies into uv.lock again (commit both).
lock: | $(UV)
	$(UV) lock --python $(PYTHON)

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(PUBLIC_URL_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

stack: $(VENV)/.installed
	$(STACK_ENV) $(FLASK) database create
	$(STACK_ENV) $(FLASK) db upgrade
	$(STACK_ENV) $(FLASK) demo load
	@echo "web http://$(HOST):$(PORT) (Socket.IO on $(SOCKET_PORT))  flower http://127.0.0.1:$${FLOWER_PORT:-5555} ($${FLOWER_BASIC_AUTH:-$(STACK_FLOWER_AUTH)})"
	$(STACK_ENV) HOST=$(HOST) $(BIN)/honcho start -f Procfile -p $(PORT)

# What `make test` needs on this machine (Debian or Ubuntu, as root or with sudo): PostgreSQL,
# Redis and RabbitMQ installed, started and waited for, and docker-compose, Chromium, nginx and
# wrk installed (.ci/services, which CI runs too). What is there already is left alone.
services:
	.ci/services

# The whole suite in two passes: the in-process tests on TEST_WORKERS pytest-xdist workers
# (each with a database and Redis dbs of its own, tests/conftest.py), then the `slow` ones
# (real processes, a browser) one at a time, so their deadlines never share the cores with
# another test's processes. The second pass runs whatever the first found, so one run reports
# every failure; a pass that selects nothing (PYTEST_ARGS naming one folder) is not a failure
# (pytest's exit code 5).
TEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	@status=0; \
	$(BIN)/pytest -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	$(BIN)/pytest -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ] || status=1; \
	exit $$status

# The inner loop: neither the `slow` tests nor the `generated` ones (Schemathesis and the
# state machine, about 90 s of CPU), in parallel.
test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not slow and not generated" -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Screenshots of the three dashboards at desktop (1280 px) and phone (375 px) width into
# docs/screenshots/: a throwaway SQLite app with demo orders, driven by Debian's Chromium.
screenshots: $(VENV)/.installed-dev
	$(BIN)/python -m tests.e2e.screenshots --out docs/screenshots

# Style, the layering and the types; CI and .pre-commit-config.yaml run the same four.
# The benchmarks (benchmarks/bench.py): the project against raw pgbench baselines in the same
# run, as ratios, on a PostgreSQL database and Redis db of their own. Needs pgbench and wrk.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# The smoke run CI makes: small and short, checks correctness, prints figures, asserts no speed.
bench-quick: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.bench --quick $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(TOOLS) instance .pytest_cache .ruff_cache
