# The single entry point for newcomers and CI. `make test` and `make run` work on a fresh machine:
# they create the virtualenv from nothing and install the project with its dev extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test test-fast run lint typecheck unit unit-shared unit-alone unit-fast docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make test: ruff and the layer contracts (lint-imports), mypy (strict), the whole test suite with branch coverage, and the docs site.
## What CI runs. mypy and the docs build run beside the adversarial tests, which leave most of the machine idle.
test: lint
	@$(MAKE) --no-print-directory unit-shared
	@$(MAKE) --no-print-directory -j3 --output-sync=target unit-alone typecheck docs

## make test-fast: ruff and the quick tests, for the edit-test loop (under 2 minutes): no coverage, a few
## examples per property test, and none of the slow, browser, PostgreSQL, adversarial, whole-corpus,
## `pipeforge serve` process or race tests (`make test` runs them all).
test-fast: lint unit-fast

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite runs on every core (pytest-xdist; a module whose tests share a server stays on one worker),
# then the adversarial tests run alone: they check that a registry under attack still answers within a
# liveness bound (tests/conftest.py RESPONSIVE_SECONDS), which tests beside them on the same cores would eat into. Bytecode is written even
# when the shell says PYTHONDONTWRITEBYTECODE: the suite starts many `python -m generator` processes,
# which would otherwise compile the project again each time.
WORKERS ?= auto
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest
FAST_MARKERS := not slow and not browser and not postgres and not adversarial and not corpus and not serve \
    and not race

ADVERSARIAL := $(wildcard tests/registry_api/test_adversarial_*.py)

unit: unit-shared
	@$(MAKE) --no-print-directory unit-alone

unit-shared: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(PYTEST) -n $(WORKERS) --dist loadgroup -m "not adversarial" --cov --cov-branch \
	    --cov-report=term:skip-covered

# Only the adversarial files are collected (tests/conftest.py refuses the marker anywhere else). They run
# untraced: what they check is how fast a registry under attack answers, which tracing slows (48 s against
# 31 s untraced, on 2 cores), and every line they reach, the tests above reach too.
unit-alone: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(PYTEST) -m adversarial $(ADVERSARIAL)

# The quick tests wait more than they compute (servers, processes, sockets): two workers per core keep the
# cores busy (150 s against 164 s for one per core, measured on 2 cores).
FAST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

unit-fast: $(STAMP)
	HYPOTHESIS_PROFILE=fast $(PYTEST) -n $(FAST_WORKERS) --dist loadgroup -q -m "$(FAST_MARKERS)"

## make docs: the mkdocs site into site/ (gitignored); --strict fails on a broken link, anchor or nav entry.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

## make run: the main job: the registry (web catalog and API) at http://127.0.0.1:8000, on the SQLite
## catalog (PIPEFORGE_DATABASE_URL, default ~/.local/share/pipeforge/catalog.db); the built-in templates
## are published into an empty catalog on start. HOST and PORT override the address.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/pipeforge serve --host $(HOST) --port $(PORT)

## make bench: the speed figures docs/benchmarks.md quotes (bench_lint installs checkov into its own venv once;
## bench_catalog uses the local PostgreSQL when it is reachable).
bench: $(STAMP)
	$(BIN)/python bench/bench_new.py
	$(BIN)/python bench/bench_lint.py
	$(BIN)/python bench/bench_catalog.py
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_registry.py
	$(BIN)/python bench/bench_serve_start.py
	$(BIN)/python bench/bench_pr.py
	$(BIN)/python bench/bench_harden.py
	$(BIN)/python bench/bench_harden.py --scaling

clean:
	rm -rf $(VENV) demo site .import_linter_cache .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage
