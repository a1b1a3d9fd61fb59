# cosyvoice-clone: `make demo` runs the whole journey offline; `make test` runs lint, types, tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= .demo-home

.PHONY: demo test lint typecheck pytest bench clean browser redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/cosyvoice-clone --emulator --home $(DEMO_HOME) demo

test: $(VENV)/.installed-dev lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks skills scripts
	$(BIN)/ruff format --check src tests benchmarks skills scripts
	$(BIN)/python scripts/unasync.py --check

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev browser redis-server
	$(BIN)/python -m pytest -q

# The studio's browser tests drive Debian's Chromium through Playwright (never Playwright's own
# browser download). Installed here when missing: as root (CI) with apt-get, otherwise say how.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else \
	    echo "$(CHROMIUM) is missing; the studio's browser tests need it:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	    exit 1; \
	  fi; \
	fi

# The shared-state tests (tests/state) run Debian's redis-server on their own loopback port
# (never a downloaded build). Installed here when missing, as `browser` does for Chromium.
REDIS_SERVER ?= /usr/bin/redis-server
redis-server:
	@if [ ! -x "$(REDIS_SERVER)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; \
	  else \
	    echo "$(REDIS_SERVER) is missing; the shared-state tests need it:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y redis-server" >&2; \
	    exit 1; \
	  fi; \
	fi

bench: $(VENV)/.installed-dev
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
