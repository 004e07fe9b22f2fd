# make run  - the product on one machine: SQLite, file-system broker, local outbox.
# make test - the test suite against real PostgreSQL and Redis.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format chromium clean-var bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py demo_data
	PATH="$(CURDIR)/$(BIN):$$PATH" BIND=$(HOST):$(PORT) $(BIN)/honcho start -f Procfile

# Debian's Chromium for the browser tests; Playwright's own browser download
# is not used.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium package (sudo apt-get install chromium) for the browser tests."; exit 1; fi; }

test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/marketing_site
test: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/15
test: export CELERY_TASK_DEFAULT_QUEUE ?= marketing-tests
test: export CELERY_QUEUE_PREFIX ?= marketing-tests-
test: $(VENV)/.dev-deps chromium
	$(BIN)/python scripts/check_services.py
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VAR_DIR=$$(mktemp -d) $(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-var:
	rm -rf var

# Each benchmark drops and recreates its own database (its name must contain
# "bench") and uses queues of its own, so it never touches a test run's.
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/marketing_bench
bench: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/12
bench: export CELERY_TASK_DEFAULT_QUEUE ?= bench
bench: export CELERY_QUEUE_PREFIX ?= bench-
bench: $(VENV)/.dev-deps
	$(BIN)/python scripts/check_services.py
	$(BIN)/python bench/send_throughput.py $(BENCH_MAILS)
	$(BIN)/python bench/snapshot.py $(BENCH_CONTACTS)
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "Install wrk (sudo apt-get install wrk) for bench/tracking_load.py."; exit 1; fi; }
	$(BIN)/python bench/tracking_load.py $(BENCH_TRACKING_SECONDS)
	$(BIN)/python bench/report_scale.py $(BENCH_REPORT_MESSAGES)
	$(BIN)/python bench/segment_count.py $(BENCH_CONTACTS)
	$(BIN)/python bench/render.py $(BENCH_RECIPIENTS)
	$(BIN)/python bench/import_contacts.py $(BENCH_IMPORT_ROWS)
	$(BIN)/python bench/event_ingest.py $(BENCH_EVENTS)
