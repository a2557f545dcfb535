# Territory Manager. `make run` starts the app, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SCALE ?= full
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run worker test lint bench migrate check-deploy clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed            ## create or update .venv with the app's requirements

install-dev: $(VENV)/.installed-dev    ## ... plus what the tests and tools need

migrate: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

run: migrate                           ## migrate, seed demo data into an empty database, serve on :8000
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty --compute
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_logins
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL is set: starting a Celery worker and beat beside the web server."; \
		DEBUG=$${DEBUG:-1} $(VENV)/bin/celery -A config worker --beat --loglevel=INFO --concurrency=2 & \
		trap "kill $$! 2>/dev/null" EXIT; \
		DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT); \
	else \
		DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

worker: migrate                        ## a Celery worker with beat (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "make worker needs REDIS_URL (without it tasks run in-process)"; exit 1; }
	DEBUG=$${DEBUG:-1} $(VENV)/bin/celery -A config worker --beat --loglevel=INFO

lint: install-dev                      ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev lint                 ## the whole suite
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: install-dev                     ## benchmarks; SCALE=small for a quick pass
	@command -v wrk >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1) \
		|| echo "wrk could not be installed: the HTTP benchmarks use Python client processes."
	DEBUG=1 $(PY) -m bench.run --scale $(SCALE)

check-deploy: install                  ## Django's deployment checks with production settings
	DEBUG=0 SECRET_KEY=$${SECRET_KEY:-check-deploy-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-long-enough-secret} \
		ALLOWED_HOSTS=territory.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
