# io-bridge: `make up` runs the whole stack, `make test` runs every test.
# Both install what they need on a Debian machine: system packages, a virtualenv, and
# Asterisk (the system's, or a private Asterisk 22 built from Debian's packages).
# On a fresh Debian without make or python3-venv: ./scripts/up and ./scripts/test.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# SIPp places test calls (iobridge call); PostgreSQL and Chromium are for the tests alone.
# Rooms' titles spoken to callers called in (bridge/asterisk/title_prompts.py).
SPEECH_PACKAGES := espeak-ng sox
# Asterisk's own prompts in the rooms' other languages (English comes with the private
# Asterisk; docs/admin.md, "Languages").
LANGUAGE_PACKAGES := asterisk-core-sounds-es-gsm asterisk-core-sounds-fr-gsm
UP_PACKAGES := sip-tester $(SPEECH_PACKAGES) $(LANGUAGE_PACKAGES)
TEST_PACKAGES := sip-tester postgresql chromium nginx kamailio $(SPEECH_PACKAGES) $(LANGUAGE_PACKAGES)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: up test system venv asterisk lint typecheck audit unit integration bench bench-quick bench-deps soak clean

up: SYSTEM_PACKAGES = $(UP_PACKAGES)
up: system venv asterisk
	$(BIN)/iobridge up

test: SYSTEM_PACKAGES = $(TEST_PACKAGES)
# The suite runs in TEST_WORKERS processes (pytest-xdist), each with its own Asterisk, service
# and PostgreSQL; a test file stays on one worker, and the slowest files go out first
# (tests/conftest.py). Most of a call test is waiting on prompts, so more workers than cores
# pays. The ten slowest tests are printed at the end.
# Python's bytecode is written for the suite even where the environment says not to
# (PYTHONDONTWRITEBYTECODE): without it every worker compiled and assert-rewrote all of
# bridge/ and tests/ again, 15 s of CPU each, a minute of the suite on 2 cores with 8
# workers. One collection first writes it; the workers (and every `iobridge` a test starts)
# then read it (a collection error shows in the run after it).
# Eight workers: 541-605 s on the 2-core box (2026-12-07). The two tests lost at that load
# in earlier runs were product races, fixed (a late Originate answer, a mute seen after the
# next floor); four workers took 12-13 minutes.
TEST_WORKERS ?= 8
test: system venv asterisk lint typecheck audit
	-env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest --collect-only -q -p no:cacheprovider >/dev/null
	IOBRIDGE_REQUIRE_POSTGRES=1 env -u PYTHONDONTWRITEBYTECODE \
	  $(BIN)/pytest -ra -n $(TEST_WORKERS) --dist loadfile --durations=10

integration: SYSTEM_PACKAGES = $(TEST_PACKAGES)

SYSTEM_PACKAGES ?= $(UP_PACKAGES)
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools>=78.1.1'
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

asterisk: venv
	$(BIN)/iobridge asterisk ensure

lint: venv
	$(BIN)/ruff check bridge tests migrations bench

typecheck: venv
	$(BIN)/mypy bridge

# Known vulnerabilities in every package of the virtualenv, offline: against a snapshot of the
# PyPA advisory database that scripts/refresh-advisories writes (ADVISORIES=FILE picks one;
# docs/admin.md, "Dependencies"). Any known vulnerability, or a package with advisories the
# snapshot left out, fails; a snapshot older than 60 days is said, not failed.
# AUDIT_ONLINE=1 also asks PyPI through pip-audit (needs pypi.org's per-release JSON API).
ADVISORIES ?=
AUDIT_ONLINE ?=
audit: venv
	@$(BIN)/python -m scripts.advisories audit $(if $(ADVISORIES),--snapshot $(ADVISORIES)) $(if $(AUDIT_REQUIRED),--required)
ifneq ($(AUDIT_ONLINE),)
	@$(BIN)/pip-audit --strict --vulnerability-service pypi --skip-editable \
	  --progress-spinner off --timeout 30 || { \
	  echo "audit: FAILED: a known vulnerability above (raise its floor in pyproject.toml)," \
	    "or a package https://pypi.org/pypi/NAME/VERSION/json could not vouch for" >&2; exit 1; }
endif

unit: venv
	$(BIN)/pytest -q tests/unit

integration: system venv asterisk
	$(BIN)/pytest -ra tests/integration

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache

# Benchmarks print figures and assert nothing; they are not part of `make test`.
# `make bench` runs the micro-benchmarks, then the full run against bare Asterisk (join storms
# up to 1,000 callers: give it a quiet machine and about 15 minutes); `make bench-quick` runs the
# same harness at N <= 100. Extra options: make bench BENCH_ARGS="--sizes 400,800".
BENCH_ARGS ?=

bench-deps: venv
	$(BIN)/pip install -q -e '.[dev,bench]'

bench: system asterisk bench-deps
	$(BIN)/python -m bench.cli_start
	$(BIN)/python -m bench.roster_bench
	$(BIN)/python -m bench.panel_echo
	$(BIN)/python -m bench.room_page
	$(BIN)/python -m bench.entry_bench
	$(BIN)/python -m bench.stack_save
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.cluster

# `make soak`: two hours of churn on the real stack (the stack, polls and panels open),
# reporting memory, CPU, history consistency and panel/service/Asterisk agreement; not in
# `make test`. Shorter: make soak SOAK_ARGS="--minutes 10".
SOAK_ARGS ?=

soak: system asterisk bench-deps
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

bench-quick: system asterisk bench-deps
	$(BIN)/python -m bench.entry_bench
	$(BIN)/python -m bench.stack_save
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)
