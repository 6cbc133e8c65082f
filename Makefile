# The two commands a newcomer needs: `make run` and `make test`. Both create and reuse
# .venv, install the packages with their test extras, and install missing system
# libraries (libzbar0; Chromium for page tests) with apt-get when run as root.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
INSTANCE ?= $(CURDIR)/instance
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

export TRACE_INSTANCE_PATH ?= $(INSTANCE)

.PHONY: run test fuzz bench setup system-deps clean demo-reset

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "trace needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): setup.cfg pyproject.toml scanner_client/pyproject.toml tlog_check/pyproject.toml \
		tlog_witness/pyproject.toml | $(BIN)/python
	@scripts/system-deps.sh
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./tlog_check -e '.[test]' -e ./scanner_client \
		-e ./tlog_witness
	touch $(STAMP)

system-deps:
	@scripts/system-deps.sh

run: $(STAMP)
	$(BIN)/trace-service db upgrade
	$(BIN)/trace-service demo
	$(BIN)/trace-service serve --host $(HOST) --port $(PORT)

# Tests run on SQLite and on PostgreSQL (TRACE_TEST_POSTGRES_URL, default the local
# server at 127.0.0.1:5432). With TRACE_REQUIRE_POSTGRES=1 (as in CI) an unreachable
# PostgreSQL fails the run instead of skipping those tests.
test: $(STAMP)
	@scripts/system-deps.sh
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Requests generated from the OpenAPI document, per role key, on SQLite and PostgreSQL:
# no 5xx, every response as documented. FUZZ_SECONDS bounds the whole run (README.md).
FUZZ_SECONDS ?= 240
fuzz: $(STAMP)
	TRACE_FUZZ=1 TRACE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m pytest tests/fuzz -q -s $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

demo-reset:
	rm -rf $(INSTANCE)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
