# The README's commands. Each creates .venv when missing and installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run
PYTHON ?= python3

.PHONY: test lint fmt demo tools clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

$(RUN_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $(RUN_STAMP)

## demo: the exporter on :9877 polling the built-in simulator of both APIs
demo: $(RUN_STAMP)
	$(VENV)/bin/livesession-exporter --demo

## test: format check, lint, types, then unit, integration and end-to-end tests with coverage
test: lint tools
	$(VENV)/bin/pytest --cov --cov-report=term

## lint: ruff format --check, ruff check, mypy --strict
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict

## fmt: rewrite files with ruff's formatter and safe fixes
fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## tools: system tools the tests use (promtool from Debian's prometheus package)
tools:
	@scripts/ensure-system-tools

clean:
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
