# Pipeline Studio: `make run` starts everything, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint install sdk mutants

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

## Start web, worker and beat on embedded defaults (or on DATABASE_URL / CELERY_BROKER_URL).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runstudio

## Build the SDK's wheel (pipeline-studio-sdk) into dist/; the studio serves its own at /sdk/.
sdk: install
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist sdk/
	@ls dist/pipeline_studio_sdk-*.whl

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Run the whole test suite (lint first; embedded defaults unless DATABASE_URL/CELERY_BROKER_URL).
test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

## Take each guard of the security model out in a copy of the repository: a test must fail.
mutants: install
	$(PY) tests/guard_mutants.py $(MUTANTS)
