# Haven Gateway: the two commands a newcomer needs are `make run` and `make test`.
# Both build their own virtual environment in .venv; nothing is installed globally.
#
#   make run     install, migrate a local SQLite database, seed demo accounts and (once)
#                60 days of synthetic history (haven history), serve the demo
#   make test    install (plus axe-core from npm when npm exists) and run the whole test suite
#   make lint    ruff and mypy, as CI runs them
#   make audit   pip-audit over the installed dependencies (says plainly when it cannot reach
#                a vulnerability service; fails on a known vulnerability)
#   make bench   the benchmarks under bench/ (results land in bench/results/, git-ignored)
#   make clean   remove the virtual environment, node_modules and caches (keeps data/)
#
# Variables you may override: PYTHON=python3.12, PORT=8080 (make run), PYTEST_ARGS="-k queue -x",
# PYTEST_WORKERS=0 (make test, one process), BENCH_ARGS=...

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install; older than pyproject.toml means "install again".
INSTALL_STAMP := $(VENV)/.haven-install-stamp
NODE_STAMP := node_modules/.haven-install-stamp
PYTEST_ARGS ?=
# make test runs pytest in this many worker processes at once (pytest-xdist). Most tests
# wait on I/O (uvicorn on loopback ports, Chromium, PostgreSQL, Redis), so more workers
# than the two cores we measured on pays (README, "Tests"). PYTEST_WORKERS=0, or
# PYTEST_ARGS=-n0, runs every test in this one process, one after another.
PYTEST_WORKERS ?= 4
# make run PORT=8080 serves the demo there (HAVEN_PORT=8080 works too; empty: HAVEN_PORT, else 8000).
PORT ?=
BENCH_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

NPM := $(shell command -v npm 2>/dev/null)
NODE_LOCK := $(wildcard package-lock.json)

.PHONY: help venv install node-deps run test eval lint audit bench clean

help:
	@echo "make run     install and start the demo on http://127.0.0.1:8000 (another port: make run PORT=8080)"
	@echo "make test    install and run the test suite, then the detection corpus (make eval)"
	@echo "make lint    ruff check and mypy"
	@echo "make audit   known vulnerabilities in the installed dependencies (pip-audit)"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make clean   remove .venv, node_modules and caches (data/ is kept)"

# pyvenv.cfg is a real file written fresh by `venv`, so it is a reliable target
# (bin/python is a symlink whose time is the base interpreter's).
$(VENV)/pyvenv.cfg:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  found=$$($(PYTHON) --version 2>/dev/null) || found="no Python (command not found)"; \
	  echo "Haven Gateway needs Python 3.11 or newer; '$(PYTHON)' is $$found." >&2; \
	  echo "Install a newer Python, or point make at one:  make $(or $(MAKECMDGOALS),run) PYTHON=python3.12" >&2; \
	  exit 1; }
	@echo "Creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	@$(PYTHON) -m venv --clear $(VENV)

$(INSTALL_STAMP): pyproject.toml $(VENV)/pyvenv.cfg
	@echo "Installing haven-gateway and its development tools into $(VENV) (pip -q)"
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/pyvenv.cfg
install: $(INSTALL_STAMP)

# axe-core (accessibility checks in the browser tests) comes from npm into node_modules/.
# `npm ci` follows the committed package-lock.json exactly and never rewrites it.
$(NODE_STAMP): package.json $(NODE_LOCK)
	@echo "Installing axe-core from npm into node_modules/"
	@if [ -f package-lock.json ]; then \
	  npm ci --include=dev --no-audit --no-fund --loglevel=error >/dev/null; \
	else \
	  npm install --include=dev --no-audit --no-fund --loglevel=error >/dev/null; \
	fi
	@touch $@

ifneq ($(NPM),)
node-deps: $(NODE_STAMP)
else
node-deps:
	@echo "npm not found: skipping axe-core; the accessibility checks will be skipped (CI installs npm)."
endif

run: $(INSTALL_STAMP)
	$(BIN)/haven demo $(if $(PORT),--port $(PORT))

# --dist loadgroup hands out tests one at a time, except the modules that
# tests/conftest.py lists in ONE_WORKER: each of those runs on one worker, in order.
# --timeout-method=thread: a test past its time limit (pyproject's timeout) has its
# stacks printed and its worker replaced, and the run goes on. The default (signal)
# raises inside whatever runs at that moment (an asyncio task can keep it): a browser
# test under load was seen still waiting 16 minutes past its limit, the run hung.
test: $(INSTALL_STAMP) node-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --timeout-method=thread $(PYTEST_ARGS)
	@$(MAKE) eval

# Crisis detection against the labelled corpus (tests/corpus, docs/safeguarding.md).
# The training part must keep its floor (98% of crisis messages, at most 3% false
# crises). The development and held-out parts are never tuned on; their floors sit a
# little below what they measured when last released (docs/safeguarding.md,
# "Measured"), so that a change that loses generalisation fails too.
EVAL_TRAIN_FLOOR ?= 0.98
EVAL_TRAIN_FALSE ?= 0.03
EVAL_DEV_FLOOR ?= 0.85
EVAL_HELDOUT_FLOOR ?= 0.57
EVAL_UNSEEN_FALSE ?= 0.10
eval: $(INSTALL_STAMP)
	@echo "== crisis detection, training part =="
	@$(BIN)/haven bot eval --quiet --min-recall $(EVAL_TRAIN_FLOOR) --max-false $(EVAL_TRAIN_FALSE) tests/corpus/*.train.tsv
	@echo "== crisis detection, development part (written later, by another author) =="
	@$(BIN)/haven bot eval --quiet --min-recall $(EVAL_DEV_FLOOR) --max-false $(EVAL_UNSEEN_FALSE) tests/corpus/*.dev.tsv
	@echo "== crisis detection, held-out part (never tuned on) =="
	@$(BIN)/haven bot eval --quiet --min-recall $(EVAL_HELDOUT_FLOOR) --max-false $(EVAL_UNSEEN_FALSE) tests/corpus/*.heldout.tsv

lint: $(INSTALL_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy gateway bot_engine counsellor_ui

# pip-audit in an environment of its own (its dependencies are neither audited nor
# installed beside the gateway), over exactly what .venv has installed, pinned
# (scripts/audit_dependencies.py; docs/security.md, "Dependencies").
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/bin/pip-audit:
	@echo "Installing pip-audit into $(AUDIT_VENV) (pip -q)"
	@$(PYTHON) -m venv --clear $(AUDIT_VENV)
	@$(AUDIT_VENV)/bin/python -m pip install -q 'pip-audit>=2.7'

audit: $(INSTALL_STAMP) $(AUDIT_VENV)/bin/pip-audit
	$(AUDIT_VENV)/bin/python scripts/audit_dependencies.py $(BIN)/python

# The gateway beside a bare echo server and a bare relay, on SQLite and PostgreSQL
# (docs/performance.md). BENCH_ARGS=--quick for a smoke run; --help for every option.
bench: $(INSTALL_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(AUDIT_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache htmlcov .coverage \
	  test-artifacts bench/results *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	@echo "Kept data/ (the demo database). Remove it by hand to start the demo afresh."
