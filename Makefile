# Everything installs into .venv in the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test lint demo bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned here (CPU build, 2.13.0) so that pip never pulls a multi-GB CUDA build.
setup: $(BIN)/activate
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	# A baseline for the evaluation; its declared dependencies are not needed for its weights.
	$(BIN)/pip install --quiet --no-deps predictdssp==1.3.1

test: setup lint
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

demo: setup
	$(BIN)/foldlens explain-demo --out explain-demo

bench: setup
	$(BIN)/python -m benchmarks.attribution

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache explain-demo
