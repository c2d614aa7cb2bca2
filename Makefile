# The single entry point for newcomers and CI. `make test` and `make run` work on a fresh machine:
# they create the virtualenv from nothing and install the project with its dev extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test run lint typecheck unit docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make test: ruff and the layer contracts (lint-imports), mypy (strict), the whole test suite with branch coverage, and the docs site.
test: lint typecheck unit docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov --cov-branch --cov-report=term:skip-covered

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
	$(BIN)/python bench/bench_pr.py
	$(BIN)/python bench/bench_harden.py
	$(BIN)/python bench/bench_harden.py --scaling

clean:
	rm -rf $(VENV) demo site .import_linter_cache .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage
