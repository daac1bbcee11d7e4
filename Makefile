# The README's commands. Each creates .venv when missing and installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run
PYTHON ?= python3

# Where 'make tools' puts a Node.js from the npm registry when the system's is too old for
# tools/node (scripts/ensure-system-tools); first on PATH for every recipe, the tests included.
NODE_PREFIX := build/node
export PATH := $(CURDIR)/$(NODE_PREFIX)/bin:$(PATH)

.PHONY: test lint fmt demo bench tools lock clean venv

## venv: .venv with a working pip, made whole or not at all (scripts/make-venv says what is missing)
venv:
	@scripts/make-venv '$(PYTHON)' '$(VENV)'

$(STAMP): pyproject.toml constraints.txt
	@scripts/make-venv '$(PYTHON)' '$(VENV)'
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $(STAMP)

$(RUN_STAMP): pyproject.toml constraints.txt
	@scripts/make-venv '$(PYTHON)' '$(VENV)'
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $(RUN_STAMP)

## demo: the exporter on 127.0.0.1:9877 polling the built-in simulator of both APIs; Ctrl-C stops it
demo: $(RUN_STAMP)
	$(VENV)/bin/livesession-exporter --demo

## test: format check, lint, types, then unit, integration and end-to-end tests with coverage
test: lint tools
	$(VENV)/bin/pytest --cov --cov-report=term

## bench: the speed and memory benchmarks of quality.md; rewrites bench/RESULTS.md
bench: $(STAMP)
	$(PY) -m bench

## lint: ruff format --check, ruff check, mypy --strict, import-linter's layering contracts
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict
	$(VENV)/bin/lint-imports

## fmt: rewrite files with ruff's formatter and safe fixes
fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## lock: re-pin constraints.txt to what a fresh install of pyproject.toml's dependencies gets
lock:
	rm -rf build/lock && scripts/make-venv '$(PYTHON)' build/lock
	build/lock/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	{ sed -n '1,3p' constraints.txt; build/lock/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf build/lock

NODE_TOOLS := tools/node
NODE_STAMP := $(NODE_TOOLS)/node_modules/.installed

## tools: system tools the tests use (Prometheus and promtool, Node.js >= 22) and the npm schema tooling
tools:
	@NODE_PREFIX='$(NODE_PREFIX)' scripts/ensure-system-tools
	@$(MAKE) --no-print-directory $(NODE_STAMP)

$(NODE_STAMP): $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json
	npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) $(VENV).tmp $(NODE_TOOLS)/node_modules build .coverage .coverage.* .pytest_cache .mypy_cache .ruff_cache
