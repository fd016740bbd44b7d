# officina — `make demo` runs the simulated shop floor, `make test` runs the whole suite.
# Both set up everything they need on a fresh Debian / Raspberry Pi OS machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The demo needs the base dependencies only; the tests and the linters need the dev extra too.
# One stamp each, so `make demo` and `make test` work in either order.
BASE   := $(VENV)/.installed-base
STAMP  := $(VENV)/.installed-dev
DEMO_ARGS ?=

.PHONY: demo test soak lint format system-deps python-deps clean

$(VENV)/pyvenv.cfg:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh --python-only
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BASE): pyproject.toml $(VENV)/pyvenv.cfg
	$(BIN)/python -m pip install --quiet -e .
	@touch $(BASE)

$(STAMP): pyproject.toml $(VENV)/pyvenv.cfg
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(BASE) $(STAMP)

python-deps: $(STAMP)

system-deps:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh

# Everything the demo makes stays in ./demo/ (DEMO_ARGS="--workdir DIR" elsewhere).
demo: $(BASE)
	$(BIN)/officina demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: system-deps $(STAMP) lint
	$(BIN)/pytest

# The resilience month again, sampled four times as often, with other members' habits.
soak: system-deps $(STAMP)
	OFFICINA_SOAK=1 $(BIN)/pytest tests/resilience -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
