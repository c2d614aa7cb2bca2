# The single entry point for newcomers and CI. `make test` and `make run` work on a fresh machine:
# they create the virtualenv from nothing and install the project with its dev extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test run lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make test: ruff, mypy (strict) and the whole test suite, with branch coverage.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov --cov-branch --cov-report=term:skip-covered

## make run: the main job: the registry (web catalog and API) at http://127.0.0.1:8000, on the SQLite
## catalog (PIPEFORGE_DATABASE_URL, default ~/.local/share/pipeforge/catalog.db); the built-in templates
## are published into an empty catalog on start. HOST and PORT override the address.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/pipeforge serve --host $(HOST) --port $(PORT)

## make bench: the speed figures the README quotes (bench_lint installs checkov into its own venv once;
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
	rm -rf $(VENV) demo .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage
