# Everything installs into .venv in the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Debian packages the tests use: reprof (a baseline the evaluation tests check our port against),
# chromium (the page's end-to-end tests), mmseqs2-examples (its 20,000 UniProt sequences are the
# default database of MSA search) and pymol (the PyMOL scripts foldlens writes are run in it).
# Installed when missing, which needs root (as on CI).
APT_PACKAGES := reprof chromium mmseqs2 mmseqs2-examples hhsuite pymol

.PHONY: system setup test lint serve demo bench frontend frontend-check clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned here (CPU build, 2.13.0) so that pip never pulls a multi-GB CUDA build.
setup: $(BIN)/activate
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,atlas]"
	# A baseline for the evaluation; its declared dependencies are not needed for its weights.
	$(BIN)/pip install --quiet --no-deps predictdssp==1.3.1

system:
	@missing="$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

# The suite's whole process tree (pytest and the servers and browsers it starts) may hold at most
# 4 GB: scripts/peak_memory.py stops it and fails the run the moment it holds more.
test: system setup lint
	$(BIN)/python scripts/peak_memory.py --limit-gb 4 -- $(BIN)/pytest -q

lint:
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/mypy

serve: setup
	$(BIN)/foldlens serve

demo: setup
	$(BIN)/foldlens explain-demo --out explain-demo

bench: setup
	$(BIN)/python -m benchmarks.attribution
	$(BIN)/python -m benchmarks.relevance
	$(BIN)/python -m benchmarks.load
	$(BIN)/python -m benchmarks.explorer
	$(BIN)/python -m benchmarks.coevolution
	$(BIN)/python -m benchmarks.jacobian
	$(BIN)/python -m benchmarks.folding
	$(BIN)/python -m benchmarks.atlas

# The page's TypeScript sources build into src/foldlens/server/static (committed: running needs no
# Node). frontend-check fails when the committed bundle differs from a fresh build.
frontend:
	cd frontend && npm ci --no-audit --no-fund && npm run build

frontend-check: frontend
	git diff --exit-code --stat -- src/foldlens/server/static
	test -z "$$(git status --porcelain -- src/foldlens/server/static)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache explain-demo frontend/node_modules
