# Every target that needs Python packages creates .venv and installs into it on first use,
# so on a fresh machine `make demo` and `make test` are the only commands you need.
PYTHON ?= python3
# Bytecode caches on: a test run starts hundreds of Python processes (the CLI, the sandbox, the
# MCP server), each importing the large generated modules; compiling them anew every time costs
# more than the tests' own work (an environment may set PYTHONDONTWRITEBYTECODE).
unexport PYTHONDONTWRITEBYTECODE
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install codegen codegen-check lint pytest test demo bench clean spec-diff spec-import spec-describe spec-apply-text spec-names

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
	$(BIN)/mypy --strict ozon_async examples

# Keeping the spec current with Ozon's reference swagger (codegen/specdiff; README "Regenerating and
# keeping the spec current"):  make spec-diff REF=path/to/ozon-swagger.json
REF ?= ../shared/reference/ozon-seller-openapi-ru-2026-05.json
spec-diff: $(STAMP)
	$(BIN)/python -m codegen.specdiff $(REF) $(ARGS)

# Draft the operations REF has and the spec lacks (OPS="POST:/v1/foo/list ..." for only some).
spec-import: $(STAMP)
	$(BIN)/python -m codegen.specdiff $(REF) $(if $(OPS),--import $(OPS),--import-all-missing)

# Worklists of the TODO(describe) texts, one per tag, in build/describe/.
spec-describe: $(STAMP)
	$(BIN)/python -m codegen.specdiff --describe --refs $(dir $(REF))

# Put written texts back:  make spec-apply-text FILES="build/describe/cargoes.yaml ..."
spec-apply-text: $(STAMP)
	$(BIN)/python -m codegen.specdiff --apply-text $(FILES)

# Split request/answer schemas and rename schemas by the type-name rule.
spec-names: $(STAMP)
	$(BIN)/python -m codegen.specdiff --normalize-names

# The SDK's main job against the bundled mock server (no credentials needed).
demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

# On every core (pytest-xdist): each test starts the servers it needs on free ports.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

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
