# Every target that needs Python packages creates .venv and installs into it on first use,
# so on a fresh machine `make demo` and `make test` are the only commands you need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install codegen codegen-check lint pytest test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

codegen: $(STAMP)
	$(BIN)/python -m codegen

# Fails when the committed generated code differs from what the spec produces.
codegen-check: $(STAMP)
	$(BIN)/python -m codegen --check

lint: $(STAMP)
	$(BIN)/ruff check ozon_async codegen tests examples bench
	$(BIN)/ruff format --check ozon_async codegen tests examples bench
	$(BIN)/mypy --strict ozon_async

# The SDK's main job against the bundled mock server (no credentials needed).
demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

# The README's test command: generated code up to date, lint and types clean, all tests.
test: codegen-check lint pytest

# Benchmarks (bench/run.py) in their own environment, with the competing SDKs installed the way a
# user would install them. Prints a table and writes bench/RESULTS.md.
BENCH_VENV := bench/.venv
bench:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[dev]' ozonapi-async ozon-sdk
	$(BENCH_VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
